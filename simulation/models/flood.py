"""The flood model: the city DEM filled from where the water enters, to a level or a volume.

The level is given, read live from a water-level datastream, or found for a rain volume.
The water covers the cells below the level connected to the source (see
:mod:`simulation.models.flood_fill`); hollows below the level that it does not reach are
reported apart. The run gives the depth raster, the flooded extent, the low areas, the
flooded roads, each building's depth at its base and entrances, and the area and volume
against the level.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from cim.errors import ObjectNotFoundError
from cim.results import Feature, ObjectValues, Progress, SimulationResult, VectorLayer
from cim.vocabulary import BUILDING_CLASSES
from simulation.models.errors import ModelError
from simulation.models.flood_fill import (
    VOLUME_TOLERANCE,
    Flood,
    edge_source,
    flood_at_level,
    level_for_volume,
)
from simulation.models.flood_grid import (
    CityGrid,
    SourceError,
    area_source,
    city_grid,
    lonlat_source,
    point_source,
)
from simulation.models.flood_layers import (
    depth_raster,
    extent_layer,
    level_chart,
    low_areas_layer,
)
from simulation.models.flood_objects import (
    DOOR_CLASS,
    ROAD_CLASS,
    BuildingDepths,
    building_depths,
    flooded_roads,
)
from simulation.models.flood_params import FloodParameters
from simulation.models.spec import ModelInputs, ModelSpec, Reading

#: Metres per unit of a water-level reading.
LEVEL_UNITS = {None: 1.0, "": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001}
DIGITS = 3


class LiveLevelError(ModelError):
    """A live water level cannot be read."""


def _live_level(inputs: ModelInputs, params: FloodParameters) -> tuple[float, Reading]:
    datastream = params.datastream_id
    assert datastream is not None
    if inputs.live is None:
        raise LiveLevelError(
            f"datastream_id {datastream}: no live readings here (the city has no sensors"
            " database); give water_level instead"
        )
    reading = inputs.live.latest(datastream)
    if reading is None:
        raise LiveLevelError(
            f"datastream_id {datastream}: no numeric reading to take the level from"
        )
    scale = LEVEL_UNITS.get(reading.unit.strip() if reading.unit else None)
    if scale is None:
        raise LiveLevelError(
            f"datastream_id {datastream}: its unit {reading.unit!r} is not a length"
            f" ({', '.join(u for u in LEVEL_UNITS if u)})"
        )
    return reading.value * scale + params.gauge_datum_m, reading


def _source(
    inputs: ModelInputs, params: FloodParameters, grid: CityGrid, gauge: Reading | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Where the water enters, and how the run says it."""
    if params.source is not None:
        lon, lat = params.source
        return lonlat_source(grid, lon, lat), {"kind": "point", "lon": lon, "lat": lat}
    if params.source_object is not None:
        try:
            found = inputs.store.get_object(params.source_object, scope=inputs.scope)
        except ObjectNotFoundError as exc:
            raise SourceError(f"source_object: {exc}") from exc
        if found.footprint is None or found.footprint.is_empty:
            raise SourceError(f"source_object {found.id!r} has no footprint to enter from")
        source = area_source(grid, found.footprint, f"object {found.id!r}")
        return source, {"kind": "object", "id": found.id}
    if gauge is not None and gauge.x is not None and gauge.y is not None:
        source = point_source(grid, gauge.x, gauge.y, f"gauge of datastream {gauge.datastream_id}")
        return source, {"kind": "gauge", "x": gauge.x, "y": gauge.y}
    return edge_source(grid.dem), {"kind": "edge"}


def _reading_record(reading: Reading) -> dict[str, Any]:
    """The live value a run read, as its parameters keep it."""
    time = datetime.fromtimestamp(reading.time_us / 1e6, UTC)
    return {
        "datastream_id": reading.datastream_id,
        "name": reading.name,
        "value": reading.value,
        "unit": reading.unit,
        "time": time.isoformat().replace("+00:00", "Z"),
    }


