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


def at(minute: float) -> int:
    """The time ``minute`` minutes after :data:`T0_US` (µs)."""
    return T0_US + round(minute * MINUTE_US)


def write_timelines(db: OpsDatabase, timelines: Sequence[Timeline]) -> dict[str, int]:
    """Store the incidents with their histories; their ids by name."""
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
