"""The buildings of the sunlight model, read from the store: obstacles (prisms) and homes.

Every building of the scope casts shadows as one prism per footprint part, from its
footprint, base and top heights (LOD1); a BIM building whose storeys have footprints casts
one prism per storey instead, each standing on the ground up to the storey's top (a stepped
massing: set-backs and podiums count, the space under an overhang is taken as solid).
Residential ones (the use, as the vocabulary reads it) are homes to check; their floors
come from the number of levels, else from the height ÷ the typical storey height.
Buildings marked ``planning_status = "proposed"`` (an IFC import with ``--proposed``) cast
shadows only in the "with proposed" case and are not homes. A GIS building that a BIM
building replaces is left out (the BIM one stands for it).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from cim.crs import transformer
from cim.planning import TYPICAL_STOREY_HEIGHT
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import (
    BUILDING_CLASSES,
    PLANNING_STATUS,
    PROPOSED,
    STOREY_CLASS,
    is_residential,
    levels_of,
    use_of,
)
from simulation.models.errors import ModelError

#: The id of the building a ``proposed_footprint`` parameter describes.
PROPOSED_FOOTPRINT_ID = "proposed:footprint"


class SunlightInputError(ModelError):
    """The sunlight model cannot run on this city or these parameters."""


@dataclass(frozen=True)
class Building:
    """A building as the model sees it: its parts' footprints, ground, top and use."""

    id: str
    name: str
    parts: list[Polygon]
    base: float
    top: float
    floors: int
    residential: bool
    proposed: bool
    #: The obstacle prisms (footprint, top); default: the parts up to the building's top.
    storeys: list[tuple[Polygon, float]] = field(default_factory=list)

    @property
    def prisms(self) -> list[tuple[Polygon, float]]:
        """The prisms this building casts shadows with."""
        return self.storeys or [(part, self.top) for part in self.parts]

    @property
    def storey_height(self) -> float:
        """The height of one floor: the height divided among the floors."""
        return max((self.top - self.base) / max(self.floors, 1), 1.0)


def city_buildings(store: CityStore, scope: Scope) -> list[Building]:
    """Every building of ``scope`` with a footprint and heights, in import order."""
    found: list[Building] = []
    storeys = _storey_prisms(store, scope)
    for cls in BUILDING_CLASSES:
        for obj in store.objects(cls, scope=scope):
            if obj.attributes.get("replaced_by") or obj.footprint is None:
                continue
            if obj.base_height is None or obj.top_height is None:
                continue
            parts = polygons_of(obj.footprint)
            if not parts or obj.top_height <= obj.base_height:
                continue
            height = obj.top_height - obj.base_height
            levels = levels_of(obj.attributes)
            floors = levels or max(1, round(height / TYPICAL_STOREY_HEIGHT))
            found.append(
                Building(
                    id=obj.id,
                    name=obj.name,
                    parts=parts,
                    base=float(obj.base_height),
                    top=float(obj.top_height),
                    floors=floors,
                    residential=is_residential(use_of(obj.attributes)),
                    proposed=obj.attributes.get(PLANNING_STATUS) == PROPOSED,
                    storeys=storeys.get(obj.id, []),
                )
            )
    return found


def _storey_prisms(store: CityStore, scope: Scope) -> dict[str, list[tuple[Polygon, float]]]:
    """The storeys of each BIM building as prisms: footprint part, storey top."""
    prisms: dict[str, list[tuple[Polygon, float]]] = defaultdict(list)
    for storey in store.objects(STOREY_CLASS, scope=scope):
        if storey.building_id is None or storey.footprint is None or storey.top_height is None:
            continue
        for part in polygons_of(storey.footprint):
            prisms[storey.building_id].append((part, float(storey.top_height)))
    return prisms


def polygons_of(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of a footprint (a polygon, or the parts of a multipolygon)."""
    if isinstance(geometry, Polygon):
        parts = [geometry]
    elif isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    else:
        return []
    return [part for part in parts if not part.is_empty and part.area > 0]


def proposed_footprint(
    geojson: dict[str, Any] | str,
    height: float,
    crs: str,
    buildings: list[Building],
) -> Building:
    """The building of a ``proposed_footprint`` parameter: a GeoJSON polygon in lon/lat,
    ``height`` metres above the ground (the base of the nearest building, else 0)."""
    try:
        geometry = shape(json.loads(geojson) if isinstance(geojson, str) else geojson)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise SunlightInputError(
            f"proposed_footprint: not a GeoJSON polygon in lon/lat ({error})"
        ) from error
    lonlat = polygons_of(geometry)
    if not lonlat or not geometry.is_valid:
        raise SunlightInputError("proposed_footprint: expected a valid GeoJSON Polygon")
    bounds = geometry.bounds
    if not (-180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90):
        raise SunlightInputError("proposed_footprint: coordinates must be longitude, latitude")
    to_city = transformer("EPSG:4326", crs)
    parts = [
        Polygon(
            np.column_stack(to_city.transform(*np.asarray(part.exterior.coords)[:, :2].T)),
            [
                np.column_stack(to_city.transform(*np.asarray(r.coords)[:, :2].T))
                for r in part.interiors
            ],
        )
        for part in lonlat
    ]
    if not all(np.isfinite(part.bounds).all() for part in parts):
        raise SunlightInputError(f"proposed_footprint: outside the area of {crs}")
    base = _ground_near(shapely.unary_union(parts), buildings)
    floors = max(1, round(height / TYPICAL_STOREY_HEIGHT))
    return Building(
        PROPOSED_FOOTPRINT_ID,
        "proposed footprint",
        parts,
        base,
        base + height,
        floors,
        residential=False,
        proposed=True,
    )


def _ground_near(geometry: BaseGeometry, buildings: list[Building]) -> float:
    """The base of the building nearest ``geometry`` (0 when there is none)."""
    best, base = math.inf, 0.0
    for building in buildings:
        for part in building.parts:
            distance = part.distance(geometry)
            if distance < best:
                best, base = distance, building.base
    return base


def grid_north_bearing(crs: str, lon: float, lat: float) -> float:
    """The bearing (degrees clockwise from the grid's north) of true north at a place: add it
    to a true azimuth to get the azimuth in the city's grid (the meridian convergence)."""
    to_city = transformer("EPSG:4326", crs)
    x0, y0 = to_city.transform(lon, lat)
    x1, y1 = to_city.transform(lon, lat + 1e-4)
    return float(np.degrees(np.arctan2(x1 - x0, y1 - y0)))