def _summary(
    flood: Flood, ground: float, depths: BuildingDepths, roads: list[Feature], wanted: float | None
) -> dict[str, Any]:
    """The run's headline figures, and a note when the water did not do as asked."""
    summary: dict[str, Any] = {
        "level_m": round(flood.level, DIGITS),
        "flooded_area_m2": round(flood.area_m2, DIGITS),
        "volume_m3": round(flood.volume_m3, DIGITS),
        "max_depth_m": round(flood.max_depth_m, DIGITS),
        "buildings_affected": depths.affected,
        "roads_flooded_length_m": round(
            sum(f.properties["flooded_length_m"] for f in roads), DIGITS
        ),
        "low_area_m2": round(flood.low_area_m2, DIGITS),
        "low_volume_m3": round(flood.low_volume_m3, DIGITS),
        "source_ground_m": round(ground, DIGITS),
    }
    if flood.level <= ground:
        summary["note"] = (
            f"the water level {flood.level:.2f} m is below the ground at the source"
            f" ({ground:.2f} m): nothing floods"
        )
    elif wanted is not None and flood.volume_m3 < wanted * (1 - VOLUME_TOLERANCE):
        summary["note"] = (
            f"the water tops a ridge at {flood.level:.2f} m: {flood.volume_m3:.0f} m³ of the"
            f" {wanted:.0f} m³ stay below it, the rest spills into the low areas beyond"
        )
    return summary


def run(inputs: ModelInputs, params: FloodParameters, progress: Progress) -> SimulationResult:
    """Flood the city as ``params`` say."""
    used: dict[str, Any] = params.model_dump(exclude_none=True)
    gauge = None
    level = params.water_level
    if params.datastream_id is not None:
        level, gauge = _live_level(inputs, params)
        used["live"] = _reading_record(gauge)
    progress(5, "reading the DEM")
    grid = city_grid(inputs.city_dir, inputs.store.crs)
    source, used["source_used"] = _source(inputs, params, grid, gauge)
    ground = float(np.nanmin(np.where(source, grid.dem, np.nan)))
    used["source_used"]["ground_m"] = round(ground, DIGITS)
    progress(20, "filling from the source")
    if params.rain_volume_m3 is not None:
        flood = level_for_volume(grid.dem, params.rain_volume_m3, source, grid.areas)
    else:
        assert level is not None
        flood = flood_at_level(grid.dem, level, source, grid.areas)
    used["level_m"] = round(flood.level, DIGITS)
    rows, cols = grid.dem.shape
    used["grid"] = {"cell_size_m": round(grid.cell_size_m, DIGITS), "rows": rows, "cols": cols}
    progress(40, "tracing the flooded extent")
    extent, low = extent_layer(grid, flood), low_areas_layer(grid, flood)
    progress(60, "buildings and roads")
    store, scope = inputs.store, inputs.scope
    buildings = [obj for cls in BUILDING_CLASSES for obj in store.objects(cls=cls, scope=scope)]
    depths = building_depths(grid, flood, buildings, store.objects(cls=DOOR_CLASS, scope=scope))
    wet = [f.geometry for f in extent.features]
    roads = flooded_roads(grid, flood, wet, store.objects(cls=ROAD_CLASS, scope=scope))
    progress(80, "area and volume by level")
    chart = level_chart(grid, source, ground, flood.level, params.chart_levels)
    progress(100, "done")
    return SimulationResult(
        model="flood",
        parameters=used,
        summary=_summary(flood, ground, depths, roads, params.rain_volume_m3),
        rasters=[depth_raster(grid, flood)],
        vectors=[extent, low, VectorLayer("roads", "Flooded roads", roads, grid.crs)],
        values=[
            ObjectValues("depth", "Water depth at the base", "m", depths.values, depths.details)
        ],
        charts=[chart],
    )


MODEL = ModelSpec(
    name="flood",
    title_en="Flood inundation",
    title_zh="洪水淹没",
    description=(
        "Floods the terrain from where the water enters, up to a water level (fixed or read"
        " from a water-level gauge) or until a rain volume is stored: water depth, flooded"
        " extent, low areas the water does not reach, flooded roads and buildings."
    ),
    parameters_type=FloodParameters,
    run=run,
)
