"""Reading incidents: one, its history, or a filtered page, always within a scope (an
incident outside it is not found)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from cim.errors import JurisdictionCodeError
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentAttachment, IncidentStep
from cim.ops.scoping import within
from cim.scope import Scope, check_code
from simulation.incidents.errors import IncidentInputError, IncidentNotFoundError
from simulation.incidents.records import (
    ORDERS,
    AttachmentRecord,
    IncidentQuery,
    IncidentRecord,
    StepRecord,
    attachment_record,
    incident_record,
    step_record,
)

MAX_LIMIT = 1000


def visible_row(
    session: Session, incident_id: int, scope: Scope, *, lock: bool = False
) -> Incident:
    """The incident row ``incident_id`` when ``scope`` contains it (``lock``: for update).

    Raises
    ------
    IncidentNotFoundError
        No such incident, or it is outside ``scope``.
    """
    query = select(Incident).where(Incident.id == incident_id, within(Incident.jurisdiction, scope))
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise IncidentNotFoundError(f"no incident {incident_id} in your jurisdiction")
    return row


def get_incident(db: OpsDatabase, incident_id: int, scope: Scope) -> IncidentRecord:
    """The incident ``incident_id`` (IncidentNotFoundError outside ``scope``)."""
    with db.transaction() as session:
        return incident_record(visible_row(session, incident_id, scope))


def incident_history(db: OpsDatabase, incident_id: int, scope: Scope) -> list[StepRecord]:
    """The steps of incident ``incident_id`` in the order taken, with their attachments."""
    with db.transaction() as session:
        visible_row(session, incident_id, scope)
        return history_of(session, incident_id)


def history_of(session: Session, incident_id: int) -> list[StepRecord]:
    """The steps of an incident already checked to be visible."""
    attachments: dict[int | None, list[AttachmentRecord]] = defaultdict(list)
    for row in session.scalars(
        select(IncidentAttachment)
        .where(IncidentAttachment.incident_id == incident_id)
        .order_by(IncidentAttachment.id)
    ):
        attachments[row.step_id].append(attachment_record(row))
    steps = session.scalars(
        select(IncidentStep)
        .where(IncidentStep.incident_id == incident_id)
        .order_by(IncidentStep.id)
    )
    return [step_record(row, tuple(attachments.get(row.id, ()))) for row in steps]


def list_incidents(
    db: OpsDatabase, scope: Scope, query: IncidentQuery
) -> tuple[list[IncidentRecord], int]:
    """The incidents of ``scope`` that ``query`` keeps (one page) and how many it keeps in
    all.

    Raises
    ------
    IncidentInputError
        A bad limit, offset, order, bounding box or jurisdiction code.
    """
    conditions = _conditions(scope, query)
    if not 0 < query.limit <= MAX_LIMIT:
        raise IncidentInputError(f"limit {query.limit}: use 1 to {MAX_LIMIT}")
    if query.offset < 0:
        raise IncidentInputError(f"offset {query.offset} is negative")
    page: Select[Incident] = (
        select(Incident).where(*conditions).limit(query.limit).offset(query.offset)
    )
    if query.order == "due":
        page = page.order_by(Incident.due_us.is_(None), Incident.due_us, Incident.id)
    elif query.order == "updated":
        page = page.order_by(Incident.updated_us.desc(), Incident.id.desc())
    elif query.order == "newest":
        page = page.order_by(Incident.created_us.desc(), Incident.id.desc())
    else:
        raise IncidentInputError(f"order {query.order!r}: use {', '.join(ORDERS)}")
    with db.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Incident).where(*conditions))
        return [incident_record(row) for row in session.scalars(page)], int(total or 0)


def _conditions(scope: Scope, query: IncidentQuery) -> list[ColumnElement[bool]]:
    conditions = [within(Incident.jurisdiction, scope)]
    if query.statuses:
        conditions.append(Incident.status.in_(query.statuses))
    if query.categories:
        conditions.append(Incident.category.in_(query.categories))
    if query.sources:
        conditions.append(Incident.source.in_(query.sources))
    if query.ids:
        conditions.append(Incident.id.in_(query.ids))
    if query.jurisdiction:
        try:
            node = Scope.of(check_code(query.jurisdiction))
        except JurisdictionCodeError as exc:
            raise IncidentInputError(str(exc)) from None
        conditions.append(within(Incident.jurisdiction, node))
    if query.overdue_at_us is not None:
        conditions.append(Incident.due_us < query.overdue_at_us)
    if query.on_time_at_us is not None:
        conditions.append(or_(Incident.due_us.is_(None), Incident.due_us >= query.on_time_at_us))
    if query.bbox is not None:
        conditions.extend(_bbox(query.bbox))
    if query.created_from_us is not None:
        conditions.append(Incident.created_us >= query.created_from_us)
    if query.created_to_us is not None:
        conditions.append(Incident.created_us < query.created_to_us)
    if query.updated_since_us is not None:
        conditions.append(Incident.updated_us >= query.updated_since_us)
    if query.department:
        conditions.append(Incident.department == query.department)
    if query.city_object:
        conditions.append(Incident.city_object == query.city_object)
    if query.escalated is not None:
        conditions.append(
            Incident.escalated_to.is_not(None)
            if query.escalated
            else Incident.escalated_to.is_(None)
        )
    if query.text:
        pattern = "%" + _escape_like(query.text.strip()) + "%"
        conditions.append(
            or_(
                Incident.title.ilike(pattern, escape="\\"),
                Incident.description.ilike(pattern, escape="\\"),
                Incident.address.ilike(pattern, escape="\\"),
            )
        )
    return conditions


def _bbox(bbox: tuple[float, float, float, float]) -> list[ColumnElement[bool]]:
    west, south, east, north = bbox
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise IncidentInputError(
            f"bbox {','.join(f'{v:g}' for v in bbox)}: use west,south,east,north in degrees"
        )
    return [
        Incident.lon >= west,
        Incident.lon <= east,
        Incident.lat >= south,
        Incident.lat <= north,
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
