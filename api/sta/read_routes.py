"""The read side of OGC SensorThings API 1.1 at ``/sta/v1.1``: the service root, and every
resource path (entity sets, entities, navigation, properties, ``$value``, ``$ref``) with
its query options. Any signed-in caller may read; each sees the entities of its scope only
(others answer 404, as if missing).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import OpsDep, ScopeDep, caller_scope
from api.sta.options import DATA_ARRAY, parse_options, query_string
from api.sta.paths import ResourcePath, parse_path
from api.sta.serialize import (
    collection_json,
    data_array_json,
    entity_json,
    field_value,
    references_json,
    self_link,
    service_url,
)
from simulation.sensors.entities import ENTITY_TYPES
from simulation.sensors.read import Query, read_collection, read_one

router = APIRouter(prefix="/sta/v1.1", tags=["sensorthings"])

REQUIREMENTS = "http://www.opengis.net/spec/iot_sensing/1.1/req"
CONFORMANCE = [
    f"{REQUIREMENTS}/datamodel",
    f"{REQUIREMENTS}/resource-path/resource-path-to-entities",
    f"{REQUIREMENTS}/request-data",
    f"{REQUIREMENTS}/create-update-delete",
    f"{REQUIREMENTS}/data-array/data-array",
]
# The MQTT extension's classes, listed when the app has a broker (``app.state.mqtt_endpoints``).
MQTT_CONFORMANCE = [
    f"{REQUIREMENTS}/create-observations-via-mqtt/observations-creation",
    f"{REQUIREMENTS}/receive-updates-via-mqtt/receive-updates",
]


@router.get("", dependencies=[Depends(caller_scope)])
def service_root(request: Request) -> dict[str, Any]:
    """The service root: every entity set with its URL, and the server's settings
    (the conformance classes it implements)."""
    return _root_document(request)


@router.get("/{resource_path:path}")
def resource(resource_path: str, request: Request, db: OpsDep, scope: ScopeDep) -> Response:
    """An entity set, an entity, what it links to, one of its properties (``/name``,
    ``/name/$value``) or references (``/$ref``), with the query options ``$top $skip
    $count $orderby $select $expand $filter $resultFormat``."""
    if not resource_path.strip("/"):
        return JSONResponse(_root_document(request))
    path = parse_path(resource_path)
    base = _base(request)
    options = parse_options(request.query_params.multi_items(), path.etype)
    query = options.query
    if path.property_name is not None:
        return _property(db, path, scope)
    here = f"{service_url(base)}/{resource_path.strip('/')}"
    if path.ref:
        return JSONResponse(_references(db, path, query, scope, base, here))
    if path.single:
        entity = read_one(db, path.steps, query, scope)
        return JSONResponse(entity_json(entity, base, query))
    page = read_collection(db, path.steps, query, scope)
    following = query_string(
        query, skip=query.skip + query.top, result_format=options.result_format
    )
    next_link = f"{here}?{following}"
    if options.result_format == DATA_ARRAY:
        return JSONResponse(data_array_json(page, base, query, next_link))
    return JSONResponse(collection_json(page, base, query, next_link))


def _root_document(request: Request) -> dict[str, Any]:
    root = service_url(_base(request))
    conformance = list(CONFORMANCE)
    settings: dict[str, Any] = {}
    endpoints = getattr(request.app.state, "mqtt_endpoints", None)
    if endpoints:
        conformance += MQTT_CONFORMANCE
        for requirement in MQTT_CONFORMANCE:
            settings[requirement] = {"endpoints": list(endpoints)}
    return {
        "value": [{"name": e.plural, "url": f"{root}/{e.plural}"} for e in ENTITY_TYPES],
        "serverSettings": {"conformance": conformance, **settings},
    }


def _property(db: OpsDep, path: ResourcePath, scope: ScopeDep) -> Response:
    """``Things(1)/name`` as ``{"name": ...}``; with ``/$value`` the bare value (text, or
    JSON for objects; 204 when it is null)."""
    name = path.property_name
    assert name is not None
    entity = read_one(db, path.steps, Query(select=(name,)), scope)
    value: Any = entity.id if name == "id" else field_value(path.etype.field(name), entity.values)
    if not path.value:
        return JSONResponse({"@iot.id" if name == "id" else name: value})
    if value is None:
        return Response(status_code=204)
    if isinstance(value, str):
        return PlainTextResponse(value)
    return PlainTextResponse(json.dumps(value), media_type="application/json")


def _references(
    db: OpsDep, path: ResourcePath, query: Query, scope: ScopeDep, base: str, here: str
) -> dict[str, Any]:
    """``$ref``: the self link of the entity, or those of a collection's page."""
    if path.single:
        entity = read_one(db, path.steps, Query(select=("id",)), scope)
        return {"@iot.selfLink": self_link(base, path.etype, entity.id)}
    listed = replace(query, select=None, expand=())
    page = read_collection(db, path.steps, replace(listed, select=("id",)), scope)
    next_link = f"{here}?{query_string(listed, skip=query.skip + query.top)}"
    return references_json(page, base, path.etype, next_link)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
