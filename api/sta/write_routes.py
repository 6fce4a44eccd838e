"""SensorThings 1.1 writes at ``/sta/v1.1``: POST (deep insert, through navigation paths),
PATCH, PUT, DELETE, and the data array extension's ``POST /CreateObservations``.

Observations need the ``observe`` action, every other entity ``sensors``; everything stays
in the caller's scope. What a write stored goes out on the app's event hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from api.auth.audit import record_refusal
from api.auth.deps import SignedInDep, require
from api.auth.principal import Principal
from api.deps import CityDirDep, OpsDep, ScopeDep
from api.errors import ForbiddenError
from api.events import EventHub, event_hub
from api.sta.placing import CityPlace
from api.sta.publish import entity_events, observation_events
from api.sta.serialize import read_entity
from simulation.sensors import write
from simulation.sensors.entities import OBSERVATION, EntityType, entity_type
from simulation.sensors.errors import SensorInputError
from simulation.sensors.ingest import ingest
from simulation.sensors.jsonpatch import apply_patch
from simulation.sensors.parse import observations_from_data_array
from simulation.sensors.records import IngestResult, Rejected, StoredObservation

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings"])
HubDep = Annotated[EventHub, Depends(event_hub)]
JSON_PATCH = "application/json-patch+json"
# What the data array extension answers for a row it did not store.
ROW_ERROR = "error"
# Largest id either backend's BIGINT holds.
MAX_ID = 2**63 - 1
_PATH = re.compile(r"(?P<set>[A-Za-z]+)(?:\((?P<id>'?\d{1,30}'?)\))?(?:/(?P<nav>[A-Za-z]+))?")
_ANY_JSON: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {}}},
    }
}


def sensor_writer(request: Request, principal: SignedInDep) -> Principal:
    """The caller, who may write some SensorThings entity (``observe`` or ``sensors``):
    checked before the body is read, so a reader is refused whatever it sends."""
    if principal.may("observe") or principal.may("sensors"):
        return principal
    record_refusal(request, principal, "sensors", "sensors not allowed")
    raise ForbiddenError(f"{principal.subject} may not write sensor data")


async def json_body(request: Request, _writer: Annotated[Principal, Depends(sensor_writer)]) -> Any:
    """The request's JSON (400 naming the problem when it is not JSON)."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SensorInputError(f"the request body is not JSON: {exc}") from None


JsonBody = Annotated[Any, Depends(json_body)]


@dataclass(frozen=True)
class Target:
    """What a write path names: an entity set, an entity, or a collection of an entity."""

    etype: EntityType
    entity_id: int | None
    navigation: str | None

    @classmethod
    def parse(cls, path: str) -> Target:
        """``Things``, ``Things(1)`` or ``Things(1)/Datastreams`` (400 otherwise)."""
        found = _PATH.fullmatch(path.strip("/"))
        if found is None:
            raise SensorInputError(
                f"{path!r} is not an entity set (Things), an entity (Things(1)) or its"
                " collection (Things(1)/Datastreams)"
            )
        etype = entity_type(found["set"])
        if found["set"] != etype.plural:
            raise SensorInputError(f"write to the entity set {etype.plural}, not {found['set']}")
        entity_id = None if found["id"] is None else int(found["id"].strip("'"))
        if entity_id is not None and not 0 < entity_id <= MAX_ID:
            raise SensorInputError(f"{path!r}: no entity has id {entity_id}")
        if found["nav"] is not None and entity_id is None:
            raise SensorInputError(f"{path!r}: name the entity, as in {etype.plural}(1)/...")
        return cls(etype, entity_id, found["nav"])

    @property
    def created(self) -> EntityType:
        """The type a POST here creates."""
        if self.navigation is None:
            return self.etype
        return entity_type(self.etype.link(self.navigation).target)

    def entity(self) -> tuple[EntityType, int]:
        """The entity a PATCH, PUT or DELETE here changes."""
        if self.entity_id is None or self.navigation is not None:
            raise SensorInputError(f"name one entity, as in {self.etype.plural}(1)")
        return self.etype, self.entity_id


def host_url(request: Request) -> str:
    """``http://host``: what the entity JSON's links start with (before ``/sta/v1.1``)."""
    return str(request.base_url).rstrip("/")


def _allow(request: Request, principal: Principal, etype: EntityType) -> None:
    """403 unless the caller may write ``etype`` (observations: ``observe``; the rest:
    ``sensors``)."""
    require("observe" if etype is OBSERVATION else "sensors")(request, principal)


def _place(city_dir: Any, scope: Any, principal: Principal) -> CityPlace:
    home = principal.jurisdiction
    if home is None:  # a signed-in caller always has one
        raise SensorInputError("the caller has no jurisdiction to place entities in")
    return CityPlace(city_dir, scope, home)


def _publish(hub: EventHub, db: Any, result: write.WriteResult, host: str) -> None:
    hub.publish_all(entity_events(result.changes))
    hub.publish_all(observation_events(db, result.observations, host))


