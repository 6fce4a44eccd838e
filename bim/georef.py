"""Placing an IFC model on the map: which georeference a file carries, and using it.

Sources, in order: a user-given origin (an explicit override), IfcMapConversion (or the
IFC2X3 ``ePSet_MapConversion`` / ``ePSet_ProjectedCRS`` convention, read here from
IfcProject or IfcSite in any capitalisation, since ``ifcopenshell.util.geolocation`` only
looks at IfcProject), then IfcSite RefLatitude/RefLongitude/RefElevation. A compound CRS
(projected + height) places the model by its horizontal part. Every number read is
checked (finite, positive scale) before anything is written. Points come from the
geometry iterator in metres in the model's world coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import ifcopenshell
import ifcopenshell.util.element
import ifcopenshell.util.geolocation as geolocation
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np

from bim.errors import GeoreferenceError
from bim.reader import has_attribute
from cim.crs import (
    FloatArray,
    area_name,
    check_origin,
    enu_rotation,
    horizontal_crs,
    in_area_of_use,
    parse_crs,
    to_lonlat,
    transform_arrays,
    transformer,
)
from cim.errors import CrsError

_UNSET_AXIS = (1.0, 0.0)
SITE_METHOD = "IfcSite RefLatitude/RefLongitude"
# IfcMapConversion(Scaled) attributes; the IFC2X3 property set has the first six.
_CONVERSION_ATTRIBUTES = (
    "Eastings", "Northings", "OrthogonalHeight", "XAxisAbscissa", "XAxisOrdinate", "Scale",
    "FactorX", "FactorY", "FactorZ",
)  # fmt: skip


@dataclass(frozen=True)
class UserOrigin:
    """A user's placement: the model origin at ``origin`` in ``crs``, its axes turned.

    ``rotation_deg`` turns the model's +X axis counter-clockwise from the grid's east
    (as IfcMapConversion's XAxisAbscissa/XAxisOrdinate do); 0 keeps the axes along the grid.
    """

    crs: str
    origin: tuple[float, float, float]
    rotation_deg: float = 0.0


@dataclass
class Georeference:
    """How model coordinates (metres) reach map coordinates.

    Attributes
    ----------
    method:
        ``IfcMapConversion`` (or ``IfcMapConversionScaled``, ``IfcRigidOperation``), the
        IFC2X3 property set as the file spells it and where it sits (``EPset_MapConversion
        on IfcSite``), ``IfcSite RefLatitude/RefLongitude`` or ``user origin``.
    crs:
        The CRS of the map coordinates: the horizontal part of a compound CRS (for the
        site method: geodetic EPSG:4979).
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
        if self.method == SITE_METHOD:
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
    """Choose the georeference of ``model``: the user's, the map conversion, then the site.

    Raises
    ------
    GeoreferenceError
        When the file carries no georeference, or an unusable one (a value that is not a
        finite number, a scale that is not positive, an unknown CRS) and no user origin.
    OriginError
        When the user's origin is not finite or lies outside its CRS's area of use.
    """
    if user is not None:
        return _user_georeference(model, user)
    try:
        found = _map_conversion(model) or _site_location(model)
    except GeoreferenceError as exc:
        raise GeoreferenceError(
            f"{exc}: fix the file, or give --origin E,N[,H] to place the model yourself"
        ) from exc
    if found is None:
        raise GeoreferenceError(
            "the model has no georeference (no IfcMapConversion, no ePSet_MapConversion, no"
            " IfcSite RefLatitude/RefLongitude): give --origin E,N[,H] (the origin field of an"
            " upload; and --crs if the"
            " origin is not in the city's CRS)"
        )
    return found


def _user_georeference(model: ifcopenshell.file, user: UserOrigin) -> Georeference:
    origin = check_origin(user.origin, user.crs)
    rotation = float(user.rotation_deg)
    if not math.isfinite(rotation):
        raise GeoreferenceError(f"rotation {user.rotation_deg!r} is not a finite number of degrees")
    notes = _compound_notes(user.crs)
    try:
        found = _map_conversion(model) or _site_location(model)
    except GeoreferenceError as exc:
        notes.append(f"overrides the file's unusable georeference ({exc})")
    else:
        notes += [f"overrides {found.method} found in the file"] if found else []
    angle = math.radians(rotation % 360.0)
    return Georeference(
        "user origin", horizontal_crs(user.crs), origin, (math.cos(angle), math.sin(angle)),
        notes=notes,
    )  # fmt: skip


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


@dataclass(frozen=True)
class _Conversion:
    """A map conversion as written in the file, before it is checked.

    ``values`` maps IfcMapConversion attribute names (Eastings, Northings,
    OrthogonalHeight, XAxisAbscissa, XAxisOrdinate, Scale, FactorX/Y/Z) to what the file
    holds for them (None when absent).
    """

    method: str
    crs_name: str
    values: dict[str, Any]


def _map_conversion(model: ifcopenshell.file) -> Georeference | None:
    written = _entity_conversion(model) or _pset_conversion(model)
    if written is None:
        return None
    method, values = written.method, written.values
    number = partial(_finite, method, values)
    easting, northing = number("Eastings"), number("Northings")
    height = number("OrthogonalHeight", 0.0)
    xaa, xao = number("XAxisAbscissa", 0.0), number("XAxisOrdinate", 0.0)
    scale = _positive(method, "Scale", number("Scale", 1.0))
    factors = [_positive(method, f"Factor{a}", number(f"Factor{a}", 1.0)) for a in "XYZ"]
    crs, notes = _conversion_crs(method, written.crs_name)
    lon, lat = to_lonlat(easting, northing, crs)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeoreferenceError(
            f"{method}: Eastings {easting:g}, Northings {northing:g} lie nowhere in {crs}"
        )
    if not in_area_of_use(crs, lon, lat):
        notes.append(
            f"{method} puts the model at lon {lon:.4f}, lat {lat:.4f}, outside the area of use"
            f" of its CRS {crs} ({area_name(crs)})"
        )
    if (xaa, xao) == (0.0, 0.0):
        xaa = 1.0
    norm = math.hypot(xaa, xao)
    scale = _effective_scale(model, scale, notes)
    return Georeference(
        method=method,
        crs=crs,
        origin=(easting, northing, height),
        x_axis=(xaa / norm, xao / norm),
        scale=(scale * factors[0], scale * factors[1], scale * factors[2]),
        model_offset=_wcs_offset(model),
        notes=notes,
    )


def _finite(method: str, values: dict[str, Any], name: str, default: float | None = None) -> float:
    """``values[name]`` as a finite float, ``default`` when absent (required when None)."""
    value = values.get(name)
    if value is None:
        if default is None:
            raise GeoreferenceError(f"{method} has no {name}")
        return default
    try:
        number = float(getattr(value, "wrappedValue", value))
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise GeoreferenceError(f"{method}: {name} is {value!r}, not a finite number")
    return number


def _positive(method: str, name: str, value: float) -> float:
    if value <= 0:
        raise GeoreferenceError(f"{method}: {name} is {value:g}; it must be positive")
    return value


def _conversion_crs(method: str, name: str) -> tuple[str, list[str]]:
    """The map conversion's CRS as text (its horizontal part), and notes on how it was read."""
    name = name.strip()
    if not name:
        raise GeoreferenceError(
            f"{method} names no target CRS (IfcProjectedCRS.Name or ePSet_ProjectedCRS.Name)"
        )
    text = f"EPSG:{name}" if name.isdigit() else name
    try:
        parse_crs(text)
    except CrsError as exc:
        raise GeoreferenceError(f"the model's projected CRS {name!r} is unknown") from exc
    return horizontal_crs(text), _compound_notes(text)


def _compound_notes(text: str) -> list[str]:
    horizontal = horizontal_crs(text)
    if horizontal == text:
        return []
    crs = parse_crs(text)
    vertical = ", ".join(part.name for part in crs.sub_crs_list[1:])
    return [
        f"{text} is a compound CRS ({crs.name}): its horizontal part {horizontal}"
        f" ({parse_crs(horizontal).name}) places the model; heights are kept as written"
        f" ({vertical})"
    ]


def _entity_conversion(model: ifcopenshell.file) -> _Conversion | None:
    """IfcMapConversion (or IfcMapConversionScaled, IfcRigidOperation) and its target CRS."""
    if model.schema == "IFC2X3":
        return None
    operations = model.by_type("IfcCoordinateOperation")
    if not operations:
        return None
    operation = operations[0]
    target = operation.TargetCRS
    crs_name = str(getattr(target, "Name", "") or "")
    if operation.is_a("IfcRigidOperation"):
        values = {
            "Eastings": operation.FirstCoordinate,
            "Northings": operation.SecondCoordinate,
            "OrthogonalHeight": operation.Height,
        }
    else:
        names = [n for n in _CONVERSION_ATTRIBUTES if has_attribute(operation, n)]
        values = {n: getattr(operation, n) for n in names}
    return _Conversion(str(operation.is_a()), crs_name, values)


def _pset_conversion(model: ifcopenshell.file) -> _Conversion | None:
    """The IFC2X3 convention: ``ePSet_MapConversion`` and ``ePSet_ProjectedCRS`` property sets.

    The buildingSMART guide puts them on IfcProject; several exporters put them on IfcSite
    and spell the prefix ``EPset_`` or ``ePset_``: any case, on either, the project first.
    """
    conversion = _property_set(model, "ePSet_MapConversion")
    if conversion is None:
        return None
    where, properties = conversion
    keys = {key.casefold(): key for key in properties}
    values = {n: properties.get(keys.get(n.casefold(), n)) for n in _CONVERSION_ATTRIBUTES[:6]}
    crs = _property_set(model, "ePSet_ProjectedCRS")
    crs_name = ""
    if crs is not None:
        crs_keys = {key.casefold(): key for key in crs[1]}
        crs_name = str(crs[1].get(crs_keys.get("name", "Name")) or "").strip()
    return _Conversion(where, crs_name, values)


def _property_set(model: ifcopenshell.file, name: str) -> tuple[str, dict[str, Any]] | None:
    """The first property set named ``name`` in any case, on IfcProject, then on an IfcSite.

    Returns where it was found (``<set name> on <class>``) and its properties.
    """
    for holder in (*model.by_type("IfcProject"), *model.by_type("IfcSite")):
        psets = ifcopenshell.util.element.get_psets(holder, psets_only=True)
        for pset_name, properties in psets.items():
            if pset_name.casefold() == name.casefold():
                return f"{pset_name} on {holder.is_a()}", properties
    return None


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
        if not (abs(latitude) <= 90 and abs(longitude) <= 180 and math.isfinite(height)):
            raise GeoreferenceError(
                f"{SITE_METHOD}: latitude {latitude:g}, longitude {longitude:g}, elevation"
                f" {height:g} is no place on Earth"
            )
        unit = float(ifcopenshell.util.unit.calculate_unit_scale(model))
        offset = (0.0, 0.0, 0.0)
        if site.ObjectPlacement is not None:
            matrix = ifcopenshell.util.placement.get_local_placement(site.ObjectPlacement)
            offset = tuple(float(v) * unit for v in matrix[:3, 3])  # type: ignore[assignment]
        north = math.radians(float(geolocation.get_true_north(model) or 0.0))
        return Georeference(
            method=SITE_METHOD,
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
