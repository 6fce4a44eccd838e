"""Incidents as Open311 service requests: the standard's fields, the workflow's status
mapped to ``open`` or ``closed``, the department as the agency responsible. A citizen's
contact details are never part of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from api.open311.language import Language
from api.open311.services import agency_of, name_of
from api.open311.times import w3c_time
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import IncidentAttachment, IncidentStep
from simulation.incidents.codes import Category, category
from simulation.incidents.records import IncidentRecord
from simulation.incidents.workflow import STATUSES, TIMED_STATUSES

# Keys of an incident's attributes that hold the Open311 fields the platform has no
# column for (next to the service's attribute answers).
MEDIA_URL = "media_url"
ADDRESS_ID = "address_id"


@dataclass(frozen=True)
class RequestExtras:
    """What a service request shows beyond the incident's row: the note of the step that
    set its status, and the first photo's id."""

    status_note: str
    photo_id: int | None


def extras_of(db: OpsDatabase, ids: Iterable[int]) -> dict[int, RequestExtras]:
    """The extras of incidents ``ids`` in two queries (any number of incidents)."""
    wanted = list(ids)
    if not wanted:
        return {}
    notes: dict[int, str] = {}
    photos: dict[int, int] = {}
    with db.transaction() as session:
        # the latest step of each incident that changed its status (or reported it)
        latest = (
            select(func.max(IncidentStep.id))
            .where(
                IncidentStep.incident_id.in_(wanted),
                (IncidentStep.from_status.is_(None))
                | (IncidentStep.from_status != IncidentStep.to_status),
            )
            .group_by(IncidentStep.incident_id)
        )
        for incident_id, note in session.execute(
            select(IncidentStep.incident_id, IncidentStep.note).where(IncidentStep.id.in_(latest))
        ):
            notes[incident_id] = note or ""
        for incident_id, photo_id in session.execute(
            select(IncidentAttachment.incident_id, func.min(IncidentAttachment.id))
            .where(IncidentAttachment.incident_id.in_(wanted))
            .group_by(IncidentAttachment.incident_id)
        ):
            photos[incident_id] = photo_id
    return {i: RequestExtras(notes.get(i, ""), photos.get(i)) for i in wanted}


def service_notice(found: Category, lang: Language) -> str:
    """What is expected to follow a request: who handles it, within how long the whole
    loop (registration to closure) is meant to run by the category's limits."""
    agency = agency_of(found.department, lang)
    minutes = sum(found.limits_minutes[status] for status in TIMED_STATUSES)
    hours, rest = divmod(minutes, 60)
    if lang == "zh":
        span = (f"{hours}小时" if hours else "") + (f"{rest}分钟" if rest else "")
        return f"由{agency}处置\uff0c预计{span}内办结"
    span = " ".join(
        part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part
    )
    return f"Handled by {agency}; expected to be closed within {span}"


def service_request(
    record: IncidentRecord,
    extras: RequestExtras,
    lang: Language,
    *,
    base_url: str,
    with_notes: bool,
) -> dict[str, Any]:
    """An incident as a ``request`` of GET requests (``with_notes``: the note of the step
    that set its status follows the status's name in ``status_notes``)."""
    found = category(record.category)
    status = STATUSES[record.status]
    status_name = status.zh if lang == "zh" else status.en
    note = extras.status_note.strip() if with_notes else ""
    attributes = record.attributes or {}
    media_url = attributes.get(MEDIA_URL)
    if media_url is None and extras.photo_id is not None:
        media_url = f"{base_url}/api/incidents/{record.id}/attachments/{extras.photo_id}"
    return {
        "service_request_id": record.id,
        "status": status.open311,
        "status_notes": f"{status_name}: {note}" if note else status_name,
        "service_name": name_of(found, lang),
        "service_code": record.category,
        "description": record.description or None,
        "agency_responsible": agency_of(record.department or found.department, lang),
        "service_notice": service_notice(found, lang),
        "requested_datetime": w3c_time(record.created_us),
        "updated_datetime": w3c_time(record.updated_us),
        "expected_datetime": w3c_time(record.due_us),
        "address": record.address,
        "address_id": attributes.get(ADDRESS_ID),
        "zipcode": None,
        "lat": record.lat,
        "long": record.lon,
        "media_url": media_url,
    }
