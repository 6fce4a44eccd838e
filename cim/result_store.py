"""Simulation runs kept in the city folder, one folder per run, never half-written.

::

    <city>/simulations/<run id>/run.json      what was run: model, parameters, summary,
                                               times, jurisdiction, trigger, layer names
                                               and titles and units, the charts
    <city>/simulations/<run id>/values.json   the per-object values and details
    <city>/simulations/<run id>/<name>.tif    each raster (float32 GeoTIFF, NaN nodata)
    <city>/simulations/<run id>/vectors.gpkg  every vector layer (one GeoPackage layer each)

A run is written in ``.partial-<run id>`` and renamed into place when complete, so a reader
never sees part of one and a failed save leaves nothing (a killed one leaves a hidden
folder that the next save removes once it is an hour old). A run records the jurisdiction
of whoever submitted it; a caller sees it when its :class:`~cim.scope.Scope` contains that
code (a run without one, started from the command line, only the unlimited scope sees).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cim.errors import InvalidResultError, RunNotFoundError
from cim.layout import CityLayout
from cim.result_files import (
    VECTORS_FILE,
    read_json,
    read_raster,
    read_vector,
    write_json,
    write_raster,
    write_vector,
)
from cim.results import ObjectValues, RasterLayer, SimulationResult, VectorLayer
from cim.scope import Scope

RUN_FILE = "run.json"
VALUES_FILE = "values.json"
PARTIAL_PREFIX = ".partial-"
DELETING_PREFIX = ".deleting-"
DEFAULT_LIMIT = 100
# A save or delete left unfinished this long ago (seconds) was killed: its folder goes.
STALE_AFTER_S = 3600.0
# A run id: its UTC start time, then random hex (ids sort by time).
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
# A layer name is a file name and a GeoPackage table name: lower case, digits, underscores.
LAYER_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def new_run_id(started: datetime) -> str:
    """A fresh run id for a run started at ``started``."""
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def iso(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC text, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LayerInfo:
    """A stored layer's name, title and unit (and, for vectors, its JSON-encoded fields)."""

    name: str
    title: str
    unit: str = ""
    count: int = 0  # features of a vector layer, objects of a values set
    json_fields: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The layer as run.json lists it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerInfo:
        """A layer listed in run.json."""
        return cls(data["name"], data["title"], data.get("unit", ""), data.get("count", 0),
                   list(data.get("json_fields", [])))  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """What ``run.json`` says of one stored run."""

    id: str
    model: str
    parameters: dict[str, Any]
    summary: dict[str, Any]
    started: str  # ISO 8601 UTC
    finished: str
    jurisdiction: str | None
    trigger: dict[str, Any] | None
    rasters: list[LayerInfo]
    vectors: list[LayerInfo]
    values: list[LayerInfo]
    charts: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The record as stored in run.json (and answered by the API)."""
        return {
            "id": self.id,
            "model": self.model,
            "parameters": self.parameters,
            "summary": self.summary,
            "started": self.started,
            "finished": self.finished,
            "jurisdiction": self.jurisdiction,
            "trigger": self.trigger,
            "rasters": [layer.to_dict() for layer in self.rasters],
            "vectors": [layer.to_dict() for layer in self.vectors],
            "values": [layer.to_dict() for layer in self.values],
            "charts": self.charts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """A record read from run.json."""
        return cls(
            id=data["id"],
            model=data["model"],
            parameters=dict(data.get("parameters") or {}),
            summary=dict(data.get("summary") or {}),
            started=data["started"],
            finished=data["finished"],
            jurisdiction=data.get("jurisdiction"),
            trigger=data.get("trigger"),
            rasters=[LayerInfo.from_dict(item) for item in data.get("rasters", [])],
            vectors=[LayerInfo.from_dict(item) for item in data.get("vectors", [])],
            values=[LayerInfo.from_dict(item) for item in data.get("values", [])],
            charts=list(data.get("charts", [])),
        )

    def layer(self, kind: str, name: str) -> LayerInfo:
        """The raster, vector or values layer ``name`` (``kind``: rasters, vectors, values)."""
        layers: list[LayerInfo] = getattr(self, kind)
        for layer in layers:
            if layer.name == name:
                return layer
        noun = {"rasters": "raster", "vectors": "vector layer", "values": "values"}[kind]
        known = ", ".join(layer.name for layer in layers) or "none"
        raise RunNotFoundError(f"run {self.id} has no {noun} {name!r} (it has: {known})")


class ResultStore:
    """The simulation runs of the city in folder ``city_dir``."""

    def __init__(self, city_dir: Path) -> None:
        self.folder = CityLayout(city_dir).simulations

    def save(
        self,
        result: SimulationResult,
        *,
        jurisdiction: str | None,
        trigger: dict[str, Any] | None,
        started: datetime,
    ) -> RunRecord:
        """Store ``result`` as a new run; all of it or nothing.

        Raises
        ------
        InvalidResultError
            When a layer name is not a lower-case identifier, two layers of a kind share a
            name, or a raster is not a 2-D grid.
        """
        _check_names(result)
        run_id = new_run_id(started)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.remove_stale()
        partial = self.folder / f"{PARTIAL_PREFIX}{run_id}"
        try:
            partial.mkdir()
            record = _write_run(partial, run_id, result, jurisdiction, trigger, started)
            os.replace(partial, self.folder / run_id)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return record

    def runs(
        self, scope: Scope, model: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[RunRecord]:
        """The runs ``scope`` sees (of ``model`` when given), newest first, at most ``limit``."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            if not RUN_ID.fullmatch(path.name) or not (path / RUN_FILE).is_file():
                continue
            record = RunRecord.from_dict(read_json(path / RUN_FILE))
            if scope.contains(record.jurisdiction) and model in (None, record.model):
                found.append(record)
        found.sort(key=lambda record: (record.started, record.finished, record.id), reverse=True)
        return found[: max(limit, 0)]

    def run(self, run_id: str, scope: Scope) -> RunRecord:
        """The run ``run_id``.

        Raises
        ------
        RunNotFoundError
            When there is none, or ``scope`` does not contain its jurisdiction (the same
            message: a run outside the scope is not revealed).
        """
        path = self._folder_of(run_id)
        if path is not None:
            record = RunRecord.from_dict(read_json(path / RUN_FILE))
            if scope.contains(record.jurisdiction):
                return record
        raise RunNotFoundError(f"no simulation run {run_id!r}")

    def raster_path(self, run_id: str, name: str, scope: Scope) -> Path:
        """The GeoTIFF of raster ``name`` of run ``run_id``."""
        layer = self.run(run_id, scope).layer("rasters", name)
        return self.folder / run_id / f"{layer.name}.tif"

    def raster(self, run_id: str, name: str, scope: Scope) -> RasterLayer:
        """Raster ``name`` of run ``run_id``, read back."""
        layer = self.run(run_id, scope).layer("rasters", name)
        return read_raster(self.folder / run_id / f"{layer.name}.tif", name, layer.title,
                           layer.unit)  # fmt: skip

    def vectors_path(self, run_id: str, scope: Scope) -> Path:
        """The GeoPackage holding run ``run_id``'s vector layers."""
        self.run(run_id, scope)
        return self.folder / run_id / VECTORS_FILE

    def vector(self, run_id: str, name: str, scope: Scope) -> VectorLayer:
        """Vector layer ``name`` of run ``run_id``, read back."""
        layer = self.run(run_id, scope).layer("vectors", name)
        return read_vector(self.folder / run_id / VECTORS_FILE, name, layer.title,
                           layer.json_fields)  # fmt: skip

    def values(self, run_id: str, name: str, scope: Scope) -> ObjectValues:
        """Per-object values ``name`` of run ``run_id``."""
        layer = self.run(run_id, scope).layer("values", name)
        stored = read_json(self.folder / run_id / VALUES_FILE)[layer.name]
        return ObjectValues(name, stored["title"], stored["unit"], stored["values"],
                            stored.get("details", {}))  # fmt: skip

    def delete(self, run_id: str, scope: Scope) -> RunRecord:
        """Remove run ``run_id`` (renamed out of sight first, then its files removed)."""
        record = self.run(run_id, scope)
        doomed = self.folder / f"{DELETING_PREFIX}{run_id}"
        os.replace(self.folder / run_id, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        return record

    def remove_stale(self, older_than_s: float = STALE_AFTER_S) -> list[str]:
        """Remove what killed saves and deletes left (``.partial-*``, ``.deleting-*``
        folders older than ``older_than_s``); return their names."""
        removed = []
        limit = time.time() - older_than_s
        for path in self.folder.glob(".*"):
            is_leftover = path.name.startswith((PARTIAL_PREFIX, DELETING_PREFIX))
            if is_leftover and path.is_dir() and path.stat().st_mtime < limit:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed

    def _folder_of(self, run_id: str) -> Path | None:
        if not RUN_ID.fullmatch(run_id):
            return None
        path = self.folder / run_id
        return path if (path / RUN_FILE).is_file() else None


def _check_names(result: SimulationResult) -> None:
    kinds: dict[str, list[str]] = {
        "raster": [layer.name for layer in result.rasters],
        "vector layer": [layer.name for layer in result.vectors],
        "values": [layer.name for layer in result.values],
        "chart": [chart.name for chart in result.charts],
    }
    for kind, names in kinds.items():
        for name in names:
            if not LAYER_NAME.fullmatch(name):
                raise InvalidResultError(
                    f"{result.model}: {kind} name {name!r} is not a lower-case identifier"
                    " (a-z, 0-9, _; starting with a letter)"
                )
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise InvalidResultError(f"{result.model}: two {kind}s are named {twice[0]!r}")


def _write_run(
    folder: Path,
    run_id: str,
    result: SimulationResult,
    jurisdiction: str | None,
    trigger: dict[str, Any] | None,
    started: datetime,
) -> RunRecord:
    """Every file of the run into ``folder``, run.json last; the record written."""
    rasters = []
    for raster in result.rasters:
        write_raster(folder / f"{raster.name}.tif", raster)
        rasters.append(LayerInfo(raster.name, raster.title, raster.unit))
    vectors = []
    for vector in result.vectors:
        encoded = write_vector(folder / VECTORS_FILE, vector)
        vectors.append(LayerInfo(vector.name, vector.title, "", len(vector.features), encoded))
    write_json(folder / VALUES_FILE, {
        values.name: {"title": values.title, "unit": values.unit, "values": values.values,
                      "details": values.details}
        for values in result.values
    })  # fmt: skip
    record = RunRecord(
        id=run_id,
        model=result.model,
        parameters=result.parameters,
        summary=result.summary,
        started=iso(started),
        finished=iso(datetime.now(UTC)),
        jurisdiction=jurisdiction,
        trigger=trigger,
        rasters=rasters,
        vectors=vectors,
        values=[LayerInfo(v.name, v.title, v.unit, len(v.values)) for v in result.values],
        charts=[dataclasses.asdict(chart) for chart in result.charts],
    )
    write_json(folder / RUN_FILE, record.to_dict())
    return RunRecord.from_dict(read_json(folder / RUN_FILE))
