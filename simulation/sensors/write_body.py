"""A SensorThings request body checked against the entity model: its properties as column
values, its navigation properties as references or inline entities.

Everything wrong with a body is said at once where it can be (unknown names, missing
required properties), naming the entity type and the property, so a client fixes its
request in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import shape

from simulation.sensors.entities import EntityType, Field
from simulation.sensors.errors import SensorInputError
from simulation.sensors.parse import entity_id
from simulation.sensors.times import parse_interval, parse_time

# The property of an entity's ``properties`` naming the city object it sits in (the same
# name as ``api.sta.linking.CITY_OBJECT_PROPERTY``; the domain does not import the API).
CITY_OBJECT_PROPERTY = "cityObject"
# Longest text each bounded column holds.
TEXT_LIMITS = {"name": 255, "encoding_type": 100, "observation_type": 200}
CITY_OBJECT_LIMIT = 64
GEOJSON_ENCODINGS = ("application/geo+json", "application/vnd.geo+json")
ID_KEY = "@iot.id"


@dataclass
class Body:
    """One entity of a request: column values, and its navigation properties as given."""

    etype: EntityType
    columns: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)  # property names present in the request

    @property
    def city_object(self) -> str | None:
        """The city object named in ``properties.cityObject``, if any."""
        properties = self.columns.get("properties")
        if not isinstance(properties, dict):
            return None
        named = properties.get(CITY_OBJECT_PROPERTY)
        if named is None:
            return None
        if not isinstance(named, str) or not named.strip() or len(named) > CITY_OBJECT_LIMIT:
            raise SensorInputError(
                f"{self.etype.name} properties.{CITY_OBJECT_PROPERTY} must be the id of a city"
                f" object (text of 1 to {CITY_OBJECT_LIMIT} characters), not {named!r}"
            )
        return named


def reference_id(value: Any) -> int | None:
    """The id of ``{"@iot.id": n}`` (a link to an existing entity), None for anything else.

    A client may send the whole entity it read with its id; the id alone decides."""
    if not isinstance(value, dict) or ID_KEY not in value:
        return None
    return entity_id(value[ID_KEY], "the linked entity's")


def read_body(etype: EntityType, data: Any, *, complete: bool) -> Body:
    """``data`` (a JSON object) as the values of an ``etype``.

    ``complete``: every required property must be there (a new entity, a PUT). Keys with
    ``@iot.`` (ids, links a client read) and the properties the server derives are skipped.
    """
    if not isinstance(data, dict):
        raise SensorInputError(f"a {etype.name} must be a JSON object, not {_kind(data)}")
    body = Body(etype)
    unknown = []
    for key, value in data.items():
        if not isinstance(key, str) or "@iot." in key:
            continue
        found = next((f for f in etype.fields if f.name == key), None)
        if found is not None:
            body.given.add(key)
            if not found.derived:
                body.columns.update(_column_values(etype, found, value))
        elif etype.has_link(key):
            body.given.add(key)
            body.links[key] = value
        else:
            unknown.append(key)
    if unknown:
        known = ", ".join([*(f.name for f in etype.fields), *(link.name for link in etype.links)])
        raise SensorInputError(
            f"{etype.name} has no propert{'y' if len(unknown) == 1 else 'ies'}"
            f" {', '.join(map(repr, unknown))} (it has {known})"
        )
    if complete:
        require(body, _placed_by_city_object(body))
    return body


def require(body: Body, excused: frozenset[str] = frozenset()) -> None:
    """Refuse ``body`` when required properties are missing (``excused``: filled in by the
    server, such as a location taken from a city object)."""
    missing = [
        f.name
        for f in body.etype.fields
        if f.required and f.name not in body.given and f.name not in excused
    ]
    if missing:
        raise SensorInputError(
            f"a {body.etype.name} needs {', '.join(missing)} (missing from the request)"
        )


def _placed_by_city_object(body: Body) -> frozenset[str]:
    """The geometry and its encoding of a Location or FeatureOfInterest that names a city
    object come from that object when the request leaves them out."""
    if body.etype.name in ("Location", "FeatureOfInterest") and body.city_object is not None:
        return frozenset({"location", "feature", "encodingType"})
    return frozenset()


def links_as_list(etype: EntityType, name: str, value: Any) -> list[Any]:
    """The entities of a to-many navigation property (a JSON array of objects)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SensorInputError(f"{etype.name} {name} must be an array of objects")
    return value


