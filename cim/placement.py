"""Checking where a user puts a model before it is imported: terrain height and warnings.

A placement is the model origin in the city CRS (easting, northing, height) and a rotation.
Its warnings, each a stable code with the numbers it names (for a translated message) and
an English message:

``below-terrain``
    The model's base (the lowest point of what it stands on: its floors and walls, not its
    footings) lies more than :data:`BELOW_TOLERANCE` under the terrain there.
``far-from-city``
    The origin is more than :data:`FAR_METRES` from the city's objects.
``outside-terrain``
    The city has a terrain, and the origin lies outside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cim.crs import check_origin, horizontal_crs, transform_arrays
from cim.errors import OriginError
from cim.layout import CityLayout
from cim.raster import sample_heights

FAR_METRES = 2000.0
BELOW_TOLERANCE = 0.5  # metres under the terrain a model may reach unwarned

#: ``(min x, min y, min z, max x, max y, max z)`` of the city's objects
Bounds3D = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class PlacementWarning:
    """One warning about a placement: a stable code, its numbers and an English message."""

    code: str
    message: str
    params: dict[str, float] = field(default_factory=dict)


@dataclass
class Placement:
    """A checked placement: where the origin goes, the terrain there, and the warnings.

    ``grid_north_deg`` is the bearing of grid north from true north there (clockwise,
    degrees): a model turned by ``rotation_deg`` from grid east is turned by
    ``rotation_deg - grid_north_deg`` from true east.
    """

    crs: str
    origin: tuple[float, float, float]
    rotation_deg: float
    lon: float
    lat: float
    terrain_height: float | None
    grid_north_deg: float = 0.0
    warnings: list[PlacementWarning] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["origin"] = list(self.origin)
        return data


def terrain_height(city_dir: Path, crs: str, x: float, y: float) -> float | None:
    """The city's DEM height at ``(x, y)`` of ``crs``; None without a DEM or outside it."""
    height = float(sample_heights(city_dir, crs, np.array([[x, y]]))[0])
    return height if math.isfinite(height) else None


def to_city(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Longitude/latitude in degrees as ``(x, y)`` of ``crs``.

    Raises
    ------
    OriginError
        When the point has no coordinates in ``crs``.
    """
    x, y = transform_arrays("EPSG:4326", horizontal_crs(crs), np.array([lon]), np.array([lat]))
    if not (np.isfinite(x[0]) and np.isfinite(y[0])):
        raise OriginError(f"lon {lon:g}, lat {lat:g} has no place in {crs}")
    return float(x[0]), float(y[0])


def check_placement(
    city_dir: Path,
    crs: str,
    origin: tuple[float, ...],
    rotation_deg: float = 0.0,
    bottom: float = 0.0,
    extent: Bounds3D | None = None,
) -> Placement:
    """Check a model origin ``(E, N[, H])`` in ``crs`` and turned by ``rotation_deg``.

    Without a height the origin takes the terrain height there (0 without a terrain).
    ``bottom`` is the model's base above its own origin (metres, usually <= 0);
    ``extent`` the bounds of the city's objects (None: an empty city, no distance check).

    Raises
    ------
    OriginError
        When the origin is not two or three finite numbers inside the CRS's area of use, or
        the rotation is not finite.
    """
    if not math.isfinite(rotation_deg):
        raise OriginError(f"rotation {rotation_deg!r} is not a finite number of degrees")
    if not math.isfinite(bottom):
        raise OriginError(f"bottom {bottom!r} is not a finite number of metres")
    ground = terrain_height(city_dir, crs, *check_origin(origin[:2], crs)[:2])
    given = list(origin) if len(origin) == 3 else [*origin[:2], ground or 0.0]
    x, y, height = check_origin(given, crs)
    lon, lat = transform_arrays(horizontal_crs(crs), "EPSG:4326", np.array([x]), np.array([y]))
    placement = Placement(
        crs, (x, y, height), rotation_deg % 360.0, float(lon[0]), float(lat[0]), ground,
        _grid_north(crs, x, y),
    )  # fmt: skip
    placement.warnings = _warnings(city_dir, placement, bottom, extent)
    return placement


def _grid_north(crs: str, x: float, y: float) -> float:
    """The bearing of grid north at ``(x, y)``, clockwise from true north, in degrees."""
    lon, lat = transform_arrays(
        horizontal_crs(crs), "EPSG:4326", np.array([x, x]), np.array([y, y + 100.0])
    )
    east = (lon[1] - lon[0]) * math.cos(math.radians(lat[0]))
    return round(math.degrees(math.atan2(east, lat[1] - lat[0])), 6)


def _warnings(
    city_dir: Path, placement: Placement, bottom: float, extent: Bounds3D | None
) -> list[PlacementWarning]:
    found = []
    x, y, height = placement.origin
    ground = placement.terrain_height
    if ground is not None and height + bottom < ground - BELOW_TOLERANCE:
        depth = round(ground - height - bottom, 2)
        found.append(PlacementWarning(
            "below-terrain",
            f"the model's base is {depth:g} m below the terrain there ({ground:.2f} m)",
            {"depth": depth, "terrain": round(ground, 2)},
        ))  # fmt: skip
    if extent is not None:
        dx = max(extent[0] - x, 0.0, x - extent[3])
        dy = max(extent[1] - y, 0.0, y - extent[4])
        distance = math.hypot(dx, dy)
        if distance > FAR_METRES:
            found.append(PlacementWarning(
                "far-from-city",
                f"the origin is {distance / 1000:.1f} km from the city's objects",
                {"km": round(distance / 1000, 1)},
            ))  # fmt: skip
    if ground is None and CityLayout(city_dir).dem.is_file():
        found.append(PlacementWarning(
            "outside-terrain", "the origin lies outside the city's terrain"
        ))  # fmt: skip
    return found
