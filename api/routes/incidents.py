"""Incidents and their workflow: list and report (``/api/incidents``), one incident with its
history and the actions the caller may take now, taking a step (with photos), reading an
attachment, and the code lists (``/api/incident-codes``).

Incident ids in paths match digits only, so that other routes under ``/api/incidents/``
(statistics) are reached whatever the order of the routers.

Every write is recorded in the audit log (refused ones too, with why) and published on the
app's event hub as an ``incident`` event. The domain (:mod:`simulation.incidents`) decides
who may do what; these routes parse, locate and answer.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from api.auth.audit import record_refusal, record_write
from api.auth.deps import PrincipalDep, SignedInDep, require
from api.auth.principal import Principal
from api.auth.state import auth_state
from api.deps import OpsDep, ScopeDep, StoreDep
from api.errors import ForbiddenError
from api.incident_actor import actor_of
from api.incident_json import (
    codes_json,
    incident_detail,
    incident_summary,
    publish_incidents,
)
from api.settings import get_settings
from api.sta.linking import city_placement, jurisdiction_at
from cim.errors import CimError
from cim.scope import Scope
from cim.store import CityStore
from simulation.incidents.attachments import MAX_ATTACHMENTS, AttachmentIn, get_attachment
from simulation.incidents.errors import IncidentError, IncidentInputError, NotAllowedError
from simulation.incidents.incidents import (
    allowed_actions,
    get_incident,
    incident_history,
    list_incidents,
    report_incident,
    take_step,
)
from simulation.incidents.records import SOURCES, IncidentQuery, IncidentReport, Order
from simulation.incidents.workflow import ACTIONS
from simulation.sensors.errors import SensorInputError
from simulation.sensors.times import parse_time

router = APIRouter(tags=["incidents"])

MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_US = 1_000_000
# Sources a person may give a report (sensor: the rules; citizen: Open311).
REPORT_SOURCES = ("inspector", "hotline", "operator")
# The permissions of the workflow's actions: a caller with none of them takes no step.
STEP_PERMISSIONS = frozenset(action.permission for action in ACTIONS.values())
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class ReportBody(BaseModel):
    """A report: what, where (a point, a city object, or an address), how urgent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    category: str = Field(description="a category code (GET /api/incident-codes)")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    lon: float | None = Field(None, ge=-180, le=180, description="CRS84 longitude")
    lat: float | None = Field(None, ge=-90, le=90, description="CRS84 latitude")
    city_object: str | None = Field(None, alias="cityObject", max_length=64)
    address: str | None = Field(None, max_length=1000)
    priority: int | None = Field(None, ge=1, le=4, description="1 urgent ... 4 low")
    source: str = Field("inspector", description=f"one of {', '.join(REPORT_SOURCES)}")
    attributes: dict[str, Any] | None = Field(None, description="Open311 attribute answers")
    contact: dict[str, str] | None = Field(
        None, description="the caller's name, phone, email (shown to dispatchers only)"
    )


class StepBody(BaseModel):
    """A step: the action, a note, where to dispatch, the version the caller saw."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    action: str = Field(description="an action code (GET /api/incident-codes)")
    note: str = Field("", max_length=10_000)
    department: str | None = Field(None, max_length=40)
    department_jurisdiction: str | None = Field(None, alias="departmentJurisdiction", max_length=12)
    version: int | None = Field(None, ge=0, le=2**31 - 1)


def step_taker(request: Request, principal: SignedInDep) -> Principal:
    """The caller, who has some permission of the workflow (checked before the body is
    read: a viewer is refused whatever it sends; the domain checks the step itself)."""
    if any(principal.may(permission) for permission in STEP_PERMISSIONS):
        return principal
    record_refusal(request, principal, "handle", "no permission of the incident workflow")
    raise ForbiddenError(f"{principal.subject} may not take steps of incidents")


def _body_doc(model: type[BaseModel], photos: str) -> dict[str, Any]:
    """The OpenAPI request body of a route taking ``model`` as JSON or as a form with
    photos."""
    schema = model.model_json_schema(by_alias=True)
    form = {
        **schema,
        "properties": {
            **schema["properties"],
            "photos": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "maxItems": MAX_ATTACHMENTS,
                "description": photos,
            },
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
            },
        }
    }


def _now_us(request: Request) -> int:
    moment: datetime = auth_state(request).clock()
    return int(moment.timestamp() * _US)


def _max_photo_bytes() -> int:
    return int(get_settings().max_photo_mb * 2**20)


def _answer(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code, media_type="application/json")


async def _read_body(
    request: Request, model: type[BaseModel]
) -> tuple[dict[str, Any], list[AttachmentIn]]:
    """The fields of a JSON body or a form (with its ``photos``), validated by ``model``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    photos: list[AttachmentIn] = []
    if content_type in FORM_TYPES:
        fields: dict[str, Any] = {}
        async with request.form(max_files=MAX_ATTACHMENTS + 1) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name not in ("photos", "photos[]", "photo", "media"):
                        raise IncidentInputError(f"unexpected file field {name!r}: use photos")
                    content = await value.read()
                    photos.append(
                        AttachmentIn(value.filename or "photo", value.content_type or "", content)
                    )
                elif value != "":
                    fields[name] = value
        for name in ("attributes", "contact"):
            if name in fields:
                fields[name] = _json_field(name, fields[name])
    else:
        try:
            fields = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise IncidentInputError(f"the request body is not JSON: {exc}") from None
        if not isinstance(fields, dict):
            raise IncidentInputError("the request body must be a JSON object")
    try:
        parsed = model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise IncidentInputError(problems) from None
    return parsed.model_dump(), photos


