"""The tables of the closed loop: alert rules and their alerts, incidents and their steps.

An **alert rule** watches datastreams (one datastream, every datastream of an observed
property, or those in city objects of a class) inside its jurisdiction: a value above (or
below) ``raise_value`` for at least ``duration_s`` raises an alert, which clears once the
value is back past ``clear_value`` (hysteresis); ``rate_above`` compares the change per
second; ``silent`` raises when a datastream sends nothing for ``duration_s``. The state of
each rule on each datastream (since when the condition holds, the active alert) is one row
of ``alert_states``; every alert raised is a row of ``alerts``.

An **incident** goes through the workflow of :mod:`simulation.incidents.workflow`
(modelled on GB/T 30428). Its ``jurisdiction`` is the smallest node containing its
location (routing); ``due_us`` is the time limit of its current step. Every step taken is a
row of ``incident_steps`` and every photo one of ``incident_attachments``: both are
append-only (triggers refuse UPDATE and DELETE, as for the audit log), and incidents are
never deleted.

Times are microseconds since 1970-01-01 UTC, as in :mod:`cim.ops.sensor_tables`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cim.ops.models import Base, BigId

TimeUs = BigInteger
Json = JSON(none_as_null=True)
# Category, department, status and action codes.
Code = String(40)


class AlertRule(Base):
    """A threshold on datastreams that raises alerts (and opens incidents)."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # the rule watches datastreams in this node's subtree
    jurisdiction: Mapped[str] = mapped_column(String(12), index=True)
    # what it watches: exactly one of these three
    datastream_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sta_datastreams.id", ondelete="CASCADE"), index=True
    )
    observed_property_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), index=True
    )
    object_class: Mapped[str | None] = mapped_column(String(64))
    # above | below | rate_above | silent
    condition: Mapped[str] = mapped_column(String(16))
    raise_value: Mapped[float | None] = mapped_column(Float)
    clear_value: Mapped[float | None] = mapped_column(Float)
    # how long the condition must hold before the alert is raised (silent: the silence)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    # the incident an alert opens: its category and priority (no category: alerts only)
    category: Mapped[str | None] = mapped_column(Code)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(TimeUs)
    updated_us: Mapped[int] = mapped_column(TimeUs)


class AlertState(Base):
    """Where one rule stands on one datastream."""

    __tablename__ = "alert_states"

    rule_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    datastream_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sta_datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    # since when the condition holds (None: it does not)
    condition_since_us: Mapped[int | None] = mapped_column(TimeUs)
    # the latest phenomenon time evaluated, and its value (rates need the one before)
    last_us: Mapped[int | None] = mapped_column(TimeUs)
    last_value: Mapped[float | None] = mapped_column(Float)
    # the alert raised and not yet cleared
    alert_id: Mapped[int | None] = mapped_column(BigInteger)


class Alert(Base):
    """A rule's condition held long enough on a datastream: raised, then cleared."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_jurisdiction", "status", "jurisdiction"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True
    )
    datastream_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sta_datastreams.id", ondelete="SET NULL"), index=True
    )
    city_object: Mapped[str | None] = mapped_column(String(64), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(12))
    # active | cleared
    status: Mapped[str] = mapped_column(String(16))
    raised_us: Mapped[int] = mapped_column(TimeUs)
    cleared_us: Mapped[int | None] = mapped_column(TimeUs)
    first_value: Mapped[float | None] = mapped_column(Float)
    peak_value: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incidents.id"), index=True
    )


class Incident(Base):
    """A city event on its way from report to closure."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_jurisdiction_status", "jurisdiction", "status"),
        Index("ix_incidents_object_rule", "city_object", "rule_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category: Mapped[str] = mapped_column(Code, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # a status of simulation.incidents.workflow.STATUSES
    status: Mapped[str] = mapped_column(Code)
    # 1 urgent, 2 high, 3 normal, 4 low
    priority: Mapped[int] = mapped_column(Integer)
    # sensor | inspector | hotline | citizen | operator
    source: Mapped[str] = mapped_column(String(16))
    # the smallest jurisdiction containing the location (routing)
    jurisdiction: Mapped[str] = mapped_column(String(12))
    # the ancestor an overdue incident was escalated to, and how many levels up
    escalated_to: Mapped[str | None] = mapped_column(String(12), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # the department it is dispatched to, in that node
    department: Mapped[str | None] = mapped_column(Code)
    department_jurisdiction: Mapped[str | None] = mapped_column(String(12))
    # where: a point (CRS84), a city object, a free address; any of them may be missing
    city_object: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    # the rule whose alert opened it, and whether that alert is still active
    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_rules.id", ondelete="SET NULL")
    )
    alert_active: Mapped[bool] = mapped_column(Boolean, default=False)
    # who reported it (a user, ``key:<id>``, ``rule:<id>``) and a citizen's contact details
    reporter: Mapped[str] = mapped_column(String(200))
    contact: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Open311 attributes and other details given at report
    attributes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_us: Mapped[int] = mapped_column(TimeUs, index=True)
    updated_us: Mapped[int] = mapped_column(TimeUs)
    # when it entered its status, and the time limit of the step it waits for (None: final)
    status_since_us: Mapped[int] = mapped_column(TimeUs)
    due_us: Mapped[int | None] = mapped_column(TimeUs, index=True)
    closed_us: Mapped[int | None] = mapped_column(TimeUs)
    # steps taken so far (a step names the version it was taken on: concurrent steps fail)
    version: Mapped[int] = mapped_column(Integer, default=0)


class IncidentStep(Base):
    """One step of an incident's history (append-only)."""

    __tablename__ = "incident_steps"
    # an incident's history in order (statistics walk every incident's steps by time)
    __table_args__ = (Index("ix_incident_steps_incident_at", "incident_id", "at_us", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    # an action of simulation.incidents.workflow.ACTIONS, or a system step
    action: Mapped[str] = mapped_column(Code)
    from_status: Mapped[str | None] = mapped_column(Code)
    to_status: Mapped[str] = mapped_column(Code)
    # who: a user name, ``key:<id>``, ``system``, or a citizen's name
    actor: Mapped[str] = mapped_column(String(200))
    # user | key | system | citizen
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_jurisdiction: Mapped[str | None] = mapped_column(String(12))
    at_us: Mapped[int] = mapped_column(TimeUs)
    note: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str | None] = mapped_column(Code)
    # anything else the step carries (the alert's values, the escalation target...)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)


class IncidentAttachment(Base):
    """A photo (or other file) attached to an incident at a step (append-only)."""

    __tablename__ = "incident_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("incident_steps.id"))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_us: Mapped[int] = mapped_column(TimeUs)
