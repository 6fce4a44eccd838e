"""Placing an IFC model on the map: which georeference a file carries, and using it.

Sources, in order: a user-given origin (an explicit override), IfcMapConversion (or the
IFC2X3 ``ePSet_MapConversion`` convention, read through ``ifcopenshell.util.geolocation``),
then IfcSite RefLatitude/RefLongitude/RefElevation. Points come from the geometry
iterator in metres in the model's world coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ifcopenshell
import ifcopenshell.util.geolocation as geolocation
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np

from bim.errors import GeoreferenceError
from cim.crs import FloatArray, enu_rotation, parse_crs, transform_arrays, transformer

_UNSET_AXIS = (1.0, 0.0)


@dataclass(frozen=True)
class UserOrigin:
    """A user's placement: the model origin at ``origin`` in ``crs``, axes along the grid."""

    crs: str
    origin: tuple[float, float, float]


@dataclass
class Georeference:
    """How model coordinates (metres) reach map coordinates.

    Attributes
    ----------
    method:
        ``IfcMapConversion``, ``ePSet_MapConversion``, ``IfcRigidOperation``,
        ``IfcSite RefLatitude/RefLongitude`` or ``user origin``.
    crs:
        The CRS of the map coordinates (for the site method: geodetic EPSG:4979).
    origin:
        Map coordinates of the model origin.
    """

    method: str
    crs: str
    origin: tuple[float, float, float]
    x_axis: tuple[float, float] = _UNSET_AXIS
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    model_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Describe the georeference for reports."""
        rotation = math.degrees(math.atan2(self.x_axis[1], self.x_axis[0]))
        return {
            "method": self.method,
            "crs": self.crs,
            "origin": list(self.origin),
            "rotation_deg": round(rotation, 9),
            "scale": list(self.scale),
            "notes": self.notes,
        }

    def to_city(self, points: FloatArray, city_crs: str) -> FloatArray:
        """Carry ``(n, 3)`` model points in metres into ``city_crs`` (x, y, height)."""
        local = (points - np.asarray(self.model_offset)) * np.asarray(self.scale)
        cos, sin = self.x_axis
        x = self.origin[0] + local[:, 0] * cos - local[:, 1] * sin
        y = self.origin[1] + local[:, 0] * sin + local[:, 1] * cos
        z = self.origin[2] + local[:, 2]
        if self.method.startswith("IfcSite"):
            return _enu_to_city(np.column_stack([x, y, z]) - self.origin, self.origin, city_crs)
        if self.crs != city_crs and parse_crs(self.crs) != parse_crs(city_crs):
            x, y = transform_arrays(self.crs, city_crs, x, y)
        return np.column_stack([x, y, z])


def _enu_to_city(enu: FloatArray, anchor: tuple[float, float, float], city_crs: str) -> FloatArray:
    lon, lat, height = anchor
    ecef0 = np.array(transformer("EPSG:4979", "EPSG:4978").transform(lon, lat, height))
    ecef = ecef0 + enu @ enu_rotation(lon, lat)
    lons, lats, heights = transform_arrays("EPSG:4978", "EPSG:4979", *ecef.T)
    x, y = transform_arrays("EPSG:4326", city_crs, lons, lats)
    return np.column_stack([x, y, heights])


def resolve(model: ifcopenshell.file, user: UserOrigin | None = None) -> Georeference:
    """Choose the georeference of ``model``: the user's, the map conversion, then the site."""
    found = _map_conversion(model) or _site_location(model)
    if user is not None:
        parse_crs(user.crs)
        notes = [f"overrides {found.method} found in the file"] if found else []
        return Georeference("user origin", user.crs, user.origin, notes=notes)
    if found is None:
        raise GeoreferenceError(
            "the model has no georeference (no IfcMapConversion, no ePSet_MapConversion, no"
            " IfcSite RefLatitude/RefLongitude): give --origin E,N[,H] (the origin field of an"
            " upload; and --crs if the"
            " origin is not in the city's CRS)"
        )
    return found


def candidates(model: ifcopenshell.file) -> list[Georeference]:
    """Every georeference the file carries (map conversion, site location), usable ones only."""
    found = []
    for reader in (_map_conversion, _site_location):
        try:
            georef = reader(model)
        except GeoreferenceError:
            continue
        if georef is not None:
            found.append(georef)
    return found