def link_as_object(etype: EntityType, name: str, value: Any) -> dict[str, Any]:
    """The entity of a to-one navigation property (a JSON object)."""
    if not isinstance(value, dict):
        raise SensorInputError(f"{etype.name} {name} must be an object, not {_kind(value)}")
    return value


def _column_values(etype: EntityType, spec: Field, value: Any) -> dict[str, Any]:
    """The columns of one property (an interval fills two, a geometry five)."""
    where = f"{etype.name} {spec.name}"
    if spec.kind == "text":
        if not isinstance(value, str):
            raise SensorInputError(f"{where} must be text, not {_kind(value)}")
        limit = TEXT_LIMITS.get(spec.column)
        if limit is not None and len(value) > limit:
            raise SensorInputError(f"{where} is longer than {limit} characters")
        return {spec.column: value}
    if spec.kind == "json":
        return {spec.column: _json_value(where, spec, value)}
    if spec.kind == "time":
        if value is None and not spec.required:
            return {spec.column: None}
        return {spec.column: parse_time(value)}
    if spec.kind == "interval":
        assert spec.end_column is not None
        if value is None and not spec.required:
            return {spec.column: None, spec.end_column: None}
        start, end = parse_interval(value)
        return {spec.column: start, spec.end_column: end}
    if spec.kind == "geometry":
        return geometry_columns(where, spec.column, value)
    return {"result": value}  # an observation's result: split into columns by the ingest


def _json_value(where: str, spec: Field, value: Any) -> Any:
    if spec.name in ("properties", "parameters", "unitOfMeasurement"):
        if value is None and not spec.required:
            return None
        if not isinstance(value, dict):
            raise SensorInputError(f"{where} must be a JSON object, not {_kind(value)}")
    _check_finite(where, value)
    return value


def _check_finite(where: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise SensorInputError(f"{where} holds {value}, which JSON cannot carry")
    if isinstance(value, dict):
        for item in value.values():
            _check_finite(where, item)
    elif isinstance(value, list):
        for item in value:
            _check_finite(where, item)


def geometry_columns(where: str, column: str, value: Any) -> dict[str, Any]:
    """A GeoJSON geometry (or Feature) in CRS84 and its bounding box columns."""
    feature = isinstance(value, dict) and value.get("type") == "Feature"
    geometry = value.get("geometry") if feature else value
    if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
        raise SensorInputError(f"{where} must be a GeoJSON geometry, not {_kind(value)}")
    try:
        parsed = shape(geometry)
    except Exception as exc:  # shapely raises several kinds for malformed GeoJSON
        raise SensorInputError(f"{where} is not a valid GeoJSON geometry: {exc}") from None
    if parsed.is_empty:
        raise SensorInputError(f"{where} is an empty geometry")
    lon_min, lat_min, lon_max, lat_max = shapely.bounds(parsed).tolist()
    box = (lon_min, lat_min, lon_max, lat_max)
    if not all(math.isfinite(v) for v in box):
        raise SensorInputError(f"{where} has coordinates that are not finite numbers")
    if not (-180 <= lon_min <= lon_max <= 180 and -90 <= lat_min <= lat_max <= 90):
        raise SensorInputError(
            f"{where} lies outside longitude -180..180, latitude -90..90 (GeoJSON is CRS84:"
            " longitude first)"
        )
    return {
        column: value,
        "lon_min": lon_min,
        "lat_min": lat_min,
        "lon_max": lon_max,
        "lat_max": lat_max,
    }


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "text", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )
