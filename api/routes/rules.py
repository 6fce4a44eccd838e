"""Alert rules (``/api/rules``: read by anyone signed in, written with the ``rules``
permission, always inside the caller's jurisdiction) and the alerts they raised
(``/api/alerts``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.alert_engine import alert_engine_of
from api.auth.audit import record_write
from api.auth.deps import require
from api.auth.principal import Principal
from api.auth.state import auth_state
from api.deps import OpsDep, ScopeDep
from simulation.incidents import rules as domain
from simulation.incidents.alert_list import MAX_LIMIT, AlertRecord, list_alerts
from simulation.sensors.times import format_time

router = APIRouter(tags=["alerts"])

RuleWriter = Annotated[Principal, Depends(require("rules"))]
MAX_ID = 2**63 - 1
RuleId = Annotated[int, Path(ge=1, le=MAX_ID)]
# ids in a body: what a BIGINT column holds
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RuleChange(_Camel):
    """The fields of a rule to change (``PATCH``): only those given change."""

    name: str | None = None
    jurisdiction: str | None = Field(None, description="12-digit code inside yours")
    condition: str | None = Field(None, description="above, below, rate_above or silent")
    raise_value: float | None = None
    clear_value: float | None = Field(
        None, description="hysteresis: at or below the raise value (below: at or above)"
    )
    duration_seconds: int | None = Field(
        None, description="how long the condition must hold (silent: the silence)"
    )
    datastream_id: BodyId | None = None
    observed_property_id: BodyId | None = None
    object_class: str | None = None
    category: str | None = Field(None, description="incident category (none: alerts only)")
    priority: int | None = Field(None, description="1 urgent to 4 low")
    enabled: bool | None = None


class RuleBody(RuleChange):
    """A new rule: a name, a condition and exactly one target; the jurisdiction defaults
    to the caller's."""

    name: str
    condition: str


class RuleJson(_Camel):
    """A stored rule."""

    id: int
    name: str
    jurisdiction: str
    condition: str
    raise_value: float | None
    clear_value: float | None
    duration_seconds: int
    datastream_id: int | None
    observed_property_id: int | None
    object_class: str | None
    category: str | None
    priority: int
    enabled: bool
    created_by: str
    created_time: str
    updated_time: str


class AlertJson(_Camel):
    """An alert raised by a rule on a datastream."""

    id: int
    rule_id: int | None
    rule_name: str | None
    category: str | None
    datastream_id: int | None
    city_object: str | None
    jurisdiction: str
    status: str
    raised_time: str
    cleared_time: str | None
    first_value: float | None
    peak_value: float | None
    last_value: float | None
    incident_id: int | None


def _domain_fields(change: RuleChange) -> dict[str, Any]:
    given = change.model_dump(exclude_unset=True)
    if "duration_seconds" in given:
        given["duration_s"] = given.pop("duration_seconds")
    return given


def _json(rule: domain.RuleRecord) -> RuleJson:
    return RuleJson(
        id=rule.id, name=rule.name, jurisdiction=rule.jurisdiction, condition=rule.condition,
        raise_value=rule.raise_value, clear_value=rule.clear_value,
        duration_seconds=rule.duration_s, datastream_id=rule.datastream_id,
        observed_property_id=rule.observed_property_id, object_class=rule.object_class,
        category=rule.category, priority=rule.priority, enabled=rule.enabled,
        created_by=rule.created_by, created_time=format_time(rule.created_us),
        updated_time=format_time(rule.updated_us),
    )  # fmt: skip


def _now_us(request: Request) -> int:
    moment = auth_state(request).clock()
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _changed(request: Request) -> None:
    engine = alert_engine_of(request.app)
    if engine is not None:
        engine.rules_changed()


@router.get("/api/rules", response_model=list[RuleJson])
def get_rules(db: OpsDep, scope: ScopeDep) -> list[RuleJson]:
    """The rules of the caller's jurisdiction and below."""
    return [_json(rule) for rule in domain.list_rules(db, scope)]


@router.post("/api/rules", response_model=RuleJson, status_code=201)
def post_rule(
    body: RuleBody, request: Request, db: OpsDep, scope: ScopeDep, writer: RuleWriter
) -> RuleJson:
    """Make a rule (422 naming what is wrong; 403 for a jurisdiction outside yours)."""
    given = _domain_fields(body)
    given.setdefault("jurisdiction", writer.jurisdiction)
    given = {key: value for key, value in given.items() if value is not None}
    made = domain.create_rule(
        db, domain.RuleIn(**given), creator=writer.subject, scope=scope, now_us=_now_us(request)
    )
    record_write(request, writer, "rules", f"rule:{made.id}", details={"name": made.name})
    _changed(request)
    return _json(made)


@router.get("/api/rules/{rule_id}", response_model=RuleJson)
def get_rule(rule_id: RuleId, db: OpsDep, scope: ScopeDep) -> RuleJson:
    """One rule (404 when missing or outside the caller's jurisdiction)."""
    return _json(domain.get_rule(db, rule_id, scope))


@router.patch("/api/rules/{rule_id}", response_model=RuleJson)
def patch_rule(
    rule_id: RuleId,
    body: RuleChange,
    request: Request,
    db: OpsDep,
    scope: ScopeDep,
    writer: RuleWriter,
) -> RuleJson:
    """Change the fields given (the rule is checked whole again; disabling it clears its
    active alerts)."""
    changes = _domain_fields(body)
    changed = domain.update_rule(db, rule_id, changes, scope=scope, now_us=_now_us(request))
    record_write(request, writer, "rules", f"rule:{rule_id}", details={"changed": sorted(changes)})
    _changed(request)
    return _json(changed)


@router.delete("/api/rules/{rule_id}", status_code=204)
def delete_rule(
    rule_id: RuleId, request: Request, db: OpsDep, scope: ScopeDep, writer: RuleWriter
) -> Response:
    """Delete a rule (its alerts are cleared and kept; its incidents stay)."""
    domain.delete_rule(db, rule_id, scope=scope, now_us=_now_us(request))
    record_write(request, writer, "rules", f"rule:{rule_id}", details={"deleted": True})
    _changed(request)
    return Response(status_code=204)


@router.get("/api/alerts", response_model=list[AlertJson])
def get_alerts(
    db: OpsDep,
    scope: ScopeDep,
    status: Annotated[str | None, Query(description="active or cleared")] = None,
    datastream: Annotated[int | None, Query(ge=1, le=MAX_ID, description="a datastream id")] = None,
    city_object: Annotated[str | None, Query(alias="cityObject")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[AlertJson]:
    """Alerts of the caller's jurisdiction, newest first."""
    found = list_alerts(db, scope, status=status, datastream_id=datastream,
                        city_object=city_object, limit=limit)  # fmt: skip
    return [_alert_json(alert) for alert in found]


def _alert_json(alert: AlertRecord) -> AlertJson:
    return AlertJson(
        id=alert.id, rule_id=alert.rule_id, rule_name=alert.rule_name, category=alert.category,
        datastream_id=alert.datastream_id, city_object=alert.city_object,
        jurisdiction=alert.jurisdiction, status=alert.status,
        raised_time=format_time(alert.raised_us),
        cleared_time=None if alert.cleared_us is None else format_time(alert.cleared_us),
        first_value=alert.first_value, peak_value=alert.peak_value,
        last_value=alert.last_value, incident_id=alert.incident_id,
    )  # fmt: skip
