"""Areas in requests: a CRS84 box or GeoJSON polygon, checked and carried into the city CRS.

Every area a caller hands over (a ``bbox`` parameter, a drawn polygon) goes through here:
its numbers must be finite and inside the CRS84 range, a polygon may have at most
:data:`MAX_VERTICES` vertices, and the result is clipped to the city's extent before it is
densified and reprojected, so the work a request causes is bounded by the size of the city
rather than by the size of what was asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from cim.crs import parse_crs, transform_arrays
from cim.errors import AreaError
from cim.scope import Scope
from cim.store import CityStore

CRS84 = "OGC:CRS84"
MAX_VERTICES = 10_000
# Densify CRS84 edges before reprojecting (about 50 m), as straight lines in degrees curve
# in a projected CRS.
DENSIFY_DEGREES = 0.0005
# Room around the city's extent when clipping in degrees, before the exact clip in metres.
CLIP_MARGIN_DEGREES = 0.01
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class CityExtent:
    """Where a city is: its CRS and the box around its footprints.

    Attributes
    ----------
    crs:
        The city CRS (projected, metres).
    bounds:
        ``(min_x, min_y, max_x, max_y)`` of every footprint in the city CRS, or None when
        the city has no geometry yet.
    """

    crs: str
    bounds: Bounds | None

    def box(self) -> BaseGeometry:
        """The extent as a polygon in the city CRS (empty for a city without geometry)."""
        return shapely.box(*self.bounds) if self.bounds is not None else shapely.Polygon()

    def crs84_box(self) -> BaseGeometry:
        """A CRS84 box that holds the whole extent, with a margin."""
        if self.bounds is None:
            return shapely.Polygon()
        min_x, min_y, max_x, max_y = self.bounds
        xs = np.linspace(min_x, max_x, 21)
        ys = np.linspace(min_y, max_y, 21)
        edge_x = np.concatenate([xs, xs, np.full(21, min_x), np.full(21, max_x)])
        edge_y = np.concatenate([np.full(21, min_y), np.full(21, max_y), ys, ys])
        lon, lat = transform_arrays(self.crs, "EPSG:4326", edge_x, edge_y)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            return self.crs_area()
        m = CLIP_MARGIN_DEGREES
        return shapely.box(
            max(-180.0, lon.min() - m), max(-90.0, lat.min() - m),
            min(180.0, lon.max() + m), min(90.0, lat.max() + m),
        )  # fmt: skip

    def crs_area(self) -> BaseGeometry:
        """Where the city CRS may be used, in CRS84 (the whole world when it does not say)."""
        used = parse_crs(self.crs).area_of_use
        if used is None or used.west > used.east:
            return shapely.box(-180.0, -90.0, 180.0, 90.0)
        return shapely.box(used.west, used.south, used.east, used.north)


def parse_bbox(text: str) -> list[float]:
    """The four numbers of a ``"min_lon,min_lat,max_lon,max_lat"`` parameter."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise AreaError(
            f"bbox {_short(text)!r}: expected four numbers min_lon,min_lat,max_lon,max_lat"
        )
    return values


def bbox_area(values: Sequence[float], city: CityExtent) -> BaseGeometry:
    """The CRS84 box ``[min_lon, min_lat, max_lon, max_lat]`` in the city CRS, clipped to the city.

    Raises
    ------
    AreaError
        When the box does not have four finite numbers inside the CRS84 range, in order.
    """
    min_lon, min_lat, max_lon, max_lat = _box_numbers(values, "min_lon, min_lat, max_lon, max_lat")
    _check_range(np.array([[min_lon, min_lat], [max_lon, max_lat]]), "bbox")
    return crs84_to_city(shapely.box(min_lon, min_lat, max_lon, max_lat), city)


def city_bbox_area(values: Sequence[float], city: CityExtent) -> BaseGeometry:
    """A box ``[min_x, min_y, max_x, max_y]`` given in the city CRS (easting, northing), clipped.

    Raises
    ------
    AreaError
        When the box does not have four finite numbers in order.
    """
    box = shapely.box(*_box_numbers(values, "min_x, min_y, max_x, max_y"))
    area = shapely.intersection(box, city.box())
    return area if not area.is_empty else shapely.Polygon()