def _json_field(name: str, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise IncidentInputError(f"{name} must be a JSON object") from None


def _codes(values: list[str] | None) -> tuple[str, ...]:
    """Repeated or comma-separated query values."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def _time_us(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except SensorInputError:
        raise IncidentInputError(f"{name} {text!r} is not an ISO 8601 time") from None


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise IncidentInputError(f"bbox {text!r} must be four numbers: west,south,east,north")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _ids(values: list[str] | None) -> tuple[int, ...]:
    ids = []
    for text in _codes(values):
        if not text.isdigit() or not 0 < int(text) <= MAX_ID:
            raise IncidentInputError(f"ids: {text!r} is not an incident id")
        ids.append(int(text))
    return tuple(ids)


@router.get("/api/incidents")
def incidents(
    request: Request,
    ops: OpsDep,
    scope: ScopeDep,
    status: Annotated[list[str] | None, Query(description="status codes (repeat or comma)")] = None,
    category: Annotated[list[str] | None, Query(description="category codes")] = None,
    source: Annotated[list[str] | None, Query(description=", ".join(SOURCES))] = None,
    jurisdiction: Annotated[str | None, Query(description="only under this node")] = None,
    overdue: Annotated[bool | None, Query(description="past (true) or within their limit")] = None,
    escalated: Annotated[bool | None, Query(description="escalated to a node above")] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (CRS84)")] = None,
    start: Annotated[str | None, Query(description="created at or after (ISO 8601)")] = None,
    end: Annotated[str | None, Query(description="created before (ISO 8601)")] = None,
    updated_since: Annotated[str | None, Query(description="changed at or after")] = None,
    ids: Annotated[list[str] | None, Query(description="incident ids")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title etc.")] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    city_object: Annotated[str | None, Query(max_length=64)] = None,
    order: Annotated[Order, Query(description="newest, due or updated")] = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """The incidents of the caller's jurisdiction that the filters keep, newest first (or
    by due time, or last change): ``{"incidents": [...], "total": n}``."""
    now_us = _now_us(request)
    query = IncidentQuery(
        statuses=_codes(status),
        categories=_codes(category),
        sources=_codes(source),
        jurisdiction=jurisdiction,
        overdue_at_us=now_us if overdue else None,
        on_time_at_us=now_us if overdue is False else None,
        escalated=escalated,
        bbox=_bbox(bbox),
        created_from_us=_time_us("start", start),
        created_to_us=_time_us("end", end),
        updated_since_us=_time_us("updated_since", updated_since),
        ids=_ids(ids),
        text=q,
        department=department,
        city_object=city_object,
        limit=limit,
        offset=offset,
        order=order,
    )
    records, total = list_incidents(ops, scope, query)
    return _answer({"incidents": [incident_summary(r, now_us) for r in records], "total": total})


def _locate(
    store: CityStore, scope: Scope, principal: Principal, fields: dict[str, Any]
) -> tuple[str, float | None, float | None]:
    """The jurisdiction a report goes to, and its point: the city object's, the smallest
    node holding the point, or (an address only) the reporter's own node."""
    lon, lat, object_id = fields["lon"], fields["lat"], fields["city_object"]
    if (lon is None) != (lat is None):
        raise IncidentInputError("a location needs both lon and lat")
    if object_id is not None:
        try:
            placed = city_placement(store, scope, object_id)
        except SensorInputError:
            raise IncidentInputError(f"city object {object_id!r} has no geometry") from None
        if placed.jurisdiction is None:
            raise IncidentInputError(f"city object {object_id!r} lies outside every jurisdiction")
        if lon is None:
            lon, lat = placed.lon, placed.lat
        return placed.jurisdiction, lon, lat
    if lon is not None:
        code = jurisdiction_at(store, {"type": "Point", "coordinates": [lon, lat]})
        if code is not None:
            return code, lon, lat
        if store.jurisdictions(scope=Scope.everything()):
            raise IncidentInputError(
                f"the point {lon:g}, {lat:g} lies outside every jurisdiction of the city"
            )
    elif not fields["address"]:
        raise IncidentInputError("say where: lon and lat, a cityObject, or an address")
    if principal.jurisdiction is None:
        raise NotAllowedError("a report located by its address only needs a caller's node")
    return principal.jurisdiction, lon, lat


