"""Incident statistics on SQLite and PostgreSQL over incidents with known histories: every
figure is checked against the arithmetic done here by hand (the totals) and against a plain
Python count over the same timelines (every grouping)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.incidents.codes import category
from simulation.incidents.errors import IncidentInputError, IncidentNotFoundError
from simulation.incidents.stats import (
    Durations,
    Figures,
    IncidentStats,
    StatsQuery,
    StepFigures,
    incident_stats,
)
from simulation.incidents.workflow import STATUSES, TIMED_STATUSES
from tests.simulation.incidents.timelines import (
    COUNTY,
    END,
    NOW,
    START,
    TIMELINES,
    TOWN_A,
    TOWN_B,
    VILLAGE_A,
    Timeline,
    at,
    write_timelines,
)


@pytest.fixture()
def db(ops_url: str) -> Iterator[OpsDatabase]:
    database = OpsDatabase.open(ops_url)
    write_timelines(database, TIMELINES)
    yield database
    database.close()


def stats(
    db: OpsDatabase,
    group_by: str | None = None,
    node: str | None = COUNTY,
    scope: Scope | None = None,
    offset: int = 0,
) -> IncidentStats:
    query = StatsQuery(at(START), at(END), node, group_by, offset)  # type: ignore[arg-type]
    return incident_stats(db, scope or Scope.everything(), query, now_us=at(NOW),
                          children=[TOWN_A, TOWN_B])  # fmt: skip


def test_the_totals_are_those_counted_by_hand(db: OpsDatabase) -> None:
    total = stats(db).total
    assert (total.opened, total.closed, total.not_accepted) == (5, 2, 1)  # W1 W2 R1 W3 W4
    assert (total.open_now, total.overdue_now) == (4, 3)  # R1 W3 W4 A1; A1 within its limit
    assert (total.overdue_in_period, total.escalated) == (3, 1)  # W1 R1 R2; R1
    # W1: 240 - 60 = 180; R2: 3200 + 1440 = 4640; p90: 180 + 0.9 * 4460
    assert _figures(total.time_to_close) == (2, 2410.0, 2410.0, 4194.0)
    steps = {status: (_figures(f.durations), f.overdue) for status, f in total.steps.items()}
    assert list(steps) == ["reported", "registered", "dispatched", "handling", "handled",
                           "verified"]  # fmt: skip
    # reported: W1 5, W2 10, R1 90, W4 5 -> [5, 5, 10, 90]; p90 at 2.7: 10 + 0.7 * 80
    assert steps["reported"] == ((4, 27.5, 7.5, 66.0), 1)
    # registered: W1 15 (late), R1 30
    assert steps["registered"] == ((2, 22.5, 22.5, 28.5), 1)
    assert steps["dispatched"] == ((1, 10.0, 10.0, 10.0), 0)
    # handling: W1 110 (60 -> 200, the comment between), R2 4370 (late)
    assert steps["handling"] == ((2, 2240.0, 2240.0, 3944.0), 1)
    assert steps["handled"] == ((2, 60.0, 60.0, 92.0), 0)
    assert steps["verified"] == ((2, 60.0, 60.0, 92.0), 0)


@pytest.mark.parametrize("group_by", ["category", "status", "jurisdiction", "day", "week",
                                      "month"])  # fmt: skip
def test_every_grouping_matches_a_count_in_python(db: OpsDatabase, group_by: str) -> None:
    answer = stats(db, group_by)
    expected = expected_groups(group_by, offset=0)
    got = {g.key: g for g in answer.groups}
    assert set(expected) <= set(got)
    for key, figures in got.items():
        want = expected.get(key, Figures(key))
        if group_by in ("day", "week", "month"):
            want.open_now = want.overdue_now = None
        assert _comparable(figures) == _comparable(want), key
    # the groups add up to the totals
    assert sum(g.opened for g in answer.groups) == answer.total.opened
    assert sum(g.closed for g in answer.groups) == answer.total.closed


def test_groups_are_listed_even_when_empty_in_their_order(db: OpsDatabase) -> None:
    keys = [g.key for g in stats(db, "status").groups]
    assert keys == list(STATUSES)
    days = [g.key for g in stats(db, "day").groups]
    assert days == [f"2026-11-0{d}" for d in range(1, 8)]
    assert [g.key for g in stats(db, "week").groups] == ["2026-10-26", "2026-11-02"]
    assert [g.key for g in stats(db, "month").groups] == ["2026-11"]
    towns = stats(db, "jurisdiction").groups
    assert [g.key for g in towns] == [TOWN_A, TOWN_B, COUNTY]
    assert [g.opened for g in towns] == [3, 1, 1]  # W1 W2 W3 | R1 | W4


def test_days_follow_the_local_time(db: OpsDatabase) -> None:
    # at UTC+8 W1..W4 keep their days, the period starts 2026-11-01 08:00 local
    local = stats(db, "day", offset=480)
    assert next(g.key for g in local.groups) == "2026-11-01"
    expected = expected_groups("day", offset=480)
    for figures in local.groups:
        assert figures.opened == expected.get(figures.key, Figures("")).opened


def test_a_town_sees_only_its_incidents(db: OpsDatabase) -> None:
    town = stats(db, node=None, scope=Scope.of(TOWN_B)).total
    assert (town.opened, town.closed, town.open_now, town.escalated) == (1, 1, 1, 1)  # R1; R2
    assert stats(db, node=TOWN_B, scope=Scope.of(COUNTY)).total == town
    with pytest.raises(IncidentNotFoundError, match=TOWN_A):
        stats(db, node=TOWN_A, scope=Scope.of(TOWN_B))


def test_a_village_groups_as_itself(db: OpsDatabase) -> None:
    village = stats(db, "jurisdiction", node=VILLAGE_A)
    assert [(g.key, g.opened, g.not_accepted) for g in village.groups] == [(VILLAGE_A, 1, 1)]


def test_bad_queries_are_refused(db: OpsDatabase) -> None:
    everything = Scope.everything()
    with pytest.raises(IncidentInputError, match="end after"):
        incident_stats(db, everything, StatsQuery(at(5), at(5)), now_us=at(NOW))
    with pytest.raises(IncidentInputError, match="at most"):
        incident_stats(db, everything, StatsQuery(0, at(0), group_by="day"), now_us=at(NOW))
    with pytest.raises(IncidentInputError, match="grouping"):
        incident_stats(db, everything, StatsQuery(0, 1, group_by="year"),  # type: ignore[arg-type]
                       now_us=at(NOW))  # fmt: skip
    with pytest.raises(IncidentInputError, match="12 digits"):
        incident_stats(db, everything, StatsQuery(0, 1, node="4401"), now_us=at(NOW))


# -- the same figures counted in Python, incident by incident ------------------------------


@dataclass
class _Interval:
    status: str
    entered: int
    left: int
    late: bool


def _figures(durations: Durations) -> tuple[object, ...]:
    """The count, mean, median and p90, rounded past floating-point noise."""
    rounded = (None if v is None else round(v, 6) for v in
               (durations.mean, durations.median, durations.p90))  # fmt: skip
    return (durations.count, *rounded)


def _comparable(figures: Figures) -> tuple[object, ...]:
    def rounded(d: Durations) -> tuple[object, ...]:
        return tuple(None if v is None else round(v, 6) for v in (d.mean, d.median, d.p90))

    steps = {s: (f.durations.count, rounded(f.durations), f.overdue)
             for s, f in figures.steps.items()}  # fmt: skip
    return (figures.opened, figures.closed, figures.not_accepted, figures.open_now,
            figures.overdue_now, figures.overdue_in_period, figures.escalated,
            figures.time_to_close.count, rounded(figures.time_to_close), steps)  # fmt: skip


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations()
    mean = sum(values) / len(values)
    return Durations(len(values), mean, _percentile(values, 0.5), _percentile(values, 0.9))


def _intervals(timeline: Timeline) -> list[_Interval]:
    changes = [s for i, s in enumerate(timeline.steps)
               if i == 0 or (s.to is not None and s.to != _status_before(timeline, i))]  # fmt: skip
    intervals = []
    for step, after in itertools.pairwise(changes):
        assert step.to is not None
        limit = category(timeline.category).limits_minutes.get(step.to)
        spent = after.minute - step.minute
        intervals.append(_Interval(step.to, step.minute, after.minute,
                                   limit is not None and spent > limit))  # fmt: skip
    return intervals


def _status_before(timeline: Timeline, index: int) -> str:
    status = "reported"
    for step in timeline.steps[:index]:
        status = step.to or status
    return status


def _key(group_by: str, timeline: Timeline, minute: int, offset: int) -> str:
    if group_by == "category":
        return timeline.category
    if group_by == "status":
        return _status_before(timeline, len(timeline.steps))
    if group_by == "jurisdiction":
        return timeline.jurisdiction[:9].ljust(12, "0")
    moment = datetime.fromtimestamp(at(minute) / 1e6, UTC) + timedelta(minutes=offset)
    if group_by == "day":
        return moment.date().isoformat()
    if group_by == "week":
        return (moment.date() - timedelta(days=moment.weekday())).isoformat()
    return moment.strftime("%Y-%m")


def expected_groups(group_by: str, offset: int) -> dict[str, Figures]:
    """The figures of every group, counted incident by incident."""
    found: dict[str, Figures] = {}
    closing: dict[str, list[float]] = {}
    spent: dict[tuple[str, str], list[float]] = {}
    late_steps: dict[tuple[str, str], int] = {}
    late: dict[str, set[str]] = {}
    escalated: dict[str, set[str]] = {}

    def figures(key: str) -> Figures:
        return found.setdefault(key, Figures(key))

    def inside(minute: int) -> bool:
        return START <= minute < END

    for timeline in TIMELINES:
        if not timeline.jurisdiction.startswith(COUNTY[:6]):
            continue
        first = timeline.steps[0]
        status = _status_before(timeline, len(timeline.steps))
        ended = [s.minute for s in timeline.steps if s.to == status][-1]
        if inside(first.minute):
            figures(_key(group_by, timeline, first.minute, offset)).opened += 1
        if STATUSES[status].final and inside(ended):
            target = figures(_key(group_by, timeline, ended, offset))
            if status == "closed":
                target.closed += 1
                closing.setdefault(target.key, []).append(ended - first.minute)
            else:
                target.not_accepted += 1
        if not STATUSES[status].final:
            target = figures(_key(group_by, timeline, 0, offset))
            target.open_now = (target.open_now or 0) + 1
            limit = category(timeline.category).limits_minutes.get(status)
            if status in TIMED_STATUSES and limit is not None and ended + limit < NOW:
                target.overdue_now = (target.overdue_now or 0) + 1
        for interval in _intervals(timeline):
            if inside(interval.left):
                key = _key(group_by, timeline, interval.left, offset)
                spent.setdefault((key, interval.status), []).append(
                    interval.left - interval.entered
                )
                late_steps[key, interval.status] = late_steps.get((key, interval.status), 0) + int(
                    interval.late
                )
                if interval.late:
                    late.setdefault(key, set()).add(timeline.name)
        for step in timeline.steps:
            if step.action == "escalate" and inside(step.minute):
                key = _key(group_by, timeline, step.minute, offset)
                escalated.setdefault(key, set()).add(timeline.name)
    for key, values in closing.items():
        figures(key).time_to_close = _durations(values)
    for (key, status), values in spent.items():
        figures(key).steps[status] = StepFigures(_durations(values), late_steps[key, status])
    for key, names in late.items():
        figures(key).overdue_in_period = len(names)
    for key, names in escalated.items():
        figures(key).escalated = len(names)
    for item in found.values():
        item.steps = {s: item.steps[s] for s in STATUSES if s in item.steps}
    return found
