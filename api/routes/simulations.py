"""Simulation models and their stored runs over HTTP.

``POST /api/simulations`` checks a model's parameters and queues a ``simulate`` job (poll
it at ``/api/jobs/{id}``); the run it stores is read back here: its record, rasters (the
GeoTIFF, or a coloured PNG overlay in longitude/latitude with its legend), vector layers
(GeoJSON, or CSV for reports), per-object values, and a comparison of two runs. A caller
sees the runs of its jurisdiction only (404 for others).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth.audit import record_write
from api.auth.deps import require
from api.auth.principal import Principal
from api.deps import CityDirDep, ScopeDep, caller_scope
from api.raster_colours import Overlay, overlay
from api.routes.imports import JobsDep
from api.simulation_export import vector_csv, vector_geojson
from api.simulations import available_models, model_dict, submit_run
from cim.result_store import DEFAULT_LIMIT, ResultStore
from cim.results import RasterLayer
from cim.scope import Scope
from simulation.models.errors import ModelError

router = APIRouter(prefix="/api/simulations", tags=["simulations"])

SimulatorDep = Annotated[Principal, Depends(require("simulate"))]
RunDeleterDep = Annotated[Principal, Depends(require("runs"))]
PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "the coloured raster"}
}
TIFF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/tiff": {}}, "description": "the GeoTIFF"}
}
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "one row per feature"}
}
MAX_LIMIT = 1000


class SimulationRequest(BaseModel):
    """A model to run and its parameters (defaults for those left out)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=64, description="a model's name")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="the model's parameters (see /api/simulations/models)"
    )


def results_of(city: CityDirDep) -> ResultStore:
    """The city's stored runs."""
    return ResultStore(city)


ResultsDep = Annotated[ResultStore, Depends(results_of)]


@router.get("/models", dependencies=[Depends(caller_scope)])
def list_models() -> list[dict[str, Any]]:
    """The models: name, English and Chinese titles, description, and the JSON schema of
    their parameters (each field with its description, default and bounds)."""
    return [model_dict(spec) for spec in available_models()]


@router.post("", status_code=202)
def run_simulation(
    body: SimulationRequest,
    request: Request,
    response: Response,
    city: CityDirDep,
    jobs: JobsDep,
    scope: ScopeDep,
    simulator: SimulatorDep,
) -> dict[str, Any]:
    """Queue a run of a model over the caller's jurisdiction; poll the job at ``url``.

    422 names the bad parameter; 404 for an unknown model. The finished job's result is
    ``{"run_id", "model", "summary", "url"}``.
    """
    job = submit_run(city, body.model, body.parameters, scope,
                     jurisdiction=simulator.jurisdiction, queue=jobs)  # fmt: skip
    record_write(request, simulator, "simulate", f"job:{job.id}", details={"model": body.model})
    url = f"/api/jobs/{job.id}"
    response.headers["Location"] = url
    return {"job": job.to_dict(), "url": url}