def _map_conversion(model: ifcopenshell.file) -> Georeference | None:
    params = geolocation.get_helmert_transformation_parameters(model)
    if params is None:
        return None
    crs_entity = geolocation.get_crs(model) or {}
    crs_name = str(crs_entity.get("Name") or "")
    if not crs_name:
        raise GeoreferenceError("the map conversion names no target CRS (IfcProjectedCRS.Name)")
    try:
        parse_crs(crs_name)
    except Exception as exc:
        raise GeoreferenceError(f"the model's projected CRS {crs_name!r} is unknown") from exc
    method = "ePSet_MapConversion" if model.schema == "IFC2X3" else _operation_name(model)
    notes: list[str] = []
    scale = _effective_scale(model, float(params.scale), notes)
    norm = math.hypot(params.xaa, params.xao) or 1.0
    factors = (params.factor_x, params.factor_y, params.factor_z)
    return Georeference(
        method=method,
        crs=crs_name,
        origin=(float(params.e), float(params.n), float(params.h)),
        x_axis=(params.xaa / norm, params.xao / norm),
        scale=tuple(scale * float(f) for f in factors),  # type: ignore[arg-type]
        model_offset=_wcs_offset(model),
        notes=notes,
    )


def _operation_name(model: ifcopenshell.file) -> str:
    operations = model.by_type("IfcCoordinateOperation")
    return str(operations[0].is_a()) if operations else "IfcMapConversion"


def _effective_scale(model: ifcopenshell.file, given: float, notes: list[str]) -> float:
    """The scale from metres (iterator output) to map metres, read from IfcMapConversion.Scale.

    The attribute converts project length units to map units. The iterator already gives
    metres, so a Scale that only converts units (or the inverse of that, a common mistake)
    becomes 1.
    """
    unit = float(ifcopenshell.util.unit.calculate_unit_scale(model))
    if math.isclose(given, 1.0) or math.isclose(given, unit, rel_tol=1e-6):
        return 1.0
    if unit != 1.0 and math.isclose(given, 1.0 / unit, rel_tol=1e-6):
        notes.append(f"Scale {given:g} looks inverted for project unit {unit:g} m; used 1")
        return 1.0
    return given / unit


def _wcs_offset(model: ifcopenshell.file) -> tuple[float, float, float]:
    wcs = geolocation.get_wcs(model)
    if wcs is None:
        return (0.0, 0.0, 0.0)
    unit = float(ifcopenshell.util.unit.calculate_unit_scale(model))
    x, y, z = (float(v) * unit for v in wcs[:3, 3])
    return (x, y, z)


def _site_location(model: ifcopenshell.file) -> Georeference | None:
    for site in model.by_type("IfcSite"):
        lat, lon = site.RefLatitude, site.RefLongitude
        if not lat or not lon:
            continue
        latitude, longitude = _compound_angle(lat), _compound_angle(lon)
        height = float(site.RefElevation or 0.0)
        unit = float(ifcopenshell.util.unit.calculate_unit_scale(model))
        offset = (0.0, 0.0, 0.0)
        if site.ObjectPlacement is not None:
            matrix = ifcopenshell.util.placement.get_local_placement(site.ObjectPlacement)
            offset = tuple(float(v) * unit for v in matrix[:3, 3])  # type: ignore[assignment]
        north = math.radians(float(geolocation.get_true_north(model) or 0.0))
        return Georeference(
            method="IfcSite RefLatitude/RefLongitude",
            crs="EPSG:4979",
            origin=(longitude, latitude, height * unit),
            x_axis=(math.cos(north), -math.sin(north)),
            model_offset=offset,
            notes=[f"true north {math.degrees(north):.3f} deg from the model's +Y"],
        )
    return None


def _compound_angle(value: Any) -> float:
    parts = [int(v) for v in value] + [0] * (4 - len(value))
    sign = -1.0 if any(p < 0 for p in parts) else 1.0
    degrees, minutes, seconds, micro = (abs(p) for p in parts[:4])
    return sign * (degrees + minutes / 60 + (seconds + micro / 1e6) / 3600)
