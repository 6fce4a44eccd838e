"""Statistics of the incidents of a jurisdiction over a period, computed by SQL aggregates
on SQLite and PostgreSQL (no incident is read into Python: at most, on SQLite, the
durations whose percentiles are taken; see below).

For a node of the jurisdiction tree (within the caller's scope) and a period
``[start, end)``, :func:`incident_stats` counts

- ``opened``: incidents created in the period;
- ``closed`` / ``not_accepted``: incidents whose status is ``closed`` / ``not_accepted``
  and whose closing time lies in the period;
- ``open_now`` / ``overdue_now``: incidents not in a final status, and those in a timed
  status past their time limit, at ``now`` (a snapshot: the period does not apply, and
  grouped by time it is not given);
- ``overdue_in_period``: incidents that left a status after its time limit in the period;
- ``escalated``: incidents with an ``escalate`` step in the period;
- the time to close (report to ``closed``, for those closed in the period) and the time
  spent in each status (for each status left in the period): count, mean, median, 90th
  percentile in minutes, and for each status the number of steps taken late.

The time spent in a status is derived from the history: the steps that change the status
(the report, and every step whose ``to_status`` differs from its ``from_status``; a
comment, an alert or an escalation leaves the status and its clock alone) in the order
they were taken; a status lasts from its step to the next one and is late when that is
longer than the category's limit (:mod:`simulation.incidents.codes`).

Medians and 90th percentiles interpolate linearly (as ``percentile_cont`` and numpy):
PostgreSQL computes them (``percentile_cont``); SQLite has no percentile function, so only
the group keys and the durations (numbers) are fetched and numpy takes them, which
measured four times as fast as ranking them in SQLite with window functions. Everything
else is counted in SQL on both. The history is read once per call, into a temporary table
of the statuses left in the period (each connection has its own).

Figures are given in total and per group: category, current status, direct
sub-jurisdiction (the code prefix of the level below the node; incidents located in the
node itself, in no child, form the group of the node's own code), or the day, week
(from Monday) or month of the event counted, in the local time of ``utc_offset_minutes``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentStep
from cim.ops.scoping import within
from cim.scope import LEVELS, PREFIX_LENGTHS, Scope, check_code, level_of
from simulation.incidents.codes import categories
from simulation.incidents.errors import IncidentInputError, IncidentNotFoundError
from simulation.incidents.stats_sql import (
    MINUTE_US,
    TimeGrouping,
    bucket,
    bucket_label,
    bucket_of,
    distribution,
    limit_us,
)
from simulation.incidents.workflow import STATUSES, TIMED_STATUSES

GroupBy = Literal["category", "status", "jurisdiction", "day", "week", "month"]
GROUPINGS: tuple[GroupBy, ...] = get_args(GroupBy)
TIME_GROUPINGS: tuple[TimeGrouping, ...] = get_args(TimeGrouping)
# Days, weeks or months a grouped answer may hold (ten years of days).
MAX_BUCKETS = 3_660
# The widest offset of a time zone from UTC (minutes).
MAX_OFFSET_MINUTES = 14 * 60
FINAL_STATUSES = tuple(code for code, status in STATUSES.items() if status.final)
# What :meth:`_Counting._measured` measures: the keys, the value, its rows, what to sum.
_Measure = tuple[
    list[ColumnElement[Any]], ColumnElement[Any], Select[Any], ColumnElement[Any] | None
]
# The statuses left in the period (one row per status an incident entered and left),
# written once per call into a temporary table of the connection (its own on each).
_INTERVALS = Table(
    "incident_stats_intervals",
    MetaData(),
    Column("incident_id", BigInteger),
    Column("status", String(40)),
    Column("spent_us", BigInteger),
    Column("left_us", BigInteger),
    Column("category", String(40)),
    Column("incident_status", String(40)),
    Column("jurisdiction", String(12)),
    # 1: left after the category's limit
    Column("late", Integer),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class StatsQuery:
    """What to count: a period ``[start_us, end_us)``, a node (None: the caller's whole
    scope), a grouping (None: the totals only) and the local time's offset from UTC."""

    start_us: int
    end_us: int
    node: str | None = None
    group_by: GroupBy | None = None
    utc_offset_minutes: int = 0


