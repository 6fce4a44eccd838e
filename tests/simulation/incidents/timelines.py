"""Incidents with histories written step by step at chosen times, through
``simulation.incidents.steps`` (as the workflow does), for the statistics' tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident
from simulation.incidents.steps import append_step, enter_status

MINUTE_US = 60_000_000
# 2026-11-01T00:00:00Z: minute 0 of the timelines.
T0_US = 1_793_491_200_000_000


@dataclass(frozen=True)
class Step:
    """A step at ``minute`` after :data:`T0_US`: ``action`` leading to ``to`` (None: the
    status stays)."""

    minute: int
    action: str
    to: str | None = None


@dataclass(frozen=True)
class Timeline:
    """An incident: its name (title), category, jurisdiction and steps (the first reports)."""

    name: str
    category: str
    jurisdiction: str
    steps: Sequence[Step]


def at(minute: float, t0_us: int = T0_US) -> int:
    """The time ``minute`` minutes after ``t0_us`` (µs)."""
    return t0_us + round(minute * MINUTE_US)


def write_timelines(
    db: OpsDatabase, timelines: Sequence[Timeline], t0_us: int = T0_US
) -> dict[str, int]:
    """Store the incidents with their histories (minute 0 at ``t0_us``); their ids by name."""

    def at(minute: float) -> int:
        return t0_us + round(minute * MINUTE_US)

    ids = {}
    with db.transaction() as session:
        for timeline in timelines:
            first = timeline.steps[0]
            incident = Incident(
                category=timeline.category, title=timeline.name, description="",
                priority=3, source="operator", jurisdiction=timeline.jurisdiction,
                reporter="tester", created_us=at(first.minute),
            )  # fmt: skip
            enter_status(incident, first.to or "reported", at(first.minute))
            session.add(incident)
            session.flush()
            previous: str | None = None
            for step in timeline.steps:
                if step.to is not None and step.to != previous:
                    enter_status(incident, step.to, at(step.minute))
                append_step(session, incident, step.action, from_status=previous,
                            actor="tester", actor_kind="user", actor_jurisdiction=None,
                            now_us=at(step.minute))  # fmt: skip
                previous = incident.status
            ids[timeline.name] = incident.id
    return ids


# -- the timelines of the statistics' tests --------------------------------------------

COUNTY = "440106000000"
TOWN_A = "440106001000"
VILLAGE_A = "440106001001"
TOWN_B = "440106002000"
OTHER_COUNTY_TOWN = "440107001000"
DAY = 1440
# The period: the first week of November 2026; now: two days after it.
START, END, NOW = 0, 7 * DAY, 9 * DAY

TIMELINES = [
    # waterlogging (limits: reported 10, registered 10, dispatched 15, handling 120,
    # handled 30, verified 30 minutes): the whole loop, late only in "registered" (15 > 10);
    # the comment at 100 leaves "handling" whole (60 -> 200)
    Timeline("W1", "waterlogging", TOWN_A, [
        Step(60, "report", "reported"), Step(65, "register", "registered"),
        Step(80, "dispatch", "dispatched"), Step(90, "accept", "handling"),
        Step(100, "comment"), Step(200, "handle", "handled"), Step(220, "verify", "verified"),
        Step(240, "close", "closed"),
    ]),
    # not accepted after exactly its limit (10 minutes is not late), in a village of town A
    Timeline("W2", "waterlogging", VILLAGE_A, [
        Step(DAY, "report", "reported"), Step(DAY + 10, "reject", "not_accepted"),
    ]),
    # road damage (reported 60, registered 60, dispatched 120, handling 2880, handled 480,
    # verified 480): registered late (90 > 60), escalated while dispatched, overdue now
    Timeline("R1", "road_damage", TOWN_B, [
        Step(DAY + 120, "report", "reported"), Step(DAY + 210, "register", "registered"),
        Step(DAY + 240, "dispatch", "dispatched"), Step(DAY + 440, "escalate"),
    ]),
    # reported before the period, handled late (4370 > 2880) and closed in it
    Timeline("R2", "road_damage", TOWN_B, [
        Step(-DAY, "report", "reported"), Step(-DAY + 40, "register", "registered"),
        Step(-DAY + 60, "dispatch", "dispatched"), Step(-DAY + 70, "accept", "handling"),
        Step(3000, "handle", "handled"), Step(3100, "verify", "verified"),
        Step(3200, "close", "closed"),
    ]),
    # reported on the last day and left waiting: overdue now
    Timeline("W3", "waterlogging", TOWN_A, [Step(6 * DAY + 100, "report", "reported")]),
    # located in the county itself, in none of its towns; registered, overdue now
    Timeline("W4", "waterlogging", COUNTY, [
        Step(2 * DAY, "report", "reported"), Step(2 * DAY + 5, "register", "registered"),
    ]),
    # reported after the period (open now, within its limit: 30 minutes)
    Timeline("A1", "air_quality", TOWN_A, [Step(NOW - 10, "report", "reported")]),
    # another county: never counted
    Timeline("X1", "waterlogging", OTHER_COUNTY_TOWN, [
        Step(100, "report", "reported"), Step(105, "reject", "not_accepted"),
    ]),
]  # fmt: skip