@router.post("/CreateObservations", status_code=201, openapi_extra=_ANY_JSON)
def create_observations(
    request: Request,
    _observer: Annotated[Principal, Depends(require("observe"))],
    body: JsonBody,
    db: OpsDep,
    scope: ScopeDep,
    hub: HubDep,
) -> JSONResponse:
    """Store data arrays of observations: one self link per row, ``"error"`` for a row not
    stored, the others stored (the data array extension). The caller's right to observe is
    checked before the body is read."""
    rows, unreadable = observations_from_data_array(body)
    result = ingest(db, rows, scope)
    host = host_url(request)
    links = _row_links(len(rows), unreadable, result, host + PREFIX)
    # the events go out once the rows are acknowledged, and are made only for takers
    later = None
    if result.created and hub.has_takers:
        later = BackgroundTask(_publish_observations, hub, db, result.created, host)
    return JSONResponse(links, status_code=201, background=later)


def _publish_observations(
    hub: EventHub, db: OpsDep, created: list[StoredObservation], host: str
) -> None:
    hub.publish_all(observation_events(db, created, host))


def _row_links(
    readable: int, unreadable: list[Rejected], result: IngestResult, root: str
) -> list[str]:
    """One entry per request row, in order: the self link of what was stored, or "error"."""
    refused = {r.index for r in unreadable}
    ids = iter(result.ids)
    links = []
    for index in range(readable + len(unreadable)):
        stored = None if index in refused else next(ids)
        links.append(ROW_ERROR if stored is None else f"{root}/Observations({stored})")
    return links


@router.post("/{path:path}", status_code=201, openapi_extra=_ANY_JSON)
def create_entity(
    path: str,
    request: Request,
    body: JsonBody,
    db: OpsDep,
    scope: ScopeDep,
    principal: SignedInDep,
    city: CityDirDep,
    hub: HubDep,
) -> JSONResponse:
    """Create an entity (and those inline in it): 201, its link in ``Location``."""
    target = Target.parse(path)
    if target.entity_id is not None and target.navigation is None:
        raise SensorInputError(f"POST to an entity set ({target.etype.plural}), not to one entity")
    kind = target.created
    _allow(request, principal, kind)
    parent = None
    if target.navigation is not None:
        assert target.entity_id is not None
        parent = (target.etype, target.entity_id, target.navigation)
    with _place(city, scope, principal) as place:
        result = write.insert(db, kind, body, scope, place=place, parent=parent)
    host = host_url(request)
    _publish(hub, db, result, host)
    entity = read_entity(db, kind, result.id, scope, host)
    link = f"{host}{PREFIX}/{kind.plural}({result.id})"
    return JSONResponse(entity, status_code=201, headers={"Location": link})


def _change(
    path: str,
    request: Request,
    body: Any,
    db: OpsDep,
    scope: ScopeDep,
    principal: Principal,
    city: Any,
    hub: EventHub,
    *,
    replace: bool,
) -> JSONResponse:
    kind, entity_id = Target.parse(path).entity()
    _allow(request, principal, kind)
    with _place(city, scope, principal) as place:
        result = write.update(db, kind, entity_id, body, scope, place=place, replace=replace)
    host = host_url(request)
    _publish(hub, db, result, host)
    return JSONResponse(read_entity(db, kind, entity_id, scope, host))


@router.patch("/{path:path}", openapi_extra=_ANY_JSON)
def patch_entity(
    path: str,
    request: Request,
    body: JsonBody,
    db: OpsDep,
    scope: ScopeDep,
    principal: SignedInDep,
    city: CityDirDep,
    hub: HubDep,
) -> JSONResponse:
    """Change the properties the body names; link other entities by ``{"@iot.id": n}``.
    With ``Content-Type: application/json-patch+json`` the body is a JSON Patch."""
    if request.headers.get("content-type", "").startswith(JSON_PATCH):
        kind, entity_id = Target.parse(path).entity()
        current = read_entity(db, kind, entity_id, scope, host_url(request))
        body = _patched_properties(current, body)
    return _change(path, request, body, db, scope, principal, city, hub, replace=False)


def _patched_properties(current: dict[str, Any], operations: Any) -> dict[str, Any]:
    """The properties a JSON Patch changes (those it removes as null)."""
    document = {key: value for key, value in current.items() if "@iot." not in key}
    patched = apply_patch(document, operations)
    return {
        key: patched.get(key)
        for key in document.keys() | patched.keys()
        if key not in patched or key not in document or patched[key] != document[key]
    }


@router.put("/{path:path}", openapi_extra=_ANY_JSON)
def put_entity(
    path: str,
    request: Request,
    body: JsonBody,
    db: OpsDep,
    scope: ScopeDep,
    principal: SignedInDep,
    city: CityDirDep,
    hub: HubDep,
) -> JSONResponse:
    """Replace an entity: every required property given, the optional ones left out cleared."""
    return _change(path, request, body, db, scope, principal, city, hub, replace=True)


@router.delete("/{path:path}")
def delete_entity(
    path: str,
    request: Request,
    db: OpsDep,
    scope: ScopeDep,
    principal: Annotated[Principal, Depends(sensor_writer)],
    hub: HubDep,
) -> Response:
    """Delete an entity and what goes with it."""
    kind, entity_id = Target.parse(path).entity()
    _allow(request, principal, kind)
    result = write.delete(db, kind, entity_id, scope)
    _publish(hub, db, result, host_url(request))
    return Response(status_code=200)
