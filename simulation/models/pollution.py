"""The pollution model: a field of an observed property (PM2.5...) interpolated from the
sensors' latest values, by inverse distance weighting or ordinary kriging.

The run reads the latest value of every datastream observing the property
(``inputs.live.of_property``), keeps those placed and not older than ``max_age_minutes``
before the newest one, merges stations standing at the same place, computes the field
over the city (its footprints' extent and a margin, or the given bounds) and reports the
leave-one-out errors, the kriging variance, and each building's exposure: the field at
its footprint's centroid.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import Point

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
from cim.vocabulary import BUILDING_CLASSES
from simulation.models.errors import ModelError
from simulation.models.pollution_field import Field as GridField
from simulation.models.pollution_field import Method, estimate_at, interpolate
from simulation.models.pollution_grid import grid_over
from simulation.models.pollution_stations import Stations, stations
from simulation.models.spec import ModelInputs, ModelSpec, Reading
from simulation.sensors.times import format_time

US_PER_MINUTE = 60_000_000
# A sensor in an object of these classes (or in a storey) is indoors.
INDOOR_CLASSES = ("IfcBuildingStorey", "IfcSpace")


class NoReadingsError(ModelError):
    """No sensor reports the property (or none is placed, or all are too old)."""


class PollutionParameters(BaseModel):
    """The parameters of a pollution field."""

    model_config = ConfigDict(extra="forbid")

    observed_property: str = Field(
        default="PM2.5",
        min_length=1,
        description="The observed property interpolated (its name or definition), e.g. PM2.5.",
    )
    method: Literal["idw", "kriging"] = Field(
        default="kriging",
        description="Inverse distance weighting (idw) or ordinary kriging (kriging, 3 stations"
        " or more).",
    )
    power: float = Field(default=2.0, ge=0.5, le=6.0, description="IDW: the power of the distance.")
    neighbours: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="IDW: use only this many nearest stations (all if empty).",
    )
    search_radius_m: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="IDW: use only stations within this distance (m).",
    )
    variogram_model: Literal["linear", "spherical", "exponential", "gaussian"] = Field(
        default="spherical", description="Kriging: the variogram model, fitted to the stations."
    )
    resolution_m: float = Field(
        default=20.0, ge=1.0, le=5000.0, description="The grid's cell size (m)."
    )
    max_age_minutes: float | None = Field(
        default=60.0,
        gt=0,
        le=525_600,
        description="Leave out readings older than this before the newest one (none if empty).",
    )
    bounds: tuple[float, float, float, float] | None = Field(
        default=None,
        description="The field's box [min_x, min_y, max_x, max_y] in the city CRS (default:"
        " the city's footprints and a margin).",
    )
    margin_m: float = Field(
        default=200.0,
        ge=0,
        le=50_000,
        description="The margin around the city or the stations (m).",
    )
    include_indoor: bool = Field(
        default=False,
        description="Also use sensors inside buildings (in a storey or a space); outdoor"
        " sensors only by default.",
    )
    merge_distance_m: float = Field(
        default=5.0, ge=0, le=1000, description="Stations closer than this are merged (mean value)."
    )


def run(inputs: ModelInputs, params: PollutionParameters, progress: Progress) -> SimulationResult:
    """Compute the field of ``params.observed_property`` from the live readings."""
    progress(0, f"reading the latest {params.observed_property} values")
    readings, left_out = _readings(inputs, params)
    unit = _unit(readings, params.observed_property)
    names = [f"{r.name} #{r.datastream_id}" for r in readings]
    points = stations(
        [r.x for r in readings], [r.y for r in readings],  # type: ignore[misc]
        [r.value for r in readings], names, params.merge_distance_m,
    )  # fmt: skip
    bounds = params.bounds or _default_bounds(inputs, points, params.margin_m)
    grid = grid_over(bounds, params.resolution_m)
    progress(10, f"interpolating {len(points)} stations on {grid.columns} x {grid.rows} cells")
    method = Method(params.method, params.power, params.neighbours, params.search_radius_m,
                    params.variogram_model)  # fmt: skip
    field = interpolate(points, grid, method)
    progress(80, "exposure of the buildings")
    exposure = _exposure(inputs, points, field, unit)
    times = [r.time_us for r in readings]
    parameters = params.model_dump(mode="json") | field.used | {
        "bounds": list(bounds),
        "merged_stations": points.merged,
        "left_out": left_out,
    }  # fmt: skip
    crs = inputs.store.crs
    rasters = [RasterLayer("field", f"{params.observed_property} ({params.method})", unit,
                           field.values, grid.transform, crs)]  # fmt: skip
    if field.variance is not None:
        rasters.append(RasterLayer("variance", "Kriging variance", f"({unit})²" if unit else "",
                                   field.variance, grid.transform, crs))  # fmt: skip
    progress(100, "done")
    return SimulationResult(
        model="pollution",
        parameters=parameters,
        summary=_summary(points, field, params, unit, min(times), max(times)),
        rasters=rasters,
        vectors=[_station_layer(points, field, crs)],
        values=[exposure],
        charts=[_loo_chart(points, field, unit)],
    )


def _readings(
    inputs: ModelInputs, params: PollutionParameters
) -> tuple[list[Reading], dict[str, list[str]]]:
    """The placed, recent readings of the property, and the names of those left out."""
    if inputs.live is None:
        raise NoReadingsError("the city has no operational database: no live sensor to read")
    found = inputs.live.of_property(params.observed_property)
    placed = [r for r in found if r.x is not None and r.y is not None and np.isfinite(r.value)]
    if not placed:
        detail = f" ({len(found)} without a location)" if found else ""
        raise NoReadingsError(
            f"no placed sensor reports {params.observed_property!r}{detail}: add sensors"
            " with a location, or choose another observed_property"
        )
    newest = max(r.time_us for r in placed)
    oldest = (
        None if params.max_age_minutes is None
        else newest - int(params.max_age_minutes * US_PER_MINUTE)
    )  # fmt: skip
    indoor = set() if params.include_indoor else _indoor(inputs, placed)
    outdoor = [r for r in placed if r.datastream_id not in indoor]
    recent = [r for r in outdoor if oldest is None or r.time_us >= oldest]
    kept = {r.datastream_id for r in recent}
    left_out = {
        "unplaced": [r.name for r in found if r not in placed],
        "indoor": [r.name for r in placed if r.datastream_id in indoor],
        "too_old": [r.name for r in outdoor if r.datastream_id not in kept],
    }
    if not recent:
        raise NoReadingsError(
            f"no outdoor sensor reports {params.observed_property!r} recently"
            f" (left out: {left_out}); set include_indoor or max_age_minutes"
        )
    return recent, left_out


def _indoor(inputs: ModelInputs, readings: list[Reading]) -> set[int]:
    """The datastreams of ``readings`` whose sensor sits in a storey or a space."""
    ids = {r.object_id for r in readings if r.object_id is not None}
    if not ids:
        return set()
    inside = {
        record.id for record in inputs.store.records(ids, scope=inputs.scope)
        if record.storey_id is not None or record.cls in INDOOR_CLASSES
    }  # fmt: skip
    return {r.datastream_id for r in readings if r.object_id in inside}


def _unit(readings: list[Reading], observed_property: str) -> str:
    units = Counter(r.unit or "" for r in readings)
    if len(units) > 1:
        raise ModelError(
            f"the {observed_property!r} sensors report in different units"
            f" ({', '.join(sorted(units))}): a field needs one"
        )
    return next(iter(units))


def _default_bounds(
    inputs: ModelInputs, points: Stations, margin: float
) -> tuple[float, float, float, float]:
    """The footprints' extent in scope (the stations' box when the city has none), widened
    by ``margin`` (at least a metre) on every side."""
    extent = inputs.store.footprint_extent(scope=inputs.scope)
    if extent is None:
        extent = (points.x.min(), points.y.min(), points.x.max(), points.y.max())
    half = max(margin, 1.0)
    return (float(extent[0]) - half, float(extent[1]) - half,
            float(extent[2]) + half, float(extent[3]) + half)  # fmt: skip


def _exposure(inputs: ModelInputs, points: Stations, field: GridField, unit: str) -> ObjectValues:
    buildings = [
        b for cls in BUILDING_CLASSES
        for b in inputs.store.objects_in_box(cls, None, scope=inputs.scope)
        if b.footprint is not None and not b.attributes.get("replaced_by")
    ]  # fmt: skip
    centres = [b.footprint.centroid for b in buildings]  # type: ignore[union-attr]
    xs = np.array([c.x for c in centres])
    ys = np.array([c.y for c in centres])
    estimate = estimate_at(points, field.method, xs, ys)
    return ObjectValues(
        name="exposure",
        title=f"{field.method.name} exposure at the footprint's centroid",
        unit=unit,
        values={b.id: _number(v) for b, v in zip(buildings, estimate, strict=True)},
        details={
            b.id: {"x": round(float(x), 2), "y": round(float(y), 2)}
            for b, x, y in zip(buildings, xs, ys, strict=True)
        },
    )


def _station_layer(points: Stations, field: GridField, crs: str) -> VectorLayer:
    features = [
        Feature(Point(x, y), {"name": name, "value": _number(value),
                              "loo_predicted": _number(predicted), "loo_error": _number(error)})
        for x, y, name, value, predicted, error in zip(
            points.x, points.y, points.names, points.values, field.loo.predicted,
            field.loo.errors, strict=True,
        )
    ]  # fmt: skip
    return VectorLayer("stations", "Stations and their leave-one-out errors", features, crs)


def _loo_chart(points: Stations, field: GridField, unit: str) -> Chart:
    return Chart(
        name="loo_errors",
        title="Leave-one-out error per station (predicted - observed)",
        x_label="station",
        y_label=f"error ({unit})" if unit else "error",
        kind="bar",
        series=[ChartSeries("error", list(points.names), [_number(e) for e in field.loo.errors])],
    )


def _summary(
    points: Stations,
    field: GridField,
    params: PollutionParameters,
    unit: str,
    first_us: int,
    last_us: int,
) -> dict[str, Any]:
    finite = field.values[np.isfinite(field.values)]
    return {
        "stations": len(points),
        "method": params.method,
        "observed_property": params.observed_property,
        "unit": unit,
        "loo_rmse": _rounded(field.loo.rmse),
        "loo_mae": _rounded(field.loo.mae),
        "loo_bias": _rounded(field.loo.bias),
        "min_value": _rounded(float(finite.min())) if len(finite) else None,
        "max_value": _rounded(float(finite.max())) if len(finite) else None,
        "readings_from": format_time(first_us),
        "readings_to": format_time(last_us),
    }


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


MODEL = ModelSpec(
    name="pollution",
    title_en="Pollution field",
    title_zh="污染浓度场",
    description="A field of an observed property (PM2.5...) interpolated from the sensors'"
    " latest values by inverse distance weighting or ordinary kriging, with leave-one-out"
    " errors, the kriging variance and each building's exposure.",
    parameters_type=PollutionParameters,
    run=run,
)
