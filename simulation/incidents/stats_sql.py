"""SQL building blocks of the incident statistics, the same on SQLite and PostgreSQL: time
buckets of a microsecond column, percentiles by window functions, and the time limits of
the code list as an expression.

Percentiles are computed in the database, never by fetching rows: each value is ranked
within its group (``row_number`` and ``count`` over the group, ordered by the value) and
the percentile ``p = num / den`` interpolates linearly between the values ranked
``floor(p * (n - 1))`` and the one after it, as PostgreSQL's ``percentile_cont`` and
numpy's default do. The interpolation weights are whole numbers (``den - r`` and ``r``
where ``r = num * (n - 1) mod den``), so both backends compute them with the same integer
arithmetic and give the same answer.
"""

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
    select,
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
    whens = [
        ((category == code) & (status == timed), _big(minutes * MINUTE_US))
        for code, entry in categories().items()
        for timed, minutes in entry.limits_minutes.items()
        if timed in TIMED_STATUSES
    ]
    return case(*whens, else_=None)


def distribution(
    keys: Sequence[ColumnElement[Any]], value: ColumnElement[Any], source: Select[Any]
) -> Select[Any]:
    """Per group of ``keys`` (named ``k0``, ``k1``... in ``source``'s columns): the count,
    the mean, the median and the 90th percentile of ``value``.

    ``keys`` and ``value`` are expressions over ``source``'s FROM clause and WHERE; the
    answer's columns are the keys, then ``count``, ``mean``, ``median``, ``p90``.
    """
    partition = list(keys) or None
    ranked = (
        source.with_only_columns(
            *(key.label(f"k{i}") for i, key in enumerate(keys)),
            value.label("v"),
            (func.row_number().over(partition_by=partition, order_by=value) - 1).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
    ).subquery("ranked")
    groups = [ranked.c[f"k{i}"] for i in range(len(keys))]
    v, rn, n = ranked.c.v, ranked.c.rn, ranked.c.n
    answer = select(
        *groups,
        func.count().label("count"),
        func.avg(cast(v, Float)).label("mean"),
        _percentile(v, rn, n, 1, 2).label("median"),
        _percentile(v, rn, n, 9, 10).label("p90"),
    ).select_from(ranked)
    return answer.group_by(*groups) if groups else answer


def _percentile(
    value: ColumnElement[int],
    rank: ColumnElement[int],
    count: ColumnElement[int],
    num: int,
    den: int,
) -> ColumnElement[Any]:
    """The ``num / den`` percentile of ``value`` within a group, interpolated linearly."""
    position = cast(count - 1, BigInteger) * num
    low = position // den
    rest = position % den
    weight = case((rank == low, den - rest), else_=0) + case((rank == low + 1, rest), else_=0)
    return func.sum(cast(value, Float) * weight) / float(den)
