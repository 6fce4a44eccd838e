"""The GeoReport v2 resources at ``/open311/v2``: discovery, services and their
definitions (:mod:`api.open311.service_routes`), service requests
(:mod:`api.open311.request_routes`). Every route answers its errors as the standard does
(:class:`api.open311.routing.Open311Route`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.open311 import request_routes as requests
from api.open311 import service_routes as services
from api.open311.params import XML_OR_JSON
from api.open311.routing import Open311Route

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["Open311"], route_class=Open311Route)
for path, endpoint in (
    ("/discovery.{fmt}", services.discovery),
    ("/services.{fmt}", services.services),
    ("/services/{service_code}.{fmt}", services.definition),
    ("/requests.{fmt}", requests.requests),
    ("/requests/{service_request_id}.{fmt}", requests.one_request),
):
    router.add_api_route(path, endpoint, methods=["GET"], responses=XML_OR_JSON)
router.add_api_route(
    "/requests.{fmt}",
    requests.post_request,
    methods=["POST"],
    status_code=201,
    responses=XML_OR_JSON,
    openapi_extra=requests.FORM_BODY,
)
