"""SQL building blocks of the incident statistics: time buckets of a microsecond column
(the same on SQLite and PostgreSQL), the time limits of the code list as an expression,
and PostgreSQL's percentiles (``percentile_cont``; SQLite has none, see
:meth:`simulation.incidents.stats._Counting._measured`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    case,
    cast,
    func,
    literal,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from simulation.incidents.codes import categories
from simulation.incidents.workflow import TIMED_STATUSES

TimeGrouping = Literal["day", "week", "month"]
US = 1_000_000
DAY_US = 86_400 * US
MINUTE_US = 60 * US
EPOCH_DAY = date(1970, 1, 1)
# 1970-01-01 was a Thursday: day d lies in the week (starting Monday) (d + 3) // 7.
_WEEK_SHIFT = 3


class _MonthIndex(FunctionElement[int]):
    """``year * 12 + month - 1`` of a time in seconds since the epoch (UTC)."""

    type = Integer()
    inherit_cache = True


@compiles(_MonthIndex, "sqlite")
def _month_sqlite(element: _MonthIndex, compiler: SQLCompiler, **kw: Any) -> str:
    seconds = compiler.process(next(iter(element.clauses)), **kw)
    year = f"CAST(strftime('%Y', {seconds}, 'unixepoch') AS INTEGER)"
    month = f"CAST(strftime('%m', {seconds}, 'unixepoch') AS INTEGER)"
    return f"({year} * 12 + {month} - 1)"


@compiles(_MonthIndex, "postgresql")
def _month_postgresql(element: _MonthIndex, compiler: SQLCompiler, **kw: Any) -> str:
    seconds = compiler.process(next(iter(element.clauses)), **kw)
    moment = f"(to_timestamp({seconds}) AT TIME ZONE 'UTC')"
    return (
        f"(CAST(EXTRACT(YEAR FROM {moment}) AS INTEGER) * 12"
        f" + CAST(EXTRACT(MONTH FROM {moment}) AS INTEGER) - 1)"
    )


def bucket(
    column: ColumnElement[int], grouping: TimeGrouping, offset_us: int
) -> ColumnElement[int]:
    """The index of the day, week (from Monday) or month holding ``column`` (µs since the
    epoch), in local time ``offset_us`` ahead of UTC."""
    local = column + _big(offset_us)
    day = local // _big(DAY_US)
    if grouping == "day":
        return day
    if grouping == "week":
        return (day + _WEEK_SHIFT) // 7
    return _MonthIndex(local // _big(US))


def _big(value: int) -> ColumnElement[int]:
    """A BIGINT literal (PostgreSQL would type a plain one INTEGER, too small for µs)."""
    return literal(value, BigInteger)


def bucket_of(time_us: int, grouping: TimeGrouping, offset_us: int) -> int:
    """What :func:`bucket` computes in SQL, for one time in Python."""
    day = (time_us + offset_us) // DAY_US
    if grouping == "day":
        return day
    if grouping == "week":
        return (day + _WEEK_SHIFT) // 7
    moment = EPOCH_DAY + timedelta(days=day)
    return moment.year * 12 + moment.month - 1


def bucket_label(index: int, grouping: TimeGrouping) -> str:
    """``2026-12-03`` (a day, or the Monday starting a week) or ``2026-12`` (a month)."""
    if grouping == "day":
        return (EPOCH_DAY + timedelta(days=index)).isoformat()
    if grouping == "week":
        return (EPOCH_DAY + timedelta(days=7 * index - _WEEK_SHIFT)).isoformat()
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def limit_us(category: ColumnElement[str], status: ColumnElement[str]) -> ColumnElement[int]:
    """The time limit (µs) of ``status`` for ``category`` from the code list (NULL: none)."""
    # CASE category WHEN ... THEN (CASE status WHEN ...): a dozen comparisons a row, not
    # one per (category, status) pair
    per_category = {
        code: case(
            {
                timed: _big(minutes * MINUTE_US)
                for timed, minutes in entry.limits_minutes.items()
                if timed in TIMED_STATUSES
            },
            value=status,
            else_=None,
        )
        for code, entry in categories().items()
    }
    return case(per_category, value=category, else_=None)


def distribution(
    keys: Sequence[ColumnElement[Any]],
    value: ColumnElement[Any],
    source: Select[Any],
    summed: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """Per group of ``keys``: the count, the mean, the median and the 90th percentile of
    ``value`` (and the sum of ``summed``), by PostgreSQL's ``percentile_cont``.

    ``keys`` and ``value`` are expressions over ``source``'s FROM clause and WHERE; the
    answer's columns are the keys, then ``count``, ``mean``, ``median``, ``p90``, and
    ``summed`` when asked for.
    """
    measured = cast(value, Float)
    answer = source.with_only_columns(
        *keys,
        func.count().label("count"),
        func.avg(measured).label("mean"),
        func.percentile_cont(0.5).within_group(measured).label("median"),
        func.percentile_cont(0.9).within_group(measured).label("p90"),
        *([] if summed is None else [func.sum(summed).label("summed")]),
    )
    return answer.group_by(*keys) if keys else answer
