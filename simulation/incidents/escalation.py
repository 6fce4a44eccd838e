"""Escalation of overdue incidents: an incident past the time limit of its status goes up
to the parent of the node answering for it, one level per limit elapsed, never above the
province; each level is an ``escalate`` step by the system."""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentStep
from cim.scope import parent_of
from simulation.incidents.actors import Actor
from simulation.incidents.codes import categories, category
from simulation.incidents.locking import claim
from simulation.incidents.records import IncidentRecord, incident_record
from simulation.incidents.steps import append_step
from simulation.incidents.workflow import TIMED_STATUSES

# How many overdue incidents one run looks at (the rest wait for the next run).
BATCH = 500
# The codes of provinces, where escalation stops (LIKE pattern).
PROVINCE_CODES = "__0000000000"


def escalate_overdue(db: OpsDatabase, now_us: int) -> list[IncidentRecord]:
    """Escalate every incident overdue at ``now_us`` as far as its lateness asks.

    In its current status an incident overdue by ``d`` is owed ``1 + d // limit`` levels
    (``limit``: the category's limit for that status); the levels already taken in that
    status are its ``escalate`` steps since it entered it. Running twice at the same time
    changes nothing.

    Returns
    -------
    list[IncidentRecord]
        The incidents escalated, as they are now (``last_step_id``: their last escalate
        step).
    """
    system = Actor.system()
    escalated: list[IncidentRecord] = []
    with db.transaction() as session:
        candidates = session.scalars(
            select(Incident)
            .where(*owing(now_us))
            .order_by(Incident.due_us, Incident.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for row in candidates:
            last_step = _escalate(session, row, now_us, system)
            if last_step is not None:
                escalated.append(incident_record(row, last_step))
    return escalated


def owing(now_us: int) -> list[ColumnElement[bool]]:
    """The SQL conditions of an incident owed an escalation at ``now_us``: overdue in a
    timed status, below the province, and owed more levels in its status than its
    ``escalate`` steps since it entered it (so that those escalated as far as they are owed
    never fill a run's batch)."""
    limit = case(
        *(
            (and_(Incident.category == kind.code, Incident.status == status), limit_us)
            for kind in categories().values()
            for status in TIMED_STATUSES
            if (limit_us := kind.limit_us(status))
        ),
        else_=None,
    )
    taken = (
        select(func.count())
        .select_from(IncidentStep)
        .where(
            IncidentStep.incident_id == Incident.id,
            IncidentStep.action == "escalate",
            IncidentStep.at_us >= Incident.status_since_us,
        )
        .correlate(Incident)
        .scalar_subquery()
    )
    # integer division (times are positive: the floor)
    owed = 1 + (literal(now_us, BigInteger) - Incident.due_us) // limit
    return [
        Incident.due_us < now_us,
        Incident.status.in_(TIMED_STATUSES),
        func.coalesce(Incident.escalated_to, Incident.jurisdiction).not_like(PROVINCE_CODES),
        owed > taken,
    ]


def _escalate(session: Session, row: Incident, now_us: int, system: Actor) -> int | None:
    limit = category(row.category).limit_us(row.status)
    if limit is None or row.due_us is None:
        return None
    owed = 1 + (now_us - row.due_us) // limit
    taken = session.scalar(
        select(func.count())
        .select_from(IncidentStep)
        .where(
            IncidentStep.incident_id == row.id,
            IncidentStep.action == "escalate",
            IncidentStep.at_us >= row.status_since_us,
        )
    )
    levels = owed - int(taken or 0)
    if levels <= 0 or parent_of(row.escalated_to or row.jurisdiction) is None:
        return None
    if not claim(session, row.id, row.version):
        return None  # changed since it was read: the next run looks again
    last_step: int | None = None
    for _ in range(levels):
        source = row.escalated_to or row.jurisdiction
        target = parent_of(source)
        if target is None:  # the province answers: nobody above it
            break
        row.escalated_to = target
        row.escalation_level = (row.escalation_level or 0) + 1
        step = append_step(
            session,
            row,
            "escalate",
            from_status=row.status,
            actor=system.name,
            actor_kind=system.kind,
            actor_jurisdiction=None,
            now_us=now_us,
            data={
                "from": source,
                "to": target,
                "overdueBy": (now_us - row.due_us) // 1_000_000,
                "level": row.escalation_level,
            },
        )
        last_step = step.id
    return last_step