@router.get("/runs")
def list_runs(
    results: ResultsDep,
    scope: ScopeDep,
    model: Annotated[str | None, Query(max_length=64, description="only this model")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """The stored runs of the caller's jurisdiction, newest first (run.json of each)."""
    return [record.to_dict() for record in results.runs(scope, model, limit)]


@router.get("/runs/{run_id}")
def get_run(run_id: str, results: ResultsDep, scope: ScopeDep) -> dict[str, Any]:
    """One run: model, parameters used, summary, times, trigger, its layers and charts."""
    return results.run(run_id, scope).to_dict()


@router.delete("/runs/{run_id}")
def delete_run(
    run_id: str, request: Request, results: ResultsDep, scope: ScopeDep, deleter: RunDeleterDep
) -> dict[str, Any]:
    """Remove a stored run (managers)."""
    record = results.delete(run_id, scope)
    record_write(request, deleter, "runs", f"run:{run_id}", details={"model": record.model})
    return {"deleted": run_id}


@router.get("/runs/{run_id}/rasters/{name}.tif", response_class=FileResponse, responses=TIFF)
def get_raster_tif(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> FileResponse:
    """A raster as the stored GeoTIFF (float32, NaN nodata, city CRS)."""
    path = results.raster_path(run_id, name, scope)
    return FileResponse(path, media_type="image/tiff", filename=f"{run_id}-{name}.tif")


@router.get("/runs/{run_id}/rasters/{name}.png", response_class=Response, responses=PNG)
def get_raster_png(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> Response:
    """A raster coloured by its legend's stops, in longitude/latitude (EPSG:4326),
    transparent where it has no value: drape it between the bounds of the JSON answer."""
    drawn = drawn_raster(results, run_id, name, scope)
    return Response(drawn.png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


@router.get("/runs/{run_id}/rasters/{name}")
def get_raster(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> dict[str, Any]:
    """How to show a raster: bounds [west, south, east, north] (degrees) of its PNG, its
    least and greatest values, unit, title, the legend's ``[value, "#rrggbb"]`` stops and
    the PNG's URL."""
    drawn = drawn_raster(results, run_id, name, scope)
    layer = results.run(run_id, scope).layer("rasters", name)
    return {
        "bounds": list(drawn.bounds),
        "min": drawn.low,
        "max": drawn.high,
        "unit": layer.unit,
        "title": layer.title,
        "stops": [[value, colour] for value, colour in drawn.stops],
        "png": f"/api/simulations/runs/{run_id}/rasters/{name}.png",
        "tif": f"/api/simulations/runs/{run_id}/rasters/{name}.tif",
    }


@router.get("/runs/{run_id}/vectors/{name}.csv", response_class=Response, responses=CSV)
def get_vector_csv(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> Response:
    """A vector layer as CSV: one row per feature, its properties, then its geometry as WKT
    in the city CRS (column ``wkt``)."""
    text = vector_csv(results.vector(run_id, name, scope))
    disposition = f'attachment; filename="{run_id}-{name}.csv"'
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.get("/runs/{run_id}/vectors/{name}")
def get_vector(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> dict[str, Any]:
    """A vector layer as a GeoJSON FeatureCollection in longitude/latitude (CRS84)."""
    return vector_geojson(results.vector(run_id, name, scope))


@router.get("/runs/{run_id}/values/{name}")
def get_values(run_id: str, name: str, results: ResultsDep, scope: ScopeDep) -> dict[str, Any]:
    """Per-object values of a run: title, unit, ``{object id: value}`` and each object's
    details. To colour the tiles, ``POST /api/objects/values`` with the attribute
    ``simulation:<run id>:<name>``."""
    values = results.values(run_id, name, scope)
    return {"title": values.title, "unit": values.unit, "values": values.values,
            "details": values.details}  # fmt: skip


@router.get("/runs/{run_id}/compare/{other_id}")
def compare_runs(
    run_id: str, other_id: str, results: ResultsDep, scope: ScopeDep
) -> dict[str, Any]:
    """Two runs of one model side by side: both summaries, per values name the objects
    whose value differs (``{id: [a, b]}``), per raster name the difference (b - a) over the
    cells where both have a value: its least, greatest and mean."""
    first, second = results.run(run_id, scope), results.run(other_id, scope)
    if first.model != second.model:
        raise ModelError(
            f"runs {run_id} ({first.model}) and {other_id} ({second.model}) are of different"
            " models: compare runs of one model"
        )
    values = {}
    for name in _shared(first.values, second.values):
        a = results.values(run_id, name, scope).values
        b = results.values(other_id, name, scope).values
        values[name] = {key: [a.get(key), b.get(key)] for key in sorted(a.keys() | b.keys())
                        if a.get(key) != b.get(key)}  # fmt: skip
    rasters = {}
    for name in _shared(first.rasters, second.rasters):
        rasters[name] = raster_difference(results.raster(run_id, name, scope),
                                          results.raster(other_id, name, scope))  # fmt: skip
    return {
        "model": first.model,
        "a": {"id": first.id, "summary": first.summary, "parameters": first.parameters},
        "b": {"id": second.id, "summary": second.summary, "parameters": second.parameters},
        "values": values,
        "rasters": rasters,
    }


def drawn_raster(results: ResultStore, run_id: str, name: str, scope: Scope) -> Overlay:
    """The overlay of a raster the caller may see (drawn once: a stored run never changes)."""
    record = results.run(run_id, scope)
    record.layer("rasters", name)
    return _drawn(results.folder, run_id, name)


@lru_cache(maxsize=16)
def _drawn(folder: Path, run_id: str, name: str) -> Overlay:
    results = ResultStore(folder.parent)
    everything = Scope.everything()
    return overlay(results.raster(run_id, name, everything),
                   results.run(run_id, everything).parameters)  # fmt: skip


def _shared(first: list[Any], second: list[Any]) -> list[str]:
    names = {layer.name for layer in second}
    return [layer.name for layer in first if layer.name in names]


def raster_difference(a: RasterLayer, b: RasterLayer) -> dict[str, Any]:
    """The least, greatest and mean of ``b - a`` where both have a value (same grid), and
    how many cells that is; all None when the grids differ or no cell has both."""
    same_grid = a.array.shape == b.array.shape and np.allclose(a.transform, b.transform)
    if not same_grid:
        return {"min": None, "max": None, "mean": None, "cells": 0, "same_grid": False}
    difference = b.array.astype(np.float64) - a.array.astype(np.float64)
    both = difference[np.isfinite(difference)]
    if both.size == 0:
        return {"min": None, "max": None, "mean": None, "cells": 0, "same_grid": True}
    return {"min": float(both.min()), "max": float(both.max()), "mean": float(both.mean()),
            "cells": int(both.size), "same_grid": True}  # fmt: skip
