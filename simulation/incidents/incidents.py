"""Incidents: reporting one, taking the steps of its workflow, reading them.

Every change goes through :func:`simulation.incidents.steps.enter_status` and
:func:`~simulation.incidents.steps.append_step` in one transaction, with the incident's
row locked and its version checked, so that two concurrent steps cannot both pass and the
history never disagrees with the incident.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cim.errors import JurisdictionCodeError
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident
from cim.scope import check_code
from simulation.incidents.actors import Actor
from simulation.incidents.attachments import (
    DEFAULT_MAX_PHOTO_MB,
    check_attachments,
    store_attachments,
)
from simulation.incidents.authority import GERUNDS, allowed_actions, ancestors_or_self, check_actor
from simulation.incidents.codes import category, department, departments
from simulation.incidents.errors import IncidentInputError, NotAllowedError, WrongStatusError
from simulation.incidents.locking import claim
from simulation.incidents.queries import (
    get_incident,
    incident_history,
    list_incidents,
    visible_row,
)
from simulation.incidents.records import (
    PRIORITIES,
    SOURCES,
    AttachmentIn,
    IncidentQuery,
    IncidentRecord,
    IncidentReport,
    StepRecord,
    incident_record,
)
from simulation.incidents.steps import append_step, enter_status
from simulation.incidents.workflow import ACTIONS, action_named, next_status

__all__ = [
    "Actor",
    "AttachmentIn",
    "IncidentQuery",
    "IncidentRecord",
    "IncidentReport",
    "StepRecord",
    "allowed_actions",
    "get_incident",
    "incident_history",
    "list_incidents",
    "report_incident",
    "take_step",
]

DEFAULT_MAX_PHOTO_BYTES = DEFAULT_MAX_PHOTO_MB * 1024 * 1024
MAX_TITLE = 200
MAX_TEXT = 10_000


def report_incident(
    db: OpsDatabase,
    report: IncidentReport,
    actor: Actor,
    *,
    now_us: int,
    max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
) -> IncidentRecord:
    """Store a new incident in status ``reported`` with its ``report`` step by ``actor``.

    The priority defaults to the category's; the time limit is the category's for
    ``reported``.

    Raises
    ------
    IncidentInputError
        An unknown category or source, an empty title, a bad priority, location or
        attachment.
    NotAllowedError
        The actor may not report, or the jurisdiction is outside its scope.
    """
    kind = category(report.category)
    if not actor.may("report"):
        raise NotAllowedError(f"reporting needs the 'report' permission; {actor.describe()}")
    _check_report(report)
    if not actor.scope.contains(report.jurisdiction):
        raise NotAllowedError(
            f"the location is in jurisdiction {report.jurisdiction}, outside"
            f" {actor.name}'s ({actor.jurisdiction})"
        )
    photos = check_attachments(report.attachments, max_photo_bytes)
    with db.transaction() as session:
        incident = Incident(
            category=kind.code,
            title=report.title.strip(),
            description=report.description,
            priority=report.priority or kind.priority,
            source=report.source,
            jurisdiction=report.jurisdiction,
            escalation_level=0,
            city_object=report.city_object,
            lon=report.lon,
            lat=report.lat,
            address=report.address,
            alert_active=False,
            reporter=actor.name,
            contact=report.contact,
            attributes=report.attributes,
            created_us=now_us,
            version=0,
        )
        enter_status(incident, "reported", now_us)
        session.add(incident)
        session.flush()
        step = append_step(
            session,
            incident,
            "report",
            from_status=None,
            actor=actor.name,
            actor_kind=actor.kind,
            actor_jurisdiction=actor.jurisdiction,
            now_us=now_us,
            department=actor.department,
        )
        store_attachments(session, incident.id, step.id, photos, now_us)
        return incident_record(incident, step.id)


def _check_report(report: IncidentReport) -> None:
    if not report.title or not report.title.strip():
        raise IncidentInputError("an incident needs a title")
    if len(report.title) > MAX_TITLE:
        raise IncidentInputError(
            f"the title has {len(report.title)} characters: at most {MAX_TITLE}"
        )
    if len(report.description or "") > MAX_TEXT:
        raise IncidentInputError(f"the description is longer than {MAX_TEXT} characters")
    if report.source not in SOURCES:
        raise IncidentInputError(f"unknown source {report.source!r}: use {', '.join(SOURCES)}")
    if report.priority is not None and report.priority not in PRIORITIES:
        raise IncidentInputError(
            f"priority {report.priority}: use 1 (urgent), 2 (high), 3 (normal) or 4 (low)"
        )
    try:
        check_code(report.jurisdiction)
    except JurisdictionCodeError as exc:
        raise IncidentInputError(str(exc)) from None
    if (report.lon is None) != (report.lat is None):
        raise IncidentInputError("a location needs both lon and lat")
    if report.lon is not None and report.lat is not None:
        if not (math.isfinite(report.lon) and math.isfinite(report.lat)):
            raise IncidentInputError("lon and lat must be finite numbers")
        if not (-180 <= report.lon <= 180 and -90 <= report.lat <= 90):
            raise IncidentInputError(
                f"lon {report.lon}, lat {report.lat}: not a point in degrees (CRS84)"
            )


def take_step(
    db: OpsDatabase,
    incident_id: int,
    action: str,
    actor: Actor,
    *,
    now_us: int,
    note: str = "",
    department: str | None = None,
    department_jurisdiction: str | None = None,
    attachments: Sequence[AttachmentIn] = (),
    expected_version: int | None = None,
    max_photo_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
) -> IncidentRecord:
    """Take the step ``action`` on incident ``incident_id`` as ``actor``.

    Checked in this order: the incident is visible to the actor; the action's
    permission; the actor's jurisdiction (the incident's, or the node it was escalated
    to); the department (for a department's steps); the status; the note; the department
    dispatched to; the version the caller saw.

    Raises
    ------
    IncidentNotFoundError
        No such incident in the actor's scope.
    NotAllowedError
        The actor's permission, jurisdiction or department does not allow the step.
    WrongStatusError
        The status does not allow it, or the incident changed since ``expected_version``.
    IncidentInputError
        An unknown action, a missing note, an unknown department or node, a bad
        attachment.
    """
    if action not in ACTIONS:
        raise IncidentInputError(f"unknown action {action!r}: use {', '.join(ACTIONS)}")
    step_action = action_named(action)
    note = (note or "").strip()
    photos = check_attachments(attachments, max_photo_bytes)
    with db.transaction() as session:
        row = visible_row(session, incident_id, actor.scope, lock=True)
        record = incident_record(row)
        check_actor(record, step_action, actor)
        target = next_status(record.status, step_action.code)
        if step_action.needs_note and not note:
            raise IncidentInputError(
                f"{GERUNDS.get(step_action.code, step_action.code)} needs a note saying why"
                if step_action.code in ("reject", "return", "send_back", "suspend")
                else f"{GERUNDS.get(step_action.code, step_action.code)} needs a note"
            )
        if len(note) > MAX_TEXT:
            raise IncidentInputError(f"the note is longer than {MAX_TEXT} characters")
        dispatched = (
            _dispatch_target(record, actor, department, department_jurisdiction)
            if step_action.needs_department
            else None
        )
        if expected_version is not None and expected_version != record.version:
            raise WrongStatusError(
                f"incident {incident_id} changed meanwhile (version {record.version},"
                f" you saw {expected_version}): reload it and try again"
            )
        if not claim(session, incident_id, record.version):
            raise WrongStatusError(
                f"incident {incident_id} changed meanwhile: reload it and try again"
            )
        if dispatched is not None:
            row.department, row.department_jurisdiction = dispatched
        if target != record.status:
            enter_status(row, target, now_us)
        step = append_step(
            session,
            row,
            step_action.code,
            from_status=record.status,
            actor=actor.name,
            actor_kind=actor.kind,
            actor_jurisdiction=actor.jurisdiction,
            now_us=now_us,
            note=note,
            department=dispatched[0] if dispatched else actor.department,
            data=(
                {"department": dispatched[0], "departmentJurisdiction": dispatched[1]}
                if dispatched
                else None
            ),
        )
        store_attachments(session, incident_id, step.id, photos, now_us)
        return incident_record(row, step.id)


def _dispatch_target(
    record: IncidentRecord,
    actor: Actor,
    department_code: str | None,
    node: str | None,
) -> tuple[str, str]:
    """The department and node a dispatch names, checked."""
    if not department_code:
        raise IncidentInputError(
            f"dispatching needs a department: use {', '.join(departments())}"
            f" ({record.category} usually goes to {category(record.category).department})"
        )
    department(department_code)
    node = node or actor.jurisdiction or record.jurisdiction
    chain = ancestors_or_self(record.jurisdiction)
    if node not in chain:
        raise IncidentInputError(
            f"dispatching to the {department_code} department of {node}: the department must"
            f" belong to the incident's jurisdiction {record.jurisdiction} or a node above it"
        )
    if not actor.scope.contains(node):
        raise NotAllowedError(
            f"dispatching to the {department_code} department of {node}: it is outside"
            f" {actor.name}'s jurisdiction ({actor.jurisdiction})"
        )
    return department_code, node
