"""Reading alerts: the newest first, inside the caller's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Alert, AlertRule
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.incidents.errors import IncidentInputError

STATUSES = ("active", "cleared")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class AlertRecord:
    """An alert with the name and category of its rule (None once the rule is deleted)."""

    id: int
    rule_id: int | None
    rule_name: str | None
    category: str | None
    datastream_id: int | None
    city_object: str | None
    jurisdiction: str
    status: str
    raised_us: int
    cleared_us: int | None
    first_value: float | None
    peak_value: float | None
    last_value: float | None
    incident_id: int | None


def list_alerts(
    db: OpsDatabase,
    scope: Scope,
    *,
    status: str | None = None,
    datastream_id: int | None = None,
    city_object: str | None = None,
    limit: int = 100,
) -> list[AlertRecord]:
    """The alerts in ``scope`` (of ``status``, on a datastream, on a city object), newest
    first, at most ``limit`` (1 to 1 000)."""
    if status is not None and status not in STATUSES:
        raise IncidentInputError(f"status {status!r}: active or cleared")
    if city_object is not None and (len(city_object) > 64 or "\x00" in city_object):
        raise IncidentInputError("a city object id has at most 64 characters, none of them NUL")
    if not 1 <= limit <= MAX_LIMIT:
        raise IncidentInputError(f"limit {limit}: 1 to {MAX_LIMIT}")
    a, r = Alert, AlertRule
    query = (
        select(
            a.id,
            a.rule_id,
            r.name,
            r.category,
            a.datastream_id,
            a.city_object,
            a.jurisdiction,
            a.status,
            a.raised_us,
            a.cleared_us,
            a.first_value,
            a.peak_value,
            a.last_value,
            a.incident_id,
        )
        .outerjoin(r, r.id == a.rule_id)
        .where(within(a.jurisdiction, scope))
        .order_by(a.raised_us.desc(), a.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(a.status == status)
    if datastream_id is not None:
        query = query.where(a.datastream_id == datastream_id)
    if city_object is not None:
        query = query.where(a.city_object == city_object)
    with db.engine.connect() as conn:
        rows: list[Any] = list(conn.execute(query))
        return [AlertRecord(*row) for row in rows]
