"""Typed SQL values of a ``$filter`` expression, and the conversions between their types.

Each operand of the expression becomes a :class:`Value`: an SQL expression and what it
holds (a number, a text, a time in microseconds...). A JSON property (``properties/floor``)
or an observation's ``result`` takes the type of what it is compared with, by a typed read
that yields NULL for values of another type (so ``properties/floor gt 3`` never matches a
text), the same on SQLite (``json_type``) and PostgreSQL (``json_typeof``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.errors import SensorInputError

# number: int or float; text; bool; time: microseconds since the epoch (``end``: an
# interval's end); duration: microseconds; timeofday: microseconds since midnight UTC;
# geometry: see :mod:`simulation.sensors.odata.geo`; json: a JSON document or a part of it;
# result: an observation's result (number, text or JSON); null: the literal null.
ValueType = Literal[
    "number", "text", "bool", "time", "duration", "timeofday", "geometry", "json", "result", "null"
]
DIALECTS = ("sqlite", "postgresql")

_TYPE_NAMES = {
    "number": "a number",
    "text": "a text",
    "bool": "a boolean",
    "time": "a time",
    "duration": "a duration",
    "timeofday": "a time of day",
    "geometry": "a geometry",
    "json": "a JSON value",
    "result": "a result",
    "null": "null",
}


def type_name(value_type: ValueType) -> str:
    """``a number``: a type as the error messages name it."""
    return _TYPE_NAMES[value_type]


@dataclass(frozen=True)
class JsonRef:
    """A JSON column and a path of keys into it (``()``: the whole document)."""

    column: ColumnElement[Any]
    path: tuple[str, ...]


@dataclass(frozen=True)
class Value:
    """One typed operand.

    ``expr`` is the SQL expression (a time interval's start); ``end`` an interval's end;
    ``json`` what a JSON value reads; ``result`` the entity whose result this is;
    ``geometry`` a geometry operand; ``literal`` the Python value of a literal.
    """

    type: ValueType
    expr: ColumnElement[Any]
    text: str
    end: ColumnElement[Any] | None = None
    json: JsonRef | None = None
    result: Any = None
    geometry: Any = None
    literal: Any = None
    is_literal: bool = False


def literal_value(value_type: ValueType, python: Any, text: str) -> Value:
    """A literal operand (bound as a parameter)."""
    sql_type: Any = {
        "number": sa.Integer() if isinstance(python, int) else sa.Float(),
        "text": sa.Text(),
        "bool": sa.Boolean(),
        "time": sa.BigInteger(),
        "duration": sa.BigInteger(),
        "timeofday": sa.BigInteger(),
    }.get(value_type, sa.types.NullType())
    expr = sa.null() if python is None else sa.literal(python, sql_type)
    return Value(value_type, expr, text, literal=python, is_literal=True)


def json_read(ref: JsonRef, wanted: ValueType | None, dialect: str) -> ColumnElement[Any]:
    """The SQL reading ``ref`` as ``wanted`` (number, text or bool: NULL for other JSON
    types), or its natural SQL value (``None``: SQLite's own, PostgreSQL's text)."""
    if dialect == "sqlite":
        path = "$" + "".join(f'."{key}"' for key in ref.path)
        extracted = sa.func.json_extract(ref.column, path)
        kind = sa.func.json_type(ref.column, path)
        if wanted == "number":
            return sa.case((kind.in_(["integer", "real"]), extracted), else_=sa.null()).cast(
                sa.Float
            )
        if wanted == "text":
            return sa.case((kind == "text", extracted), else_=sa.null()).cast(sa.Text)
        if wanted == "bool":
            return sa.type_coerce(
                sa.case((kind == "true", 1), (kind == "false", 0), else_=sa.null()), sa.Boolean
            )
        return extracted
    keys = sa.literal(list(ref.path), ARRAY(sa.Text))
    node = ref.column.op("#>", return_type=sa.JSON)(keys)
    as_text = ref.column.op("#>>", return_type=sa.Text)(keys)
    pg_kind = sa.func.json_typeof(node)
    if wanted == "number":
        return sa.case((pg_kind == "number", sa.cast(as_text, sa.Float)), else_=sa.null())
    if wanted == "text":
        return sa.case((pg_kind == "string", as_text), else_=sa.null())
    if wanted == "bool":
        return sa.case((pg_kind == "boolean", sa.cast(as_text, sa.Boolean)), else_=sa.null())
    return as_text


def coerce(value: Value, wanted: ValueType, dialect: str, where: str) -> Value:
    """``value`` as a ``wanted`` value, or a 400 naming ``where`` the mismatch happened."""
    if value.type == wanted or value.type == "null":
        return value
    readable = ("number", "text", "bool")
    if value.type in ("json", "result") and wanted not in readable:
        raise SensorInputError(
            f"{where}: {value.text} is {type_name(value.type)}, compared with numbers, texts "
            f"and booleans only, not with {type_name(wanted)}"
        )
    if value.type == "json" and value.json is not None and wanted in readable:
        return replace(value, type=wanted, expr=json_read(value.json, wanted, dialect))
    if value.type == "result":
        entity = value.result
        if wanted == "number":
            return replace(value, type="number", expr=entity.result_number)
        if wanted == "text":
            return replace(value, type="text", expr=entity.result_text)
        ref = JsonRef(entity.result_json, ())
        return replace(value, type="bool", expr=json_read(ref, "bool", dialect), json=ref)
    if value.type == "text" and value.is_literal and wanted == "time":
        from simulation.sensors.times import parse_time

        moment = parse_time(value.literal)
        return literal_value("time", moment, value.text)
    raise SensorInputError(
        f"{where}: {value.text} is {type_name(value.type)}, not {type_name(wanted)}"
    )


def natural(value: Value, dialect: str) -> ColumnElement[Any]:
    """The SQL of ``value`` when no other operand gives it a type (ordering, ``eq`` between
    two JSON values)."""
    if value.type == "json" and value.json is not None:
        return json_read(value.json, None, dialect)
    return value.expr


def as_condition(value: Value, dialect: str, where: str) -> ColumnElement[bool]:
    """A boolean value as a WHERE condition (SQL's logic: ``not`` of an unknown is unknown,
    so ``not (result gt 2)`` leaves out the results that are not numbers)."""
    boolean = coerce(value, "bool", dialect, where)
    if boolean.is_literal:
        return sa.true() if boolean.literal else sa.false()
    return boolean.expr
