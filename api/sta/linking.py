"""Sensors placed by the city model: a Thing, Location or FeatureOfInterest that names a city
object (``properties.cityObject``) takes its position and jurisdiction from that object; any
other entity takes the jurisdiction of the deepest node holding its position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape

from cim.crs import to_lonlat, transformer
from cim.jurisdictions import smallest_containing
from cim.scope import Scope
from cim.store import CityStore

# The property that names the city object an entity sits in.
CITY_OBJECT_PROPERTY = "cityObject"


@dataclass(frozen=True)
class Placement:
    """Where a city object is, for a sensor in it: a GeoJSON point (CRS84, height at the
    object's mid-height) and the jurisdiction code the object belongs to (None: outside
    every jurisdiction)."""

    object_id: str
    jurisdiction: str | None
    lon: float
    lat: float
    height: float | None

    @property
    def geometry(self) -> dict[str, Any]:
        """The GeoJSON point."""
        coordinates = [self.lon, self.lat]
        if self.height is not None:
            coordinates.append(round(self.height, 3))
        return {"type": "Point", "coordinates": coordinates}


def city_placement(store: CityStore, scope: Scope, object_id: str) -> Placement:
    """The placement of the object ``object_id`` (404 when missing or outside ``scope``; an
    object with no footprint cannot place a sensor: 400)."""
    from simulation.sensors.errors import SensorInputError

    found = store.get_object(object_id, scope=scope)
    if found.footprint is None or found.footprint.is_empty:
        raise SensorInputError(f"city object {object_id!r} has no geometry to place a sensor at")
    inside = shapely.point_on_surface(found.footprint)
    lon, lat = to_lonlat(inside.x, inside.y, store.crs)
    height = None
    if found.base_height is not None and found.top_height is not None:
        height = (found.base_height + found.top_height) / 2
    codes = smallest_containing(
        np.array([inside], dtype=object), store.jurisdictions(scope=Scope.everything())
    )
    return Placement(object_id, codes[0], lon, lat, height)


def jurisdiction_at(store: CityStore, geometry: dict[str, Any]) -> str | None:
    """The code of the deepest jurisdiction holding a point of a GeoJSON geometry (CRS84),
    or None when it lies outside every one (or the city has none)."""
    nodes = store.jurisdictions(scope=Scope.everything())
    if not nodes:
        return None
    inside = shapely.point_on_surface(shape(geometry))
    x, y = transformer("EPSG:4326", store.crs).transform(inside.x, inside.y)
    code: str | None = smallest_containing(np.array([Point(x, y)], dtype=object), nodes)[0]
    return code
