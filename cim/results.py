"""What a simulation run leaves behind: layers, per-object values, charts and figures.

A model (in :mod:`simulation.models`) returns one :class:`SimulationResult`; the result
store (:mod:`cim.result_store`) keeps it in the city folder with the run's parameters and
times, and the API serves its layers, values and charts. Everything is in the city CRS
unless a field says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

#: A model's progress: ``(percent 0..100, message)``; it may raise to stop the run.
Progress = Callable[[int, str], None]

#: A value of one object (a number, a class name, or None: not computed).
ObjectValue = float | str | None


def no_progress(_percent: int, _message: str) -> None:
    """A progress callback that reports nothing."""


@dataclass(frozen=True)
class RasterLayer:
    """A grid of values over the city (a flood depth, sun hours on the ground...).

    ``array`` is a 2-D float32 array, row 0 at the north edge; NaN marks "no value" (not
    flooded, outside the DEM). ``transform`` is the affine of the grid as GDAL orders it:
    ``(x0, dx, 0, y0, 0, -dy)`` (``rasterio.Affine.to_gdal()``), in ``crs``.
    """

    name: str
    title: str
    unit: str
    array: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: str


@dataclass(frozen=True)
class Feature:
    """One feature of a vector layer: a shapely geometry and JSON-able properties."""

    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VectorLayer:
    """Features over the city (the flooded extent, shadow polygons, violations...)."""

    name: str
    title: str
    features: list[Feature]
    crs: str


@dataclass(frozen=True)
class ChartSeries:
    """One line or set of bars of a chart: x and y of equal length."""

    name: str
    x: list[float | str]
    y: list[float | None]


@dataclass(frozen=True)
class Chart:
    """A chart the viewer draws under the result (flooded area against level...)."""

    name: str
    title: str
    x_label: str
    y_label: str
    kind: str  # "line" or "bar"
    series: list[ChartSeries]


@dataclass(frozen=True)
class ObjectValues:
    """One value per city object, coloured in the viewer by feature id.

    ``values`` maps an object id (an IfcBuilding GlobalId, ``<layer>:<id>``...) to its
    value; ``details`` holds what the inspector shows for an object (the water depth at
    each entrance, the hours of each sill point...). ``unit`` may be empty (classes).
    """

    name: str
    title: str
    unit: str
    values: dict[str, ObjectValue]
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SimulationResult:
    """Everything one run of a model produced.

    ``parameters`` are the parameters as the model used them (defaults filled in, a live
    level read); ``summary`` the run's headline figures (JSON-able: flooded area, number
    of homes failing the rule...).
    """

    model: str
    parameters: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    rasters: list[RasterLayer] = field(default_factory=list)
    vectors: list[VectorLayer] = field(default_factory=list)
    values: list[ObjectValues] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
