"""The geo functions of ``$filter``: ``geo.intersects``, ``geo.distance``, ``geo.length`` and
SensorThings' ``st_*`` predicates, on GeoJSON columns and ``geography'...'`` literals.

PostgreSQL computes them with PostGIS (``ST_GeomFromGeoJSON`` of the column,
``ST_GeomFromText(wkt, 4326)`` of the literal). SQLite has no spatial functions here (the
Python build cannot load SpatiaLite), so :func:`register_sqlite_functions` gives each of
its connections a few Python functions over shapely (``sta_geo``, ``sta_relate``,
``sta_distance``, ``sta_length``). On both, a predicate between a geometry column that has
its bounding box (``lon_min`` .. ``lat_max``) and a literal first compares the boxes in
plain SQL, so the exact test runs only on the rows whose boxes meet.

Distances and lengths are planar, in degrees of the CRS84 coordinates, as FROST-Server
computes them (``ST_Distance`` of geometries, not geographies): ``geo.distance(location,
geography'POINT(113.3 23.1)') lt 0.01`` means "within 0.01 degree".
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.errors import SensorInputError
from simulation.sensors.odata.values import Value

# SensorThings' name (and OData's) -> the predicate's name in shapely and PostGIS (ST_...)
PREDICATES = {
    "geo.intersects": "intersects",
    "st_intersects": "intersects",
    "st_equals": "equals",
    "st_disjoint": "disjoint",
    "st_touches": "touches",
    "st_within": "within",
    "st_overlaps": "overlaps",
    "st_crosses": "crosses",
    "st_contains": "contains",
}
_POSTGIS = {
    "intersects": "ST_Intersects",
    "equals": "ST_Equals",
    "disjoint": "ST_Disjoint",
    "touches": "ST_Touches",
    "within": "ST_Within",
    "overlaps": "ST_Overlaps",
    "crosses": "ST_Crosses",
    "contains": "ST_Contains",
}
_REGISTERED = "cimtwin_sta_functions"


@dataclass(frozen=True)
class Geometry:
    """A geometry operand: a GeoJSON column with, when the table has them, its bbox columns;
    or a literal (its shapely geometry)."""

    column: ColumnElement[Any] | None = None
    bbox: tuple[Any, Any, Any, Any] | None = None
    shape: Any = None


@dataclass(frozen=True)
class Nearness:
    """A distance between a column with a bbox and a literal: lets ``lt d`` test boxes first."""

    bbox: tuple[Any, Any, Any, Any]
    bounds: tuple[float, float, float, float]


def column_geometry(entity: Any, column: ColumnElement[Any], text: str) -> Geometry:
    """The geometry in ``column`` of ``entity`` (a model or an alias of one)."""
    if hasattr(entity, "lon_min"):
        bbox = (entity.lon_min, entity.lat_min, entity.lon_max, entity.lat_max)
        return Geometry(column=column, bbox=bbox)
    return Geometry(column=column)


def literal_geometry(wkt: str, text: str) -> Value:
    """A ``geography'POINT(1 2)'`` literal (WKT in CRS84; an ``SRID=4326;`` prefix allowed)."""
    body = wkt.strip()
    if body.upper().startswith("SRID="):
        srid, _, body = body.partition(";")
        if srid.strip().upper() not in ("SRID=4326", "SRID=4979", "SRID=CRS84"):
            raise SensorInputError(f"{text}: only WGS 84 longitude/latitude (SRID=4326) is known")
    try:
        shape = shapely.from_wkt(body)
    except shapely.errors.GEOSException as exc:
        raise SensorInputError(f"{text} is not a WKT geometry: {exc}") from None
    if shape is None or shape.is_empty:
        raise SensorInputError(f"{text} is an empty geometry")
    normal = shape.wkt
    return Value(
        "geometry",
        sa.literal(normal, sa.Text),
        text,
        geometry=Geometry(shape=shape),
        literal=normal,
        is_literal=True,
    )


def _sql(value: Value, dialect: str) -> ColumnElement[Any]:
    geometry: Geometry = value.geometry
    if dialect == "sqlite":
        return value.expr
    if geometry.shape is not None:
        return sa.func.ST_GeomFromText(value.expr, 4326)
    assert geometry.column is not None
    plain = sa.func.coalesce(
        geometry.column.op("->", return_type=sa.JSON)("geometry"), geometry.column
    )
    # a column holding JSON null (no geometry) gives SQL NULL, not a PostGIS error
    return sa.func.ST_GeomFromGeoJSON(sa.func.nullif(sa.cast(plain, sa.Text), "null"))


def _boxes_meet(first: Geometry, second: Geometry) -> ColumnElement[bool] | None:
    """The bbox test of a column against a literal, or None when it cannot be made."""
    column, other = (first, second) if first.bbox is not None else (second, first)
    if column.bbox is None or other.shape is None:
        return None
    lon_min, lat_min, lon_max, lat_max = column.bbox
    min_x, min_y, max_x, max_y = other.shape.bounds
    return sa.and_(lon_min <= max_x, lon_max >= min_x, lat_min <= max_y, lat_max >= min_y)


def predicate(
    name: str, first: Value, second: Value, dialect: str, pattern: str | None = None
) -> ColumnElement[bool]:
    """The spatial predicate ``name`` (``st_within``...; ``st_relate`` with its DE-9IM
    ``pattern``) between two geometries, its bbox prefilter first where it has one."""
    if pattern is not None:
        if dialect == "sqlite":
            exact = sa.func.sta_relate(first.expr, second.expr, pattern) == 1
        else:
            exact = sa.func.ST_Relate(_sql(first, dialect), _sql(second, dialect), pattern)
        return exact
    operation = PREDICATES[name]
    if dialect == "sqlite":
        exact = sa.func.sta_geo(operation, first.expr, second.expr) == 1
    else:
        exact = getattr(sa.func, _POSTGIS[operation])(_sql(first, dialect), _sql(second, dialect))
    if operation == "disjoint":
        return exact
    boxes = _boxes_meet(first.geometry, second.geometry)
    return exact if boxes is None else sa.and_(boxes, exact)


def distance(first: Value, second: Value, dialect: str, text: str) -> Value:
    """``geo.distance``: planar, in degrees."""
    if dialect == "sqlite":
        expr = sa.func.sta_distance(first.expr, second.expr)
    else:
        expr = sa.func.ST_Distance(_sql(first, dialect), _sql(second, dialect))
    near = None
    a, b = first.geometry, second.geometry
    column, other = (a, b) if a.bbox is not None else (b, a)
    if column.bbox is not None and other.shape is not None:
        near = Nearness(column.bbox, other.shape.bounds)
    return Value("number", sa.type_coerce(expr, sa.Float), text, geometry=near)


def length(value: Value, dialect: str, text: str) -> Value:
    """``geo.length``: planar, in degrees (a polygon's is its perimeter, a point's 0)."""
    expr: ColumnElement[Any]
    if dialect == "sqlite":
        expr = sa.func.sta_length(value.expr)
    else:
        shape = _sql(value, dialect)  # PostGIS: length of lines, perimeter of areas
        expr = sa.func.ST_Length(shape) + sa.func.ST_Perimeter(shape)
    return Value("number", sa.type_coerce(expr, sa.Float), text)


def nearness_prefilter(near: Nearness, limit: float) -> ColumnElement[bool]:
    """Rows whose box comes within ``limit`` degrees of the literal's box (a distance test
    ``lt``/``le limit`` can only hold for them)."""
    lon_min, lat_min, lon_max, lat_max = near.bbox
    min_x, min_y, max_x, max_y = near.bounds
    return sa.and_(
        lon_min <= max_x + limit,
        lon_max >= min_x - limit,
        lat_min <= max_y + limit,
        lat_max >= min_y - limit,
    )


# --- SQLite: the functions over shapely ------------------------------------------------


@lru_cache(maxsize=8192)
def _shape(text: str) -> Any:
    """The geometry of a GeoJSON text (geometry or Feature) or WKT, None when unreadable."""
    try:
        stripped = text.lstrip()
        if stripped.startswith("{"):
            data = json.loads(stripped)
            if isinstance(data, dict) and data.get("type") == "Feature":
                data = data.get("geometry")
            return shapely.geometry.shape(data) if data else None
        return shapely.from_wkt(stripped)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
        return None


def _pair(first: Any, second: Any) -> tuple[Any, Any] | None:
    if not isinstance(first, str) or not isinstance(second, str):
        return None
    a, b = _shape(first), _shape(second)
    return None if a is None or b is None else (a, b)


def _sta_geo(operation: Any, first: Any, second: Any) -> int | None:
    pair = _pair(first, second)
    if pair is None or operation not in _POSTGIS:
        return None
    return int(bool(getattr(shapely, operation)(*pair)))


def _sta_relate(first: Any, second: Any, pattern: Any) -> int | None:
    pair = _pair(first, second)
    if pair is None or not isinstance(pattern, str):
        return None
    try:
        return int(bool(shapely.relate_pattern(*pair, pattern)))
    except shapely.errors.GEOSException:
        return None


def _sta_distance(first: Any, second: Any) -> float | None:
    pair = _pair(first, second)
    return None if pair is None else float(shapely.distance(*pair))


def _sta_length(value: Any) -> float | None:
    shape = _shape(value) if isinstance(value, str) else None
    return None if shape is None else float(shapely.length(shape))


def _add_functions(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.create_function("sta_geo", 3, _sta_geo, deterministic=True)
    dbapi_connection.create_function("sta_relate", 3, _sta_relate, deterministic=True)
    dbapi_connection.create_function("sta_distance", 2, _sta_distance, deterministic=True)
    dbapi_connection.create_function("sta_length", 1, _sta_length, deterministic=True)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        _add_functions(dbapi_connection)
        record.info[_REGISTERED] = True


def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # connections made before the listener was installed (the migration's) get them here
    if not record.info.get(_REGISTERED):
        _on_connect(dbapi_connection, record)


def register_sqlite_functions(engine: Engine) -> None:
    """Give every connection of ``engine`` (SQLite only) the geo functions of ``$filter``.

    Idempotent: a second call adds nothing. Cheap: a flag per pooled connection.
    """
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _on_connect):
        event.listen(engine, "connect", _on_connect)
    if not event.contains(engine, "checkout", _on_checkout):
        event.listen(engine, "checkout", _on_checkout)
