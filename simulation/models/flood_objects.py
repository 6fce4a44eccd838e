"""What a flood reaches: buildings (depth at the base and at the entrances) and roads.

A building's depth is the deepest water on the DEM cells its footprint touches (0 when
they are dry, None when it lies off the DEM); its details give the level, its lowest
ground and the depth at each entrance: the doors of its lowest storey holding doors (IFC
buildings; only the external ones when the doors say which are).
A road's flooded length is its length times the flooded share of its surface; the length
of a road surface (a strip of area A and perimeter P) is that of the rectangle with the
same A and P: ``(P + sqrt(P² - 16 A)) / 4``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cim.model import CityObject
from cim.results import Feature, ObjectValue
from cim.vocabulary import flatten
from simulation.models.flood_fill import Flood
from simulation.models.flood_grid import CityGrid

DOOR_CLASS = "IfcDoor"
ROAD_CLASS = "road"
DIGITS = 3


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def _depth_on(
    grid: CityGrid, flood: Flood, geometry: BaseGeometry | None
) -> tuple[float, float] | None:
    """Deepest water and lowest ground on the cells ``geometry`` touches; None off the DEM."""
    if geometry is None or geometry.is_empty:
        return None
    found = grid.window(geometry)
    if found is None:
        return None
    rows, cols, mask = found
    ground = grid.dem[rows, cols][mask]
    if not np.isfinite(ground).any():
        return None
    depth = flood.depth[rows, cols][mask]
    deepest = float(np.nanmax(depth)) if np.isfinite(depth).any() else 0.0
    return deepest, float(np.nanmin(ground))


def _depth_at(grid: CityGrid, flood: Flood, point: BaseGeometry) -> float | None:
    cell = grid.cell_of(point.x, point.y)
    if cell is None or not np.isfinite(grid.dem[cell]):
        return None
    depth = float(flood.depth[cell])
    return _round(depth) if math.isfinite(depth) else 0.0


def is_external(door: CityObject) -> bool:
    """Whether a door's property sets say it leads outside (``IsExternal``)."""
    return flatten(door.attributes).get("IsExternal") in (True, "TRUE", "True", "true")


def ground_doors(doors: list[CityObject]) -> dict[str, list[CityObject]]:
    """Per building, its doors on the lowest storey that holds doors: the external ones when
    the building's doors say which are (``Pset_DoorCommon.IsExternal``), else all."""
    by_building: dict[str, dict[str | None, list[CityObject]]] = defaultdict(
        lambda: defaultdict(list)
    )
    placed = [d for d in doors if d.building_id is not None and d.footprint is not None]
    marked = {d.building_id for d in placed if is_external(d)}
    for door in placed:
        if door.building_id not in marked or is_external(door):
            by_building[str(door.building_id)][door.storey_id].append(door)
    chosen = {}
    for building, storeys in by_building.items():

        def lowest(group: list[CityObject]) -> float:
            bases = [d.base_height for d in group if d.base_height is not None]
            return min(bases) if bases else math.inf

        chosen[building] = min(storeys.values(), key=lowest)
    return chosen


@dataclass
class BuildingDepths:
    """Per building id: the water depth at its base, and what the inspector shows."""

    values: dict[str, ObjectValue]
    details: dict[str, dict[str, Any]]

    @property
    def affected(self) -> int:
        """How many buildings stand in water."""
        return sum(1 for v in self.values.values() if isinstance(v, float) and v > 0)


def building_depths(
    grid: CityGrid, flood: Flood, buildings: list[CityObject], doors: list[CityObject]
) -> BuildingDepths:
    """The depth at each building's base and at its ground-storey entrances."""
    entrances = ground_doors(doors)
    values: dict[str, ObjectValue] = {}
    details: dict[str, dict[str, Any]] = {}
    for building in buildings:
        found = _depth_on(grid, flood, building.footprint)
        if found is None:
            values[building.id] = None
            continue
        deepest, ground = found
        values[building.id] = _round(deepest)
        detail: dict[str, Any] = {"level_m": _round(flood.level), "lowest_ground_m": _round(ground)}
        doors_here = entrances.get(building.id, [])
        if doors_here:
            detail["entrances"] = [
                {
                    "id": door.id,
                    "name": door.name,
                    "depth_m": _depth_at(grid, flood, door.footprint.centroid),  # type: ignore[union-attr]
                }
                for door in doors_here
            ]
        details[building.id] = detail
    return BuildingDepths(values, details)


def strip_length(surface: BaseGeometry) -> float:
    """The length of a strip-shaped surface: the rectangle's of equal area and perimeter."""
    area, perimeter = float(surface.area), float(surface.length)
    return (perimeter + math.sqrt(max(perimeter**2 - 16 * area, 0.0))) / 4


def flooded_roads(
    grid: CityGrid, flood: Flood, extent: list[BaseGeometry], roads: list[CityObject]
) -> list[Feature]:
    """The flooded part of each road that the extent reaches, with its flooded length."""
    if not extent:
        return []
    tree = shapely.STRtree(extent)
    features = []
    for road in roads:
        surface = road.footprint
        if surface is None or surface.is_empty or surface.area <= 0:
            continue
        near = tree.query(surface, predicate="intersects")
        if len(near) == 0:
            continue
        wet = shapely.intersection(surface, shapely.union_all([extent[i] for i in near]))
        if wet.is_empty or wet.area <= 0:
            continue
        length = strip_length(surface)
        found = _depth_on(grid, flood, wet)
        features.append(
            Feature(
                wet,
                {
                    "id": road.id,
                    "name": road.name,
                    "length_m": _round(length),
                    "flooded_length_m": _round(length * wet.area / surface.area),
                    "max_depth_m": _round(found[0]) if found is not None else None,
                },
            )
        )
    return features