@router.post(
    "/api/incidents",
    status_code=201,
    openapi_extra=_body_doc(ReportBody, "photos of the scene (JPEG, PNG, WebP)"),
)
async def report(
    request: Request,
    principal: Annotated[Principal, Depends(require("report"))],
    scope: ScopeDep,
    ops: OpsDep,
    store: StoreDep,
) -> Response:
    """Report an incident (permission ``report``): JSON, or a multipart form with
    ``photos``. It goes to the smallest jurisdiction holding its point (or its city
    object's); a point outside the caller's jurisdiction is refused (403)."""
    fields, photos = await _read_body(request, ReportBody)
    try:
        if fields["source"] not in REPORT_SOURCES:
            raise IncidentInputError(
                f"source {fields['source']!r}: use {', '.join(REPORT_SOURCES)}"
            )
        jurisdiction, lon, lat = _locate(store, scope, principal, fields)
        actor = actor_of(principal, scope, ops)
        now_us = _now_us(request)
        new = IncidentReport(
            category=fields["category"],
            title=fields["title"],
            description=fields["description"],
            source=fields["source"],
            jurisdiction=jurisdiction,
            priority=fields["priority"],
            lon=lon,
            lat=lat,
            city_object=fields["city_object"],
            address=fields["address"],
            attributes=fields["attributes"],
            contact=fields["contact"],
            attachments=tuple(photos),
        )
        record = report_incident(ops, new, actor, now_us=now_us, max_photo_bytes=_max_photo_bytes())
    except (IncidentError, CimError) as exc:
        record_write(request, principal, "incident report", "-", f"refused: {exc}")
        raise
    record_write(
        request, principal, "incident report", str(record.id), details={"photos": len(photos)}
    )
    publish_incidents(request.app, [(record, "report")], now_us)
    steps = incident_history(ops, record.id, scope)
    detail = incident_detail(
        record, steps, allowed_actions(record, actor), now_us, with_contact=actor.may("dispatch")
    )
    return _answer(detail, 201)


@router.get("/api/incidents/{incident_id:int}")
def incident(
    incident_id: IdPath, request: Request, principal: PrincipalDep, scope: ScopeDep, ops: OpsDep
) -> Response:
    """An incident with its steps (and their photos' links), the actions the caller may
    take now, its attributes, and the reporter's contact for callers who dispatch."""
    record = get_incident(ops, incident_id, scope)
    actor = actor_of(principal, scope, ops)
    steps = incident_history(ops, incident_id, scope)
    detail = incident_detail(
        record,
        steps,
        allowed_actions(record, actor),
        _now_us(request),
        with_contact=actor.may("dispatch"),
    )
    return _answer(detail)


@router.post(
    "/api/incidents/{incident_id:int}/steps",
    openapi_extra=_body_doc(StepBody, "photos of the step (JPEG, PNG, WebP)"),
)
async def step(
    incident_id: IdPath,
    request: Request,
    principal: Annotated[Principal, Depends(step_taker)],
    scope: ScopeDep,
    ops: OpsDep,
) -> Response:
    """Take a step of the workflow: JSON, or a multipart form with ``photos``. Refusals
    say what is missing: 403 (role, jurisdiction, department), 409 (status, or changed
    since ``version``), 422 (note, department, photos)."""
    fields, photos = await _read_body(request, StepBody)
    actor = actor_of(principal, scope, ops)
    now_us = _now_us(request)
    try:
        record = take_step(
            ops,
            incident_id,
            fields["action"],
            actor,
            now_us=now_us,
            note=fields["note"],
            department=fields["department"],
            department_jurisdiction=fields["department_jurisdiction"],
            attachments=photos,
            expected_version=fields["version"],
            max_photo_bytes=_max_photo_bytes(),
        )
    except IncidentError as exc:
        record_write(
            request, principal, f"incident {fields['action']}", str(incident_id), f"refused: {exc}"
        )
        raise
    record_write(
        request,
        principal,
        f"incident {fields['action']}",
        str(incident_id),
        details={"status": record.status, "photos": len(photos)},
    )
    publish_incidents(request.app, [(record, fields["action"])], now_us)
    steps = incident_history(ops, incident_id, scope)
    detail = incident_detail(
        record, steps, allowed_actions(record, actor), now_us, with_contact=actor.may("dispatch")
    )
    return _answer(detail)


@router.get(
    "/api/incidents/{incident_id:int}/attachments/{attachment_id:int}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def attachment(
    incident_id: IdPath, attachment_id: IdPath, ops: OpsDep, scope: ScopeDep
) -> Response:
    """The bytes of a photo, with the type read from them when it was stored."""
    found = get_attachment(ops, incident_id, attachment_id, scope)
    name = found.record.filename
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(
        found.content,
        media_type=found.record.media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": (
                f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "private, max-age=86400, immutable",
            "ETag": f'"{found.record.sha256}"',
        },
    )


@router.get("/api/incident-codes")
def incident_codes(_scope: ScopeDep) -> JSONResponse:
    """The categories (time limits, Open311 attributes), departments, statuses, actions
    and system steps of the closed loop, in Chinese and English."""
    return JSONResponse(codes_json())
