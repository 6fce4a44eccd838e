"""Writing an incident's history: entering a status (with the time limit of the step it
waits for) and appending a step. Every change of an incident goes through these two, in
the transaction that changes it, so the history and the incident never disagree."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cim.ops.incident_tables import Incident, IncidentStep
from simulation.incidents.codes import category
from simulation.incidents.workflow import STATUSES


def due_time(category_code: str, status: str, since_us: int) -> int | None:
    """When an incident of ``category_code`` that entered ``status`` at ``since_us`` is
    overdue (None: no limit in that status)."""
    limit = category(category_code).limit_us(status)
    return None if limit is None else since_us + limit


def enter_status(incident: Incident, status: str, now_us: int) -> None:
    """Put ``incident`` in ``status`` at ``now_us``: its time limit restarts, a final
    status stamps the closing time."""
    incident.status = status
    incident.status_since_us = now_us
    incident.due_us = due_time(incident.category, status, now_us)
    incident.closed_us = now_us if STATUSES[status].final else None
    incident.updated_us = now_us


def append_step(
    session: Session,
    incident: Incident,
    action: str,
    *,
    from_status: str | None,
    actor: str,
    actor_kind: str,
    actor_jurisdiction: str | None,
    now_us: int,
    note: str = "",
    department: str | None = None,
    data: dict[str, Any] | None = None,
) -> IncidentStep:
    """Record a step taken on ``incident`` (already in its new status) and count it in the
    incident's version; the step's id is set on return."""
    incident.version = (incident.version or 0) + 1
    incident.updated_us = now_us
    step = IncidentStep(
        incident_id=incident.id,
        action=action,
        from_status=from_status,
        to_status=incident.status,
        actor=actor,
        actor_kind=actor_kind,
        actor_jurisdiction=actor_jurisdiction,
        at_us=now_us,
        note=note,
        department=department,
        data=data,
    )
    session.add(step)
    session.flush()
    return step
