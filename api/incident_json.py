"""The JSON of incidents (camelCase, times ISO 8601 UTC) and their ``incident`` events on the
app's hub: what the incident routes answer and what every part publishing an incident
change (steps, reports, escalation, alerts, Open311) sends to the streams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI

from api.events import Event, event_hub_of
from simulation.incidents.codes import categories, departments
from simulation.incidents.records import AttachmentRecord, IncidentRecord, StepRecord
from simulation.incidents.workflow import ACTIONS, STATUSES, SYSTEM_STEPS, TIMED_STATUSES
from simulation.sensors.times import format_time

EVENT_KIND = "incident"


def iso(us: int | None) -> str | None:
    """``2026-12-03T08:00:00Z`` for a time in microseconds (None stays None)."""
    return None if us is None else format_time(us)


def attachment_url(record: AttachmentRecord) -> str:
    """Where an attachment's bytes are read."""
    return f"/api/incidents/{record.incident_id}/attachments/{record.id}"


def incident_summary(record: IncidentRecord, now_us: int) -> dict[str, Any]:
    """An incident as lists, maps and events show it (``overdue`` judged at ``now_us``)."""
    return {
        "id": record.id,
        "category": record.category,
        "title": record.title,
        "description": record.description,
        "status": record.status,
        "priority": record.priority,
        "source": record.source,
        "jurisdiction": record.jurisdiction,
        "escalatedTo": record.escalated_to,
        "escalationLevel": record.escalation_level,
        "department": record.department,
        "departmentJurisdiction": record.department_jurisdiction,
        "cityObject": record.city_object,
        "lon": record.lon,
        "lat": record.lat,
        "address": record.address,
        "ruleId": record.rule_id,
        "alertActive": record.alert_active,
        "reporter": record.reporter,
        "createdTime": iso(record.created_us),
        "updatedTime": iso(record.updated_us),
        "statusSince": iso(record.status_since_us),
        "dueTime": iso(record.due_us),
        "overdue": record.overdue(now_us),
        "closedTime": iso(record.closed_us),
        "version": record.version,
    }


def step_json(step: StepRecord) -> dict[str, Any]:
    """One step of the history, with its attachments' links."""
    return {
        "id": step.id,
        "action": step.action,
        "from": step.from_status,
        "to": step.to_status,
        "actor": step.actor,
        "actorKind": step.actor_kind,
        "actorJurisdiction": step.actor_jurisdiction,
        "time": iso(step.at_us),
        "note": step.note,
        "department": step.department,
        "data": step.data,
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "mediaType": a.media_type,
                "size": a.size,
                "url": attachment_url(a),
            }
            for a in step.attachments
        ],
    }


def incident_detail(
    record: IncidentRecord,
    steps: Iterable[StepRecord],
    actions: list[str],
    now_us: int,
    *,
    with_contact: bool,
) -> dict[str, Any]:
    """An incident with its history, the actions the caller may take now, its Open311
    attributes, and the reporter's contact for callers who dispatch."""
    detail = incident_summary(record, now_us)
    detail["steps"] = [step_json(step) for step in steps]
    detail["actions"] = actions
    detail["attributes"] = record.attributes or {}
    if with_contact:
        detail["contact"] = record.contact
    return detail


def incident_event(
    record: IncidentRecord, change: str, now_us: int, step_id: int | None = None
) -> Event:
    """The ``incident`` event of a change (a step's action code, ``report``, ``escalate``,
    ``alert_raised``, ``alert_cleared``), in the incident's jurisdiction."""
    data = incident_summary(record, now_us)
    data["change"] = change
    data["stepId"] = record.last_step_id if step_id is None else step_id
    return Event(EVENT_KIND, record.jurisdiction, data)


def publish_incidents(
    app: FastAPI, changes: Iterable[tuple[IncidentRecord, str]], now_us: int
) -> None:
    """Publish the ``incident`` events of ``changes`` (record, change) on ``app``'s hub."""
    events = [incident_event(record, change, now_us) for record, change in changes]
    if events:
        event_hub_of(app).publish_all(events)


def codes_json() -> dict[str, Any]:
    """The code lists of the closed loop: categories (with their time limits and Open311
    attributes), departments, statuses, actions and system steps, in Chinese and English."""
    return {
        "categories": [
            {
                "code": c.code,
                "zh": c.zh,
                "en": c.en,
                "group": c.group,
                "department": c.department,
                "priority": c.priority,
                "icon": c.icon,
                "keywords": list(c.keywords),
                "limitsMinutes": c.limits_minutes,
                "attributes": list(c.attributes),
            }
            for c in categories().values()
        ],
        "departments": [{"code": d.code, "zh": d.zh, "en": d.en} for d in departments().values()],
        "statuses": [
            {
                "code": s.code,
                "zh": s.zh,
                "en": s.en,
                "final": s.final,
                "timed": s.code in TIMED_STATUSES,
                "open311": s.open311,
            }
            for s in STATUSES.values()
        ],
        "actions": [
            {
                "code": a.code,
                "zh": a.zh,
                "en": a.en,
                "from": list(a.sources),
                "to": a.target,
                "permission": a.permission,
                "departmentOnly": a.department_only,
                "needsNote": a.needs_note,
                "needsDepartment": a.needs_department,
            }
            for a in ACTIONS.values()
        ],
        "systemSteps": [
            {"code": code, "zh": zh, "en": en} for code, (zh, en) in SYSTEM_STEPS.items()
        ],
    }
