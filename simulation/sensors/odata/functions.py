"""The string, date/time and math functions of ``$filter``, as SQL on SQLite and PostgreSQL.

Times are integer microseconds since the epoch (UTC), so hour, minute, second, fractional
seconds, ``date`` and ``time`` are integer arithmetic, the same SQL on both databases;
``year``, ``month`` and ``day`` need the calendar: ``strftime`` over ``'unixepoch'`` on
SQLite, ``extract`` from ``to_timestamp`` at UTC on PostgreSQL. Every time is UTC, so
``totaloffsetminutes`` is 0. String positions are 0-based as in OData (``indexof``,
``substring``), ``indexof`` is -1 when not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.odata.values import Value, ValueType, coerce, literal_value
from simulation.sensors.times import parse_time

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
MIN_TIME_US = parse_time("0001-01-01T00:00:00Z")
MAX_TIME_US = parse_time("9999-12-31T23:59:59.999999Z")


@dataclass(frozen=True)
class Call:
    """A function call being translated: its name, arguments, dialect and text."""

    name: str
    args: list[Value]
    dialect: str
    text: str

    def arg(self, index: int, wanted: ValueType) -> Value:
        """Argument ``index`` as a ``wanted`` value (400 otherwise)."""
        where = f"argument {index + 1} of {self.name}"
        return coerce(self.args[index], wanted, self.dialect, where)

    def sql(self, index: int, wanted: ValueType) -> ColumnElement[Any]:
        """The SQL of argument ``index`` as a ``wanted`` value."""
        return self.arg(index, wanted).expr


def _text(call: Call, expr: ColumnElement[Any]) -> Value:
    return Value("text", sa.type_coerce(expr, sa.Text), call.text)


def _number(call: Call, expr: ColumnElement[Any]) -> Value:
    return Value("number", expr, call.text)


def _bool(call: Call, expr: ColumnElement[Any]) -> Value:
    return Value("bool", expr, call.text)


def _position(call: Call, haystack: ColumnElement[Any], needle: ColumnElement[Any]) -> Any:
    """1-based position of ``needle`` in ``haystack`` (0: absent)."""
    if call.dialect == "sqlite":
        return sa.func.instr(haystack, needle)
    return sa.func.strpos(haystack, needle)


def _contains(call: Call, haystack: int, needle: int) -> Value:
    found = _position(call, call.sql(haystack, "text"), call.sql(needle, "text"))
    return _bool(call, found > 0)


def _startswith(call: Call) -> Value:
    text, prefix = call.sql(0, "text"), call.sql(1, "text")
    return _bool(call, sa.func.substr(text, 1, sa.func.length(prefix)) == prefix)


def _endswith(call: Call) -> Value:
    text, suffix = call.sql(0, "text"), call.sql(1, "text")
    start = sa.func.length(text) - sa.func.length(suffix) + 1
    return _bool(
        call,
        sa.and_(
            sa.func.length(text) >= sa.func.length(suffix), sa.func.substr(text, start) == suffix
        ),
    )


def _substring(call: Call) -> Value:
    text, start = call.sql(0, "text"), sa.cast(call.sql(1, "number"), sa.Integer)
    if len(call.args) == 2:
        return _text(call, sa.func.substr(text, start + 1))
    count = sa.cast(call.sql(2, "number"), sa.Integer)
    return _text(call, sa.func.substr(text, start + 1, count))


def _concat(call: Call) -> Value:
    return _text(call, call.sql(0, "text").concat(call.sql(1, "text")))


def _calendar(part: str) -> Callable[[Call], Value]:
    sqlite_format = {"year": "%Y", "month": "%m", "day": "%d"}[part]

    def function(call: Call) -> Value:
        moment = call.sql(0, "time")
        seconds = moment // US_PER_SECOND
        if call.dialect == "sqlite":
            text = sa.func.strftime(sqlite_format, seconds, "unixepoch")
            return _number(call, sa.cast(text, sa.Integer))
        utc = sa.func.timezone("UTC", sa.func.to_timestamp(seconds))
        return _number(call, sa.cast(sa.extract(part, utc), sa.Integer))

    return function


def _clock(unit_us: int, modulo: int) -> Callable[[Call], Value]:
    def function(call: Call) -> Value:
        moment = call.sql(0, "time")
        return _number(call, (moment // unit_us) % modulo)

    return function


def _fractionalseconds(call: Call) -> Value:
    moment = call.sql(0, "time")
    return _number(call, sa.cast(moment % US_PER_SECOND, sa.Float) / US_PER_SECOND)


def _date(call: Call) -> Value:
    moment = call.sql(0, "time")
    return Value("time", moment - moment % US_PER_DAY, call.text)


def _time(call: Call) -> Value:
    return Value("timeofday", call.sql(0, "time") % US_PER_DAY, call.text)


def _totaloffsetminutes(call: Call) -> Value:
    call.arg(0, "time")
    return literal_value("number", 0, call.text)


def _now(call: Call) -> Value:
    moment = datetime.now(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    us = (moment.days * 86_400 + moment.seconds) * US_PER_SECOND + moment.microseconds
    return literal_value("time", us, call.text)


def _round(call: Call) -> Value:
    number = call.sql(0, "number")
    if call.dialect == "postgresql":  # numeric rounds half away from zero, as SQLite does
        return _number(call, sa.cast(sa.func.round(sa.cast(number, sa.Numeric)), sa.Float))
    return _number(call, sa.func.round(number))


def _floor(call: Call) -> Value:
    number = call.sql(0, "number")
    if call.dialect == "sqlite":  # SQLAlchemy's own floor() on SQLite fails on NULL
        whole = sa.cast(number, sa.Integer)
        return _number(call, whole - sa.cast(number < whole, sa.Integer))
    return _number(call, sa.type_coerce(sa.func.floor(number), sa.Float))


def _ceiling(call: Call) -> Value:
    number = call.sql(0, "number")
    if call.dialect == "sqlite":
        whole = sa.cast(number, sa.Integer)
        return _number(call, whole + sa.cast(number > whole, sa.Integer))
    return _number(call, sa.type_coerce(sa.func.ceil(number), sa.Float))


# name -> (minimum, maximum argument count, translation)
FUNCTIONS: dict[str, tuple[int, int, Callable[[Call], Value]]] = {
    "substringof": (2, 2, lambda call: _contains(call, haystack=1, needle=0)),
    "contains": (2, 2, lambda call: _contains(call, haystack=0, needle=1)),
    "startswith": (2, 2, _startswith),
    "endswith": (2, 2, _endswith),
    "length": (1, 1, lambda call: _number(call, sa.func.length(call.sql(0, "text")))),
    "indexof": (
        2,
        2,
        lambda call: _number(call, _position(call, call.sql(0, "text"), call.sql(1, "text")) - 1),
    ),
    "substring": (2, 3, _substring),
    "tolower": (1, 1, lambda call: _text(call, sa.func.lower(call.sql(0, "text")))),
    "toupper": (1, 1, lambda call: _text(call, sa.func.upper(call.sql(0, "text")))),
    "trim": (1, 1, lambda call: _text(call, sa.func.trim(call.sql(0, "text")))),
    "concat": (2, 2, _concat),
    "year": (1, 1, _calendar("year")),
    "month": (1, 1, _calendar("month")),
    "day": (1, 1, _calendar("day")),
    "hour": (1, 1, _clock(3600 * US_PER_SECOND, 24)),
    "minute": (1, 1, _clock(60 * US_PER_SECOND, 60)),
    "second": (1, 1, _clock(US_PER_SECOND, 60)),
    "fractionalseconds": (1, 1, _fractionalseconds),
    "date": (1, 1, _date),
    "time": (1, 1, _time),
    "totaloffsetminutes": (1, 1, _totaloffsetminutes),
    "now": (0, 0, _now),
    "mindatetime": (0, 0, lambda call: literal_value("time", MIN_TIME_US, call.text)),
    "maxdatetime": (0, 0, lambda call: literal_value("time", MAX_TIME_US, call.text)),
    "round": (1, 1, _round),
    "floor": (1, 1, _floor),
    "ceiling": (1, 1, _ceiling),
}
