"""Typed records the incident functions take and give (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cim.ops.incident_tables import Incident, IncidentAttachment, IncidentStep

# Where an incident came from.
SOURCES: tuple[str, ...] = ("sensor", "inspector", "hotline", "citizen", "operator")
PRIORITIES: tuple[int, ...] = (1, 2, 3, 4)
Order = Literal["newest", "due", "updated"]
ORDERS: tuple[str, ...] = ("newest", "due", "updated")


@dataclass(frozen=True)
class AttachmentIn:
    """A file sent with a report or a step: its name, declared media type and bytes."""

    filename: str
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class IncidentReport:
    """What a report says. ``jurisdiction`` is the smallest node containing the location
    (the API resolves it from the point or the city object)."""

    category: str
    title: str
    description: str
    source: str
    jurisdiction: str
    priority: int | None = None
    lon: float | None = None
    lat: float | None = None
    city_object: str | None = None
    address: str | None = None
    contact: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None
    attachments: tuple[AttachmentIn, ...] = ()


@dataclass(frozen=True)
class AttachmentRecord:
    """A stored attachment, without its bytes."""

    id: int
    incident_id: int
    step_id: int | None
    filename: str
    media_type: str
    size: int
    sha256: str
    created_us: int


@dataclass(frozen=True)
class AttachmentFile:
    """A stored attachment and its bytes."""

    record: AttachmentRecord
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class StepRecord:
    """One step of an incident's history."""

    id: int
    incident_id: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    actor_kind: str
    actor_jurisdiction: str | None
    at_us: int
    note: str
    department: str | None
    data: dict[str, Any] | None
    attachments: tuple[AttachmentRecord, ...] = ()


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as stored. ``last_step_id`` is the step a write just made (None when
    read)."""

    id: int
    category: str
    title: str
    description: str
    status: str
    priority: int
    source: str
    jurisdiction: str
    escalated_to: str | None
    escalation_level: int
    department: str | None
    department_jurisdiction: str | None
    city_object: str | None
    lon: float | None
    lat: float | None
    address: str | None
    rule_id: int | None
    alert_active: bool
    reporter: str
    contact: dict[str, Any] | None
    attributes: dict[str, Any] | None
    created_us: int
    updated_us: int
    status_since_us: int
    due_us: int | None
    closed_us: int | None
    version: int
    last_step_id: int | None = None

    def overdue(self, now_us: int) -> bool:
        """Whether the time limit of its current status has passed at ``now_us``."""
        return self.due_us is not None and self.due_us < now_us

    @property
    def responsible(self) -> str:
        """The node answering for it now: the one it was escalated to, else its own."""
        return self.escalated_to or self.jurisdiction


@dataclass(frozen=True)
class IncidentQuery:
    """Filters of a list of incidents (each None or empty: no filter).

    ``jurisdiction`` keeps the incidents of that node's subtree; ``bbox`` is (min lon, min
    lat, max lon, max lat); ``overdue_at_us`` keeps those past their limit at that time,
    ``on_time_at_us`` the others (within their limit, or with none);
    ``created_from_us`` is inclusive, ``created_to_us`` exclusive; ``text`` is searched in
    title, description and address.
    """

    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    jurisdiction: str | None = None
    overdue_at_us: int | None = None
    on_time_at_us: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    created_from_us: int | None = None
    created_to_us: int | None = None
    updated_since_us: int | None = None
    ids: tuple[int, ...] = ()
    text: str | None = None
    department: str | None = None
    city_object: str | None = None
    escalated: bool | None = None
    limit: int = 100
    offset: int = 0
    order: Order = "newest"


def incident_record(row: Incident, last_step_id: int | None = None) -> IncidentRecord:
    """The plain record of an incident row."""
    return IncidentRecord(
        id=row.id,
        category=row.category,
        title=row.title,
        description=row.description,
        status=row.status,
        priority=row.priority,
        source=row.source,
        jurisdiction=row.jurisdiction,
        escalated_to=row.escalated_to,
        escalation_level=row.escalation_level or 0,
        department=row.department,
        department_jurisdiction=row.department_jurisdiction,
        city_object=row.city_object,
        lon=row.lon,
        lat=row.lat,
        address=row.address,
        rule_id=row.rule_id,
        alert_active=bool(row.alert_active),
        reporter=row.reporter,
        contact=row.contact,
        attributes=row.attributes,
        created_us=row.created_us,
        updated_us=row.updated_us,
        status_since_us=row.status_since_us,
        due_us=row.due_us,
        closed_us=row.closed_us,
        version=row.version or 0,
        last_step_id=last_step_id,
    )


def attachment_record(row: IncidentAttachment) -> AttachmentRecord:
    """The plain record of an attachment row (without its bytes)."""
    return AttachmentRecord(
        id=row.id,
        incident_id=row.incident_id,
        step_id=row.step_id,
        filename=row.filename,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        created_us=row.created_us,
    )


def step_record(row: IncidentStep, attachments: tuple[AttachmentRecord, ...] = ()) -> StepRecord:
    """The plain record of a step row."""
    return StepRecord(
        id=row.id,
        incident_id=row.incident_id,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        actor=row.actor,
        actor_kind=row.actor_kind,
        actor_jurisdiction=row.actor_jurisdiction,
        at_us=row.at_us,
        note=row.note or "",
        department=row.department,
        data=row.data,
        attachments=attachments,
    )
