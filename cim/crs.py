"""Coordinate reference systems: parsing, transformations and local east-north-up frames.

Every city has one projected CRS. Heights are treated as ellipsoidal when a position is
carried to ECEF (EPSG:4978); the difference to orthometric heights (a few tens of metres of
geoid undulation) shifts a whole city vertically but never distorts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCrsError

from cim.errors import CrsError

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=128)
def parse_crs(text: str) -> CRS:
    """Return the CRS named by ``text`` (``EPSG:4547``, a WKT or a PROJ string).

    Raises
    ------
    CrsError
        When pyproj does not know the CRS.
    """
    try:
        return CRS.from_user_input(text)
    except PyprojCrsError as exc:
        raise CrsError(f"unknown CRS {text!r}: {exc}") from exc


def require_projected(crs: CRS, text: str) -> CRS:
    """Return ``crs`` if it is projected with metre axes, else raise :class:`CrsError`."""
    if not crs.is_projected:
        raise CrsError(f"{text} is not a projected CRS; a city needs one in metres")
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise CrsError(f"{text} has axes in {unit}; a city needs a CRS in metres")
    return crs


@lru_cache(maxsize=64)
def transformer(source: str, target: str) -> Transformer:
    """Return a cached, always-xy transformer between two CRS given as text."""
    return Transformer.from_crs(parse_crs(source), parse_crs(target), always_xy=True)


def transform_arrays(source: str, target: str, *coordinates: FloatArray) -> tuple[FloatArray, ...]:
    """Transform coordinate arrays of any length (one point too) between two CRS."""
    arrays = [np.asarray(c, dtype=np.float64).ravel() for c in coordinates]
    run: Any = transformer(source, target).transform
    if arrays and arrays[0].size == 1:
        points = run(*[float(a[0]) for a in arrays])
        return tuple(np.array([value], dtype=np.float64) for value in points)
    return tuple(np.asarray(value, dtype=np.float64) for value in run(*arrays))


def crs_text(crs: CRS) -> str:
    """Return the shortest stable name of ``crs`` (``EPSG:n`` when it has one)."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def enu_rotation(lon_deg: float, lat_deg: float) -> FloatArray:
    """Rotation whose rows are the east, north and up unit vectors in ECEF."""
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    sin_lon, cos_lon, sin_lat, cos_lat = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    return np.array(
        [
            [-sin_lon, cos_lon, 0.0],
            [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
        ]
    )


@dataclass(frozen=True)
class LocalFrame:
    """An east-north-up frame anchored at a point of a city, for float32-safe vertices.

    Attributes
    ----------
    crs:
        The city CRS the frame converts from.
    origin:
        The anchor in the city CRS (x, y, height).
    """

    crs: str
    origin: tuple[float, float, float]

    @cached_property
    def geodetic_origin(self) -> tuple[float, float, float]:
        """The anchor as longitude, latitude (degrees) and height."""
        lon, lat = transformer(self.crs, "EPSG:4326").transform(self.origin[0], self.origin[1])
        return float(lon), float(lat), self.origin[2]

    @cached_property
    def ecef_origin(self) -> FloatArray:
        """The anchor in ECEF metres."""
        lon, lat, height = self.geodetic_origin
        x, y, z = transformer("EPSG:4979", "EPSG:4978").transform(lon, lat, height)
        return np.array([x, y, z], dtype=np.float64)

    def to_local(self, points: FloatArray) -> FloatArray:
        """Carry ``(n, 3)`` city-CRS points into this frame (east, north, up metres)."""
        lon, lat = transform_arrays(self.crs, "EPSG:4326", points[:, 0], points[:, 1])
        x, y, z = transform_arrays("EPSG:4979", "EPSG:4978", lon, lat, points[:, 2])
        ecef = np.column_stack([x, y, z]) - self.ecef_origin
        return ecef @ enu_rotation(*self.geodetic_origin[:2]).T

    def to_ecef_matrix(self) -> FloatArray:
        """The 4x4 matrix taking frame coordinates to ECEF (column-major when flattened.T)."""
        matrix = np.eye(4)
        matrix[:3, :3] = enu_rotation(*self.geodetic_origin[:2]).T
        matrix[:3, 3] = self.ecef_origin
        return matrix

    def to_geodetic(self, points: FloatArray) -> FloatArray:
        """Carry ``(n, 3)`` city-CRS points to longitude, latitude and height."""
        lon, lat = transform_arrays(self.crs, "EPSG:4326", points[:, 0], points[:, 1])
        return np.column_stack([lon, lat, points[:, 2]])


def area_of_use_warning(
    city_crs: str, lon: npt.ArrayLike, lat: npt.ArrayLike, what: str
) -> str | None:
    """Say where ``what`` lands when places of it fall outside the area of use of ``city_crs``.

    Parameters
    ----------
    city_crs:
        The city CRS, whose area of use (EPSG's bounding box) is checked.
    lon, lat:
        Longitudes and latitudes (degrees) of the places to check, e.g. a model's origin or
        the centroids of a layer's features. Non-finite values count as outside.
    what:
        How the message names the data, e.g. ``"the model"`` or ``"layer buildings"``.

    Returns
    -------
    str or None
        None when every place is inside (or the CRS has no area of use), else a sentence
        naming the place and the area, to which callers append their advice.
    """
    area = parse_crs(city_crs).area_of_use
    lon_array = np.asarray(lon, dtype=np.float64).ravel()
    lat_array = np.asarray(lat, dtype=np.float64).ravel()
    if area is None or lon_array.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        inside = (area.west <= lon_array) & (lon_array <= area.east)
        inside &= (area.south <= lat_array) & (lat_array <= area.north)
    outside = ~inside
    if not outside.any():
        return None
    finite = outside & np.isfinite(lon_array) & np.isfinite(lat_array)
    if finite.any():
        place = f"lon {np.median(lon_array[finite]):.5f}, lat {np.median(lat_array[finite]):.5f}"
    else:
        place = "an unusable place (no longitude and latitude)"
    where = f"outside the area of use of {city_crs} ({area.name})"
    if outside.all():
        return f"{what} lands at {place}, {where}"
    share = f"{int(outside.sum())} of {outside.size} places"
    return f"{what} lands partly {where}: {share}, around {place}"