@dataclass(frozen=True)
class Durations:
    """How long something took, in minutes (None: nothing to measure)."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class StepFigures:
    """The time spent in one status, and how many incidents left it late."""

    durations: Durations = Durations()
    overdue: int = 0


@dataclass
class Figures:
    """The figures of one group (``key``: its category, status, code or time label)."""

    key: str
    opened: int = 0
    closed: int = 0
    not_accepted: int = 0
    open_now: int | None = 0
    overdue_now: int | None = 0
    overdue_in_period: int = 0
    escalated: int = 0
    time_to_close: Durations = Durations()
    # status -> the time spent in it (statuses left in the period, in workflow order)
    steps: dict[str, StepFigures] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentStats:
    """The totals and the groups of a :class:`StatsQuery` answered at ``now_us``."""

    query: StatsQuery
    node: str | None
    now_us: int
    total: Figures
    groups: list[Figures]


def incident_stats(
    db: OpsDatabase,
    scope: Scope,
    query: StatsQuery,
    *,
    now_us: int,
    children: Sequence[str] = (),
) -> IncidentStats:
    """The statistics of ``query`` over the incidents of ``scope`` (see the module).

    ``children`` are the codes of the node's sub-jurisdictions, listed (with zeros) when
    grouping by jurisdiction even if they have no incident.

    Raises
    ------
    IncidentInputError
        A period that ends before it starts or holds too many buckets, an unknown grouping,
        an offset beyond ±14 h, a malformed code.
    IncidentNotFoundError
        The node is outside ``scope``.
    """
    node = _node_of(scope, query)
    _check(query)
    counting = _Counting(scope, node, query, now_us, db.engine.dialect.name == "postgresql")
    with db.engine.connect() as connection:
        try:
            if connection.dialect.name == "sqlite":
                # sort the history's window and hold the temporary table in memory: on disk
                # (the default) the statistics of 100 000 incidents took four times as long;
                # set before the table is made (changing it drops the temporary tables)
                connection.exec_driver_sql("PRAGMA temp_store = MEMORY")
            _INTERVALS.create(connection)
            counting.fill_intervals(connection)
            total = counting.figures(connection, grouped=False)[""]
            groups = counting.figures(connection, grouped=True) if query.group_by else {}
        finally:
            # PostgreSQL: the table goes with the transaction; SQLite made it outside one
            connection.rollback()
            _INTERVALS.drop(connection, checkfirst=True)
            connection.commit()
    listed = [groups.pop(key, Figures(key)) for key in _known_keys(query, node, children)]
    listed += sorted(groups.values(), key=lambda figures: figures.key)
    if query.group_by in TIME_GROUPINGS:
        for figures in listed:
            figures.open_now = figures.overdue_now = None
    return IncidentStats(query, node, now_us, total, listed)


def _node_of(scope: Scope, query: StatsQuery) -> str | None:
    if query.node is None:
        return None if scope.unlimited else scope.prefix.ljust(12, "0")
    try:
        node = check_code(query.node)
    except Exception as exc:
        raise IncidentInputError(str(exc)) from None
    if not scope.contains(node):
        raise IncidentNotFoundError(f"no jurisdiction {node}")
    return node


def _check(query: StatsQuery) -> None:
    if query.end_us <= query.start_us:
        raise IncidentInputError("the period must end after it starts")
    if query.group_by is not None and query.group_by not in GROUPINGS:
        raise IncidentInputError(f"unknown grouping {query.group_by!r}: use {', '.join(GROUPINGS)}")
    if abs(query.utc_offset_minutes) > MAX_OFFSET_MINUTES:
        raise IncidentInputError("the offset from UTC must be within ±14 hours")
    if query.group_by in TIME_GROUPINGS:
        grouping = cast(TimeGrouping, query.group_by)
        first, last = _bucket_range(query, grouping)
        if last - first + 1 > MAX_BUCKETS:
            raise IncidentInputError(
                f"the period holds {last - first + 1} {grouping}s: at most {MAX_BUCKETS}"
            )


def _bucket_range(query: StatsQuery, grouping: TimeGrouping) -> tuple[int, int]:
    offset = query.utc_offset_minutes * MINUTE_US
    return (
        bucket_of(query.start_us, grouping, offset),
        bucket_of(query.end_us - 1, grouping, offset),
    )


def _known_keys(query: StatsQuery, node: str | None, children: Sequence[str]) -> list[str]:
    """The groups listed even when empty, in their natural order."""
    if query.group_by == "category":
        return list(categories())
    if query.group_by == "status":
        return list(STATUSES)
    if query.group_by == "jurisdiction":
        under = Scope.everything() if node is None else Scope.of(node)
        return [code for code in children if code != node and under.contains(code)]
    if query.group_by in TIME_GROUPINGS:
        grouping = cast(TimeGrouping, query.group_by)
        first, last = _bucket_range(query, grouping)
        return [bucket_label(index, grouping) for index in range(first, last + 1)]
    return []


def _child_level(node: str | None) -> Any:
    """The level of the node's children (a village's: its own level)."""
    if node is None:
        return LEVELS[0]
    depth = LEVELS.index(level_of(node))
    return LEVELS[min(depth + 1, len(LEVELS) - 1)]


class _Counting:
    """The queries of one :class:`StatsQuery`."""

    def __init__(
        self, scope: Scope, node: str | None, query: StatsQuery, now_us: int, native: bool
    ) -> None:
        self.query = query
        self.now_us = now_us
        self.where = within(Incident.jurisdiction, scope)
        if node is not None:
            self.where = and_(self.where, within(Incident.jurisdiction, Scope.of(node)))
        self.child_prefix = PREFIX_LENGTHS[_child_level(node)]
        self.offset_us = query.utc_offset_minutes * MINUTE_US
        # percentiles by PostgreSQL's percentile_cont, else by numpy
        self.native = native

    @property
    def grouping(self) -> GroupBy | None:
        return self.query.group_by

    def in_period(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.query.start_us, column < self.query.end_us)

    def key(
        self, *, time: Any, category: Any, status: Any, jurisdiction: Any
    ) -> list[ColumnElement[Any]]:
        """The grouping's expression over the given columns (the time: of the event)."""
        grouping = self.grouping
        if grouping == "category":
            return [category]
        if grouping == "status":
            return [status]
        if grouping == "jurisdiction":
            return [func.substr(jurisdiction, 1, self.child_prefix)]
        return [bucket(time, cast(TimeGrouping, grouping), self.offset_us)]

    def label(self, value: Any) -> str:
        """A group's key as the answer names it."""
        if self.grouping in TIME_GROUPINGS:
            return bucket_label(int(value), cast(TimeGrouping, self.grouping))
        if self.grouping == "jurisdiction":
            return str(value).ljust(12, "0")
        return str(value)

    def figures(self, connection: Connection, *, grouped: bool) -> dict[str, Figures]:
        """Every figure, per group (``grouped``) or in total (key "")."""
        found: dict[str, Figures] = {}

        def at(row: Any) -> Figures:
            key = self.label(row[0]) if grouped else ""
            return found.setdefault(key, Figures(key))

        for row in connection.execute(self._counts(grouped)):
            figures = at(row)
            figures.opened += int(row.opened or 0)
            figures.closed += int(row.closed or 0)
            figures.not_accepted += int(row.not_accepted or 0)
            figures.open_now = (figures.open_now or 0) + int(row.open_now or 0)
            figures.overdue_now = (figures.overdue_now or 0) + int(row.overdue_now or 0)
        for keys, durations, _ in self._measured(connection, *self._time_to_close(grouped)):
            at(keys).time_to_close = durations
        for keys, durations, late in self._measured(connection, *self._step_times(grouped)):
            at(keys).steps[keys[-1]] = StepFigures(durations, late)
        for row in connection.execute(self._late_incidents(grouped)):
            at(row).overdue_in_period = int(row.incidents)
        for row in connection.execute(self._escalated(grouped)):
            at(row).escalated = int(row.incidents)
        for figures in found.values():
            figures.steps = {s: figures.steps[s] for s in STATUSES if s in figures.steps}
        if not grouped:
            found.setdefault("", Figures(""))
        return found

    def _incident_key(self, grouped: bool, time: Any) -> list[ColumnElement[Any]]:
        if not grouped:
            return []
        return self.key(
            time=time,
            category=Incident.category,
            status=Incident.status,
            jurisdiction=Incident.jurisdiction,
        )

    def _counts(self, grouped: bool) -> Select[Any]:
        """Opened, closed, not accepted, open and overdue now (by time: their events')."""
        if grouped and self.grouping in TIME_GROUPINGS:
            return self._counts_in_time()
        keys = self._incident_key(grouped, None)
        created = self.in_period(Incident.created_us)
        ended = self.in_period(Incident.closed_us)
        is_open = Incident.status.not_in(FINAL_STATUSES)
        late = and_(Incident.status.in_(TIMED_STATUSES), Incident.due_us < self.now_us)
        query = (
            select(
                *keys,
                _count_if(created).label("opened"),
                _count_if(and_(Incident.status == "closed", ended)).label("closed"),
                _count_if(and_(Incident.status == "not_accepted", ended)).label("not_accepted"),
                _count_if(is_open).label("open_now"),
                _count_if(late).label("overdue_now"),
            )
            .select_from(Incident)
            .where(self.where, or_(created, ended, is_open))
        )
        return query.group_by(*keys) if keys else query

    def _counts_in_time(self) -> Select[Any]:
        """Opened per bucket of creation, closed and not accepted per bucket of closing."""

        def zero(name: str) -> ColumnElement[int]:
            return literal(0).label(name)

        opened_key = self._incident_key(True, Incident.created_us)
        ended_key = self._incident_key(True, Incident.closed_us)
        opened = (
            select(*opened_key, func.count().label("opened"), zero("closed"), zero("rejected"))
            .select_from(Incident)
            .where(self.where, self.in_period(Incident.created_us))
            .group_by(*opened_key)
        )
        ended = (
            select(
                *ended_key,
                zero("opened"),
                _count_if(Incident.status == "closed").label("closed"),
                _count_if(Incident.status == "not_accepted").label("rejected"),
            )
            .select_from(Incident)
            .where(self.where, self.in_period(Incident.closed_us))
            .group_by(*ended_key)
        )
        both = opened.union_all(ended).subquery("both")
        key, opened_c, closed_c, rejected_c = both.c
        return select(
            key,
            opened_c.label("opened"),
            closed_c.label("closed"),
            rejected_c.label("not_accepted"),
            zero("open_now"),
            zero("overdue_now"),
        )

    def _time_to_close(self, grouped: bool) -> _Measure:
        keys = self._incident_key(grouped, Incident.closed_us)
        source = (
            select(Incident.id)
            .select_from(Incident)
            .where(self.where, Incident.status == "closed", self.in_period(Incident.closed_us))
        )
        return keys, Incident.closed_us - Incident.created_us, source, None

    def fill_intervals(self, connection: Connection) -> None:
        """Write the statuses left in the period into the temporary table :data:`_INTERVALS`
        (the history is read once; every figure of the time spent reads that table)."""
        s = IncidentStep
        changes = or_(s.from_status.is_(None), s.from_status != s.to_status)
        left = func.lead(s.at_us).over(partition_by=s.incident_id, order_by=(s.at_us, s.id))
        history = (
            select(
                s.incident_id.label("incident_id"),
                s.to_status.label("status"),
                s.at_us.label("entered_us"),
                left.label("left_us"),
                Incident.category.label("category"),
                Incident.status.label("incident_status"),
                Incident.jurisdiction.label("jurisdiction"),
            )
            .select_from(s)
            .join(Incident, Incident.id == s.incident_id)
            .where(
                self.where,
                changes,
                Incident.created_us < self.query.end_us,
                or_(Incident.closed_us.is_(None), Incident.closed_us >= self.query.start_us),
            )
            .subquery("history")
        )
        spent = history.c.left_us - history.c.entered_us
        late = case((spent > limit_us(history.c.category, history.c.status), 1), else_=0)
        left_in_period = (
            select(
                history.c.incident_id,
                history.c.status,
                spent,
                history.c.left_us,
                history.c.category,
                history.c.incident_status,
                history.c.jurisdiction,
                late,
            )
            .select_from(history)
            .where(self.in_period(history.c.left_us))
        )
        columns = [c.name for c in _INTERVALS.c]
        connection.execute(insert(_INTERVALS).from_select(columns, left_in_period))

    def _interval_key(self, grouped: bool) -> list[ColumnElement[Any]]:
        if not grouped:
            return []
        steps = _INTERVALS.c
        return self.key(
            time=steps.left_us,
            category=steps.category,
            status=steps.incident_status,
            jurisdiction=steps.jurisdiction,
        )

    def _step_times(self, grouped: bool) -> _Measure:
        """Per group and status left in the period: its durations and how many were late."""
        keys = [*self._interval_key(grouped), _INTERVALS.c.status]
        source = select(_INTERVALS.c.incident_id).select_from(_INTERVALS)
        return keys, _INTERVALS.c.spent_us, source, _INTERVALS.c.late

    def _measured(
        self,
        connection: Connection,
        keys: Sequence[ColumnElement[Any]],
        value: ColumnElement[Any],
        source: Select[Any],
        summed: ColumnElement[Any] | None,
    ) -> Iterator[tuple[tuple[Any, ...], Durations, int]]:
        """The durations ``value`` (µs) per group of ``keys`` (and the sum of ``summed``):
        by ``percentile_cont`` on PostgreSQL; on SQLite, which has no percentile, by numpy
        over the durations fetched (only the keys and the numbers), which measured four
        times as fast as ranking them with window functions (bench_incident_stats.py)."""
        width = len(keys)
        if self.native:
            for row in connection.execute(distribution(keys, value, source, summed)):
                yield (
                    tuple(row[:width]),
                    _durations(row),
                    int(row[-1] or 0) if summed is not None else 0,
                )
            return
        extra = [] if summed is None else [summed]
        grouped: dict[tuple[Any, ...], tuple[list[int], list[int]]] = {}
        for row in connection.execute(source.with_only_columns(*keys, value, *extra)):
            values, sums = grouped.setdefault(tuple(row[:width]), ([], []))
            values.append(row[width])
            if summed is not None:
                sums.append(row[width + 1] or 0)
        for key, (values, sums) in grouped.items():
            measured = np.array(values, dtype=np.float64) / MINUTE_US
            median, p90 = np.percentile(measured, [50, 90])
            mean = float(measured.mean())
            yield key, Durations(len(values), mean, float(median), float(p90)), sum(sums)

    def _late_incidents(self, grouped: bool) -> Select[Any]:
        """Per group: the incidents that left a status late in the period."""
        keys = self._interval_key(grouped)
        query = (
            select(*keys, func.count(func.distinct(_INTERVALS.c.incident_id)).label("incidents"))
            .select_from(_INTERVALS)
            .where(_INTERVALS.c.late == 1)
        )
        return query.group_by(*keys) if keys else query

    def _escalated(self, grouped: bool) -> Select[Any]:
        """Per group: the incidents escalated in the period."""
        s = IncidentStep
        keys = self._incident_key(grouped, s.at_us)
        query = (
            select(*keys, func.count(func.distinct(s.incident_id)).label("incidents"))
            .select_from(s)
            .join(Incident, Incident.id == s.incident_id)
            .where(self.where, s.action == "escalate", self.in_period(s.at_us))
        )
        return query.group_by(*keys) if keys else query


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _durations(row: Any) -> Durations:
    """The count, mean, median and p90 of a :func:`distribution` row, in minutes."""

    def minutes(value: Any) -> float | None:
        return None if value is None else float(value) / MINUTE_US

    return Durations(int(row.count), minutes(row.mean), minutes(row.median), minutes(row.p90))
