"""Alert rules: thresholds on datastreams, created, changed, listed and deleted inside the
caller's jurisdiction.

A rule watches exactly one target: one datastream, every datastream of an observed
property, or every datastream whose Thing sits in a city object of a class; always only
datastreams inside the rule's ``jurisdiction``. Conditions:

- ``above``: raised when the value is above ``raise_value`` for ``duration_s``; cleared once
  it is back at or below ``clear_value`` (default ``raise_value``; hysteresis: at most
  ``raise_value``);
- ``below``: the mirror image (``clear_value`` at least ``raise_value``);
- ``rate_above``: the change per second between two successive values above
  ``raise_value``; cleared at or below ``clear_value``;
- ``silent``: nothing received for ``duration_s`` (more than 0); the next value clears it.

A rule with a ``category`` (a code of :mod:`simulation.incidents.codes`) opens an incident
when it raises an alert; without one it raises alerts only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cim.errors import CimError
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Alert, AlertRule
from cim.ops.scoping import within
from cim.scope import Scope, check_code
from simulation.incidents.codes import category as category_named
from simulation.incidents.errors import (
    IncidentInputError,
    IncidentNotFoundError,
    NotAllowedError,
)

CONDITIONS = ("above", "below", "rate_above", "silent")
PRIORITIES = (1, 2, 3, 4)
NAME_CHARS = 200
CLASS_CHARS = 64
# The longest silence or duration a rule may ask for: a year.
MAX_DURATION_S = 366 * 24 * 3600


@dataclass(frozen=True)
class RuleIn:
    """A rule as a caller describes it (see the module's docstring)."""

    name: str
    jurisdiction: str
    condition: str
    raise_value: float | None = None
    clear_value: float | None = None
    duration_s: int = 0
    datastream_id: int | None = None
    observed_property_id: int | None = None
    object_class: str | None = None
    category: str | None = None
    priority: int = 3
    enabled: bool = True


# The fields of a rule a change may set.
CHANGEABLE = frozenset(f.name for f in fields(RuleIn))


@dataclass(frozen=True)
class RuleRecord:
    """A stored rule."""

    id: int
    name: str
    jurisdiction: str
    condition: str
    raise_value: float | None
    clear_value: float | None
    duration_s: int
    datastream_id: int | None
    observed_property_id: int | None
    object_class: str | None
    category: str | None
    priority: int
    enabled: bool
    created_by: str
    created_us: int
    updated_us: int

    @classmethod
    def of(cls, row: AlertRule) -> RuleRecord:
        """The record of a stored row."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    @property
    def description(self) -> RuleIn:
        """The rule as a caller would describe it."""
        mine = asdict(self)
        return RuleIn(**{name: mine[name] for name in CHANGEABLE})


def create_rule(
    db: OpsDatabase, rule: RuleIn, *, creator: str, scope: Scope, now_us: int
) -> RuleRecord:
    """Store ``rule`` made by ``creator`` (a user name or ``key:<id>``) whose scope is
    ``scope``; refused (:class:`IncidentInputError`, :class:`NotAllowedError`) when not
    valid or outside the scope."""
    with db.transaction() as session:
        checked = _checked(session, rule, scope)
        row = AlertRule(**asdict(checked), created_by=creator, created_us=now_us, updated_us=now_us)
        session.add(row)
        session.flush()
        return RuleRecord.of(row)


def update_rule(
    db: OpsDatabase, rule_id: int, changes: Mapping[str, Any], *, scope: Scope, now_us: int
) -> RuleRecord:
    """Change the fields ``changes`` names (those of :class:`RuleIn`) of a rule in
    ``scope``; the whole rule is checked again. A clear value left at its default (the
    raise value) follows a new raise value or condition. Disabling a rule clears its active alerts
    (see :func:`clear_alerts_of`)."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise IncidentInputError(f"a rule has no field {', '.join(unknown)}")
    with db.transaction() as session:
        row = _row(session, rule_id, scope)
        current = RuleRecord.of(row).description
        if "clear_value" not in changes and (
            "condition" in changes
            or ("raise_value" in changes and current.clear_value == current.raise_value)
        ):
            changes = {**changes, "clear_value": None}  # the default moves with them
        checked = _checked(session, replace(current, **changes), scope)
        for name, value in asdict(checked).items():
            setattr(row, name, value)
        row.updated_us = now_us
        if not checked.enabled:
            clear_alerts_of(session, row.id, now_us)
        session.flush()
        return RuleRecord.of(row)


def delete_rule(db: OpsDatabase, rule_id: int, *, scope: Scope, now_us: int) -> RuleRecord:
    """Delete a rule in ``scope`` (its states go with it; its alerts, cleared now, and its
    incidents stay); the rule as it was."""
    with db.transaction() as session:
        row = _row(session, rule_id, scope)
        record = RuleRecord.of(row)
        clear_alerts_of(session, row.id, now_us)
        session.delete(row)
        return record


def get_rule(db: OpsDatabase, rule_id: int, scope: Scope) -> RuleRecord:
    """The rule ``rule_id`` (404 when missing or outside ``scope``)."""
    with db.transaction() as session:
        return RuleRecord.of(_row(session, rule_id, scope))


def list_rules(db: OpsDatabase, scope: Scope) -> list[RuleRecord]:
    """The rules whose jurisdiction lies in ``scope``, by id."""
    with db.transaction() as session:
        rows = session.scalars(
            select(AlertRule).where(within(AlertRule.jurisdiction, scope)).order_by(AlertRule.id)
        )
        return [RuleRecord.of(row) for row in rows]


def clear_alerts_of(session: Session, rule_id: int, now_us: int) -> int:
    """Clear the active alerts of a rule that is going away or being disabled (their
    incidents get an ``alert_cleared`` step); how many."""
    from simulation.incidents.from_alerts import alert_cleared

    active = session.scalars(
        select(Alert).where(Alert.rule_id == rule_id, Alert.status == "active")
    ).all()
    for alert in active:
        alert.status = "cleared"
        alert.cleared_us = now_us
        alert_cleared(session, alert, now_us=now_us)
    return len(active)


def _row(session: Session, rule_id: int, scope: Scope) -> AlertRule:
    row = session.get(AlertRule, rule_id)
    if row is None or not scope.contains(row.jurisdiction):
        raise IncidentNotFoundError(f"no alert rule {rule_id}")
    return row


def _checked(session: Session, rule: RuleIn, scope: Scope) -> RuleIn:
    """``rule`` validated, with its defaults filled in."""
    name = rule.name.strip() if isinstance(rule.name, str) else ""
    if not name or len(name) > NAME_CHARS or "\x00" in name:
        raise IncidentInputError(f"a rule needs a name of 1 to {NAME_CHARS} characters")
    jurisdiction = _jurisdiction(rule.jurisdiction, scope)
    targets = [
        label
        for label, value in (
            ("datastream", rule.datastream_id),
            ("observed property", rule.observed_property_id),
            ("object class", rule.object_class),
        )
        if value is not None
    ]
    if len(targets) != 1:
        given = ", ".join(targets) or "none"
        raise IncidentInputError(
            "a rule watches exactly one of a datastream, an observed property or an object"
            f" class (given: {given})"
        )
    _check_target(session, rule, jurisdiction, scope)
    raise_value, clear_value = _thresholds(rule)
    duration = _duration(rule)
    if rule.category is not None:
        category_named(rule.category)  # unknown: IncidentInputError naming the known ones
    if rule.priority not in PRIORITIES:
        raise IncidentInputError(f"priority {rule.priority!r}: 1 (urgent) to 4 (low)")
    if not isinstance(rule.enabled, bool):
        raise IncidentInputError("enabled is true or false")
    return replace(
        rule,
        name=name,
        jurisdiction=jurisdiction,
        raise_value=raise_value,
        clear_value=clear_value,
        duration_s=duration,
        object_class=None if rule.object_class is None else rule.object_class.strip(),
    )


def _jurisdiction(code: str, scope: Scope) -> str:
    try:
        checked = check_code(code)
    except CimError as exc:
        raise IncidentInputError(f"jurisdiction: {exc}") from None
    if not scope.contains(checked):
        raise NotAllowedError(f"jurisdiction {checked} is outside yours")
    return checked


def _check_target(session: Session, rule: RuleIn, jurisdiction: str, scope: Scope) -> None:
    if rule.datastream_id is not None:
        found = session.get(t.Datastream, rule.datastream_id)
        if found is None or not scope.contains(found.jurisdiction):
            raise IncidentInputError(
                f"Datastream {rule.datastream_id} does not exist or is outside your jurisdiction"
            )
        if not Scope.of(jurisdiction).contains(found.jurisdiction):
            raise IncidentInputError(
                f"Datastream {rule.datastream_id} lies in {found.jurisdiction}, outside the"
                f" rule's jurisdiction {jurisdiction}"
            )
    elif rule.observed_property_id is not None:
        prop = session.get(t.ObservedProperty, rule.observed_property_id)
        if prop is None or not scope.contains(prop.jurisdiction):
            raise IncidentInputError(
                f"ObservedProperty {rule.observed_property_id} does not exist or is outside"
                " your jurisdiction"
            )
    else:
        assert rule.object_class is not None
        cls = rule.object_class.strip() if isinstance(rule.object_class, str) else ""
        if not cls or len(cls) > CLASS_CHARS or "\x00" in cls:
            raise IncidentInputError(f"an object class of 1 to {CLASS_CHARS} characters")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise IncidentInputError(f"{name} must be a finite number (given: {value!r})")
    return float(value)


def _thresholds(rule: RuleIn) -> tuple[float | None, float | None]:
    if rule.condition not in CONDITIONS:
        raise IncidentInputError(f"condition {rule.condition!r}: one of {', '.join(CONDITIONS)}")
    if rule.condition == "silent":
        if rule.raise_value is not None or rule.clear_value is not None:
            raise IncidentInputError("a silent rule has no raise or clear value")
        return None, None
    if rule.raise_value is None:
        raise IncidentInputError(f"an {rule.condition!r} rule needs a raise value")
    raise_value = _number(rule.raise_value, "raise value")
    if rule.clear_value is None:
        return raise_value, raise_value
    clear_value = _number(rule.clear_value, "clear value")
    if rule.condition == "below" and clear_value < raise_value:
        raise IncidentInputError(
            f"a 'below' rule clears at or above its raise value {raise_value:g}"
            f" (given clear value {clear_value:g})"
        )
    if rule.condition != "below" and clear_value > raise_value:
        raise IncidentInputError(
            f"an {rule.condition!r} rule clears at or below its raise value {raise_value:g}"
            f" (given clear value {clear_value:g})"
        )
    return raise_value, clear_value


def _duration(rule: RuleIn) -> int:
    duration = rule.duration_s
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise IncidentInputError(f"duration must be a whole number of seconds ({duration!r})")
    if not 0 <= duration <= MAX_DURATION_S:
        raise IncidentInputError(f"duration must be 0 to {MAX_DURATION_S} seconds ({duration})")
    if rule.condition == "silent" and duration == 0:
        raise IncidentInputError("a silent rule needs a duration of silence above 0 seconds")
    return duration
