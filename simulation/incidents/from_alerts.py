"""Incidents opened and updated by alerts.

An alert of a rule with a category opens an incident (source ``sensor``, reported by
``rule:<id>``), unless an incident of the same rule on the same city object (with none:
at the same place) is still open: that one gets an ``alert_raised`` step and its alert is
active again. A cleared alert adds ``alert_cleared`` to its incident. The status never
changes here: people register, handle and close the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cim.ops.incident_tables import Alert, Incident
from simulation.incidents.records import IncidentRecord, incident_record
from simulation.incidents.steps import append_step, enter_status
from simulation.incidents.workflow import STATUSES

OPEN_STATUSES = tuple(code for code, status in STATUSES.items() if not status.final)
TITLE_CHARS = 200


class RuleLike(Protocol):
    """What an incident needs of the rule that raised the alert."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def condition(self) -> str: ...
    @property
    def raise_value(self) -> float | None: ...
    @property
    def duration_s(self) -> int: ...
    @property
    def category(self) -> str | None: ...
    @property
    def priority(self) -> int: ...


@dataclass(frozen=True)
class IncidentTouch:
    """What an alert did to an incident: the step it added and the incident after it (for
    the ``"incident"`` event)."""

    incident_id: int
    step_id: int
    change: str  # report | alert_raised | alert_cleared
    created: bool
    record: IncidentRecord


def open_or_update_for_alert(
    session: Session,
    rule: RuleLike,
    alert: Alert,
    *,
    now_us: int,
    city_object: str | None,
    jurisdiction: str,
    lon: float | None,
    lat: float | None,
) -> tuple[int, bool]:
    """Open an incident for ``alert`` (flushed, with its id) or add ``alert_raised`` to the
    open one of the same rule and place; ``(incident id, created)``. Sets the alert's
    ``incident_id``. The rule must have a category."""
    touch = raise_on_incident(
        session, rule, alert, now_us=now_us, city_object=city_object,
        jurisdiction=jurisdiction, lon=lon, lat=lat,
    )  # fmt: skip
    return touch.incident_id, touch.created


def raise_on_incident(
    session: Session,
    rule: RuleLike,
    alert: Alert,
    *,
    now_us: int,
    city_object: str | None,
    jurisdiction: str,
    lon: float | None,
    lat: float | None,
) -> IncidentTouch:
    """:func:`open_or_update_for_alert`, telling what it did."""
    if rule.category is None:
        raise ValueError("a rule without a category opens no incident")
    actor = f"rule:{rule.id}"
    data = _alert_data(alert)
    incident = _open_incident(session, rule.id, city_object, jurisdiction, lon, lat)
    if incident is not None:
        incident.alert_active = True
        step = append_step(
            session, incident, "alert_raised", from_status=incident.status, actor=actor,
            actor_kind="system", actor_jurisdiction=rule.jurisdiction, now_us=now_us, data=data,
        )  # fmt: skip
        alert.incident_id = incident.id
        record = incident_record(incident, step.id)
        return IncidentTouch(incident.id, step.id, "alert_raised", False, record)
    incident = Incident(
        category=rule.category,
        title=rule.name[:TITLE_CHARS],
        description=_description(rule, alert),
        priority=rule.priority,
        source="sensor",
        jurisdiction=jurisdiction,
        escalation_level=0,
        city_object=city_object,
        lon=lon,
        lat=lat,
        rule_id=rule.id,
        alert_active=True,
        reporter=actor,
        attributes={"datastreamId": alert.datastream_id},
        created_us=now_us,
        version=0,
    )
    enter_status(incident, "reported", now_us)
    session.add(incident)
    session.flush()
    step = append_step(
        session, incident, "report", from_status=None, actor=actor, actor_kind="system",
        actor_jurisdiction=rule.jurisdiction, now_us=now_us, data=data,
    )  # fmt: skip
    alert.incident_id = incident.id
    return IncidentTouch(incident.id, step.id, "report", True, incident_record(incident, step.id))


def alert_cleared(session: Session, alert: Alert, *, now_us: int) -> IncidentTouch | None:
    """Record on the alert's incident that its alert cleared (``alert_cleared`` step,
    ``alert_active`` false); nothing when it has none or it is already closed."""
    if alert.incident_id is None:
        return None
    incident = session.get(Incident, alert.incident_id)
    if incident is None or STATUSES[incident.status].final:
        return None
    incident.alert_active = False
    step = append_step(
        session, incident, "alert_cleared", from_status=incident.status,
        actor=f"rule:{alert.rule_id}" if alert.rule_id is not None else "system",
        actor_kind="system", actor_jurisdiction=None, now_us=now_us, data=_alert_data(alert),
    )  # fmt: skip
    record = incident_record(incident, step.id)
    return IncidentTouch(incident.id, step.id, "alert_cleared", False, record)


def _open_incident(
    session: Session,
    rule_id: int,
    city_object: str | None,
    jurisdiction: str,
    lon: float | None,
    lat: float | None,
) -> Incident | None:
    """The newest open incident of ``rule_id`` on ``city_object`` (with none: at ``lon``,
    ``lat`` in ``jurisdiction``)."""
    query = select(Incident).where(Incident.rule_id == rule_id, Incident.status.in_(OPEN_STATUSES))
    if city_object is not None:
        query = query.where(Incident.city_object == city_object)
    else:
        query = query.where(
            Incident.city_object.is_(None),
            Incident.jurisdiction == jurisdiction,
            Incident.lon.is_(None) if lon is None else Incident.lon == lon,
            Incident.lat.is_(None) if lat is None else Incident.lat == lat,
        )
    found: Incident | None = session.scalars(query.order_by(Incident.id.desc()).limit(1)).first()
    return found


def _alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "alertId": alert.id,
        "ruleId": alert.rule_id,
        "datastreamId": alert.datastream_id,
        "value": alert.last_value,
        "peak": alert.peak_value,
    }


def _description(rule: RuleLike, alert: Alert) -> str:
    limit = rule.raise_value
    what = (
        {
            "above": f"above {limit:g}",
            "below": f"below {limit:g}",
            "rate_above": f"rising faster than {limit:g} per second",
        }.get(rule.condition, "silent")
        if limit is not None
        else "silent"
    )
    held = f" for {rule.duration_s} s" if rule.duration_s else ""
    value = "" if alert.first_value is None else f" (value {alert.first_value:g})"
    return (
        f"Datastream {alert.datastream_id} {what}{held}{value}: alert {alert.id} of rule {rule.id}."
    )