def geojson_area(geometry: Mapping[str, Any], city: CityExtent) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (CRS84) in the city CRS, clipped to the city.

    Raises
    ------
    AreaError
        When it is not a polygonal GeoJSON geometry, has non-finite or out-of-range
        coordinates, more than :data:`MAX_VERTICES` vertices, or is not a valid polygon.
    """
    return crs84_to_city(parse_geojson_polygon(geometry), city)


def parse_geojson_polygon(geometry: Mapping[str, Any]) -> BaseGeometry:
    """A checked shapely Polygon or MultiPolygon from a GeoJSON geometry in CRS84."""
    if not isinstance(geometry, Mapping):
        raise AreaError("polygon: expected a GeoJSON object")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        polygons = coordinates if isinstance(coordinates, list) else [None]
    else:
        raise AreaError(
            f"polygon: expected a GeoJSON Polygon or MultiPolygon, got {_short(kind)!r}"
        )
    budget = [MAX_VERTICES]
    shape = shapely.MultiPolygon([_polygon(rings, budget) for rings in polygons])
    if not shape.is_valid:
        raise AreaError(f"polygon: not a valid polygon ({shapely.is_valid_reason(shape)})")
    return shape.geoms[0] if kind == "Polygon" else shape


def crs84_to_city(shape: BaseGeometry, city: CityExtent) -> BaseGeometry:
    """A checked CRS84 polygon clipped to the city, densified and reprojected to its CRS."""
    clipped = shapely.intersection(shape, city.crs84_box())
    if clipped.is_empty:
        return shapely.Polygon()
    dense = shapely.segmentize(clipped, DENSIFY_DEGREES)

    def to_city(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = transform_arrays("EPSG:4326", city.crs, points[:, 0], points[:, 1])
        return np.column_stack([x, y])

    moved = shapely.make_valid(shapely.transform(dense, to_city))
    area = shapely.intersection(moved, city.box())
    return area if not area.is_empty else shapely.Polygon()


def _box_numbers(values: Sequence[float], names: str) -> tuple[float, float, float, float]:
    if len(values) != 4:
        raise AreaError(f"bbox: expected four numbers [{names}], got {len(values)}")
    low_x, low_y, high_x, high_y = (_coordinate(v, "bbox") for v in values)
    if low_x > high_x or low_y > high_y:
        first, second = names.split(", ")[:2]
        raise AreaError(
            f"bbox: expected {first} <= {first.replace('min', 'max')} and {second} <="
            f" {second.replace('min', 'max')} (a box across the antimeridian is not supported)"
        )
    return low_x, low_y, high_x, high_y


def _polygon(rings: Any, budget: list[int]) -> shapely.Polygon:
    if not isinstance(rings, list) or not rings:
        raise AreaError("polygon: a polygon needs a list of rings, the exterior first")
    arrays = [_ring(ring, budget) for ring in rings]
    return shapely.Polygon(arrays[0], arrays[1:])


def _ring(ring: Any, budget: list[int]) -> npt.NDArray[np.float64]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise AreaError(
            "polygon: a ring needs at least four positions, the last equal to the first"
        )
    budget[0] -= len(ring)
    if budget[0] < 0:
        raise AreaError(f"polygon: more than {MAX_VERTICES} vertices; simplify it")
    if not all(isinstance(p, list) and len(p) in (2, 3) for p in ring):
        raise AreaError("polygon: every position must be [lon, lat] or [lon, lat, height]")
    points = np.array([[_coordinate(p[0], "polygon"), _coordinate(p[1], "polygon")] for p in ring])
    _check_range(points, "polygon")
    return points


def _coordinate(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AreaError(f"{what}: {_short(value)!r} is not a number")
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    if not math.isfinite(number):
        raise AreaError(f"{what}: coordinates must be finite numbers, got {_short(value)}")
    return number


def _check_range(points: npt.NDArray[np.float64], what: str) -> None:
    lon, lat = points[:, 0], points[:, 1]
    if (np.abs(lon) > 180.0).any() or (np.abs(lat) > 90.0).any():
        raise AreaError(
            f"{what}: longitude must lie in [-180, 180] and latitude in [-90, 90] (CRS84, degrees)"
        )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def city_extent(store: CityStore, *, scope: Scope) -> CityExtent:
    """The CRS of the city in ``store`` and the box around the footprints and meshes of its
    objects in ``scope``."""
    footprints = store.footprint_extent(scope=scope)
    meshes = _plan(store.extent(scope=scope))
    boxes = [box for box in (footprints, meshes) if box is not None]
    if not boxes:
        return CityExtent(store.crs, None)
    low_x, low_y, _, _ = np.min(boxes, axis=0)
    _, _, high_x, high_y = np.max(boxes, axis=0)
    return CityExtent(store.crs, (float(low_x), float(low_y), float(high_x), float(high_y)))


def _plan(bounds: tuple[float, ...] | None) -> Bounds | None:
    return None if bounds is None else (bounds[0], bounds[1], bounds[3], bounds[4])
