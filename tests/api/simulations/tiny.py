"""A tiny simulation model of the tests' own: a raster, a vector layer, values and a chart
that follow its parameters, so the framework is tested without the real models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import Point, box

import simulation.models
from cim.results import (
    Chart,
    ChartSeries,
    Feature,
    ObjectValues,
    Progress,
    RasterLayer,
    SimulationResult,
    VectorLayer,
)
from simulation.models.errors import ModelError
from simulation.models.spec import ModelInputs, ModelSpec

CRS = "EPSG:4547"
# A 4 x 3 grid of 10 m cells whose north-west corner is here (near the test city).
ORIGIN = (430700.0, 2557900.0)
CELL = 10.0


class TinyParameters(BaseModel):
    """The tiny model's parameters."""

    model_config = ConfigDict(extra="forbid")

    water_level: float = Field(1.0, ge=0, le=100, description="water level above the ground (m)")
    fail: bool = Field(False, description="raise a model error instead of answering")


def tiny_result(level: float = 1.0, ids: list[str] | None = None) -> SimulationResult:
    """What the tiny model answers for ``level``: depth = level - row (NaN where dry)."""
    rows = np.arange(3, dtype=np.float32)[:, None] * np.ones((3, 4), dtype=np.float32)
    depth = np.where(level - rows > 0, level - rows, np.nan).astype(np.float32)
    transform = (ORIGIN[0], CELL, 0.0, ORIGIN[1], 0.0, -CELL)
    raster = RasterLayer("depth", "Water depth", "m", depth, transform, CRS)
    flooded = Feature(box(ORIGIN[0], ORIGIN[1] - 30, ORIGIN[0] + 40, ORIGIN[1]),
                      {"depth_m": level, "cells": int(np.isfinite(depth).sum()),
                       "tags": ["a", "b"]})  # fmt: skip
    gauge = Feature(Point(ORIGIN[0] + 5, ORIGIN[1] - 5), {"depth_m": None, "cells": 0,
                                                          "tags": []})  # fmt: skip
    vector = VectorLayer("depth", "Flooded extent", [flooded, gauge], CRS)
    values = ObjectValues(
        "depth", "Depth at the door", "m",
        {object_id: level * (i + 1) for i, object_id in enumerate(ids or ["b1", "b2"])},
        {object_id: {"doors": i + 1} for i, object_id in enumerate(ids or ["b1", "b2"])},
    )  # fmt: skip
    area = float(np.isfinite(depth).sum()) * CELL * CELL
    chart = Chart("area", "Flooded area", "level (m)", "area (m²)", "line",
                  [ChartSeries("area", [0.0, level], [0.0, area])])  # fmt: skip
    return SimulationResult(
        "tiny", {"water_level": level}, {"flooded_cells": int(np.isfinite(depth).sum())},
        [raster], [vector], [values], [chart],
    )  # fmt: skip


def run_tiny(inputs: ModelInputs, params: Any, progress: Progress) -> SimulationResult:
    """The tiny model: values for the buildings of the caller's scope."""
    if params.fail:
        raise ModelError("the tiny model was asked to fail")
    progress(50, "halfway")
    ids = [r.id for r in inputs.store.records(cls="IfcBuilding", scope=inputs.scope)] or None
    return tiny_result(params.water_level, ids)


TINY = ModelSpec("tiny", "Tiny", "小模型", "A model for the tests.", TinyParameters, run_tiny)
MODEL = TINY  # this module is the model's module too


def register_tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``tiny`` the one model (the real ones are tested on their own)."""
    monkeypatch.setattr(simulation.models, "MODULES", {"tiny": __name__})
