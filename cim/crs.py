"""Coordinate reference systems: parsing, transformations and local east-north-up frames.

Every city has one projected CRS. Heights are treated as ellipsoidal when a position is
carried to ECEF (EPSG:4978); the difference to orthometric heights (a few tens of metres of
geoid undulation) shifts a whole city vertically but never distorts it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCrsError

from cim.errors import CrsError, OriginError

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


def horizontal_crs(text: str) -> str:
    """The horizontal CRS named by ``text``: ``text`` itself, or the horizontal part of a compound.

    A compound CRS (projected + height, e.g. ``EPSG:5555`` or ``EPSG:25832+5783``) places
    points with its first component; its vertical part only names the height datum.
    """
    crs = parse_crs(text)
    if not crs.is_compound or not crs.sub_crs_list:
        return text
    return crs_text(crs.sub_crs_list[0])


def to_lonlat(x: float, y: float, crs: str) -> tuple[float, float]:
    """Longitude and latitude (degrees) of a point of ``crs``; inf or NaN where pyproj fails."""
    lon, lat = transformer(crs, "EPSG:4326").transform(x, y)
    return float(lon), float(lat)


def in_area_of_use(crs: str, lon: float, lat: float) -> bool:
    """Whether ``lon``/``lat`` lie in the area of use of ``crs`` (all the Earth if none)."""
    area = parse_crs(crs).area_of_use
    return bool(_inside_area(area, np.array([lon]), np.array([lat]))[0])


def _inside_area(area: Any, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """Which places lie inside ``area`` (a pyproj AreaOfUse, or None for the whole Earth).

    Non-finite places are outside; an area crossing the antimeridian (west > east) is read as
    two spans.
    """
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
        if area is None:
            return valid & (np.abs(lon) <= 180)
        if area.west <= area.east:
            inside_lon = (area.west <= lon) & (lon <= area.east)
        else:
            inside_lon = (lon >= area.west) | (lon <= area.east)
        return valid & inside_lon & (area.south <= lat) & (lat <= area.north)


def area_name(crs: str) -> str:
    """The name of the area of use of ``crs``, or ``no stated area``."""
    area = parse_crs(crs).area_of_use
    return area.name if area is not None else "no stated area"


def parse_origin(text: str, crs: str) -> tuple[float, float, float]:
    """Read a user origin ``E,N[,H]`` (metres in ``crs``) and check it with :func:`check_origin`.

    Raises
    ------
    OriginError
        When the text is not two or three numbers, or :func:`check_origin` refuses them.
    CrsError
        When ``crs`` is unknown.
    """
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (2, 3):
        raise OriginError(
            f"origin {text!r}: expected E,N or E,N,H in metres (two or three numbers)"
        )
    return check_origin(values, crs)


def check_origin(values: Sequence[float], crs: str) -> tuple[float, float, float]:
    """Return ``values`` as ``(E, N, H)`` if they are a usable origin in ``crs``.

    Usable: two or three finite numbers (height 0 when left out), ``crs`` projected in
    metres (a compound CRS is judged by its horizontal part), and the point inside the
    CRS's area of use.

    Raises
    ------
    OriginError
        When a value is not finite, ``crs`` is not projected in metres or the point lies
        outside the CRS's area of use.
    CrsError
        When ``crs`` is unknown.
    """
    shown = ",".join(f"{v:g}" for v in values)
    if len(values) not in (2, 3):
        raise OriginError(f"origin {shown}: expected E,N or E,N,H in metres (2 or 3 numbers)")
    if not all(math.isfinite(v) for v in values):
        raise OriginError(f"origin {shown}: every value must be a finite number of metres")
    horizontal = horizontal_crs(crs)
    try:
        require_projected(parse_crs(horizontal), crs)
    except CrsError as exc:
        raise OriginError(
            f"origin {shown}: an origin is in metres, and {crs} is not a projected CRS in metres"
        ) from exc
    lon, lat = to_lonlat(values[0], values[1], horizontal)
    if not in_area_of_use(horizontal, lon, lat):
        where = f"at lon {lon:.4f}, lat {lat:.4f}" if math.isfinite(lon + lat) else "nowhere"
        raise OriginError(
            f"origin {shown} in {crs} lands {where}, outside the area of use of {horizontal}"
            f" ({area_name(horizontal)}): check the numbers (easting first) and the CRS"
        )
    return (float(values[0]), float(values[1]), float(values[2]) if len(values) == 3 else 0.0)


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
    outside = ~_inside_area(area, lon_array, lat_array)
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
