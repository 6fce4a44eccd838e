"""The GeoReport v2 resources at ``/open311/v2``: discovery, services and their
definitions, service requests (list, one, and a new one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from api.open311.documents import answer, checked_format
from api.open311.language import chosen_language
from api.open311.routing import Open311Route
from api.open311.services import service, service_definition, service_list
from api.open311.times import w3c_time
from cim.data import data_file
from simulation.incidents.codes import CATEGORIES_FILE

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
router = APIRouter(prefix=PREFIX, tags=["Open311"], route_class=Open311Route)

FormatPath = Annotated[str, Path(description="xml or json")]
LangQuery = Annotated[str | None, Query(description="zh or en (default: Accept-Language, else zh)")]
JurisdictionQuery = Annotated[
    str | None, Query(description="accepted and ignored: the services are the same everywhere")
]
AcceptLanguage = Annotated[str | None, Header(include_in_schema=False)]
_XML_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {}, "application/json": {}}},
    400: {"description": "a bad request: [{code, description}] or <errors>"},
}


def _changeset() -> str:
    """When the services last changed: the time of the category list's file."""
    changed = datetime.fromtimestamp(data_file(CATEGORIES_FILE).stat().st_mtime, UTC)
    return w3c_time(int(changed.timestamp()) * 1_000_000) or ""


@router.get("/discovery.{fmt}", responses=_XML_OR_JSON)
def discovery(request: Request, fmt: FormatPath) -> Response:
    """The service discovery document: where this GeoReport v2 endpoint is, its formats."""
    changeset = _changeset()
    base = str(request.base_url).rstrip("/")
    document = {
        "changeset": changeset,
        "contact": "The city's command centre (the CIMTwin platform's administrators).",
        "key_service": "API keys are given by the city's administrators"
        " (cimtwin key add --actions report).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base + PREFIX,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return answer(checked_format(fmt), "discovery", document)


@router.get("/services.{fmt}", responses=_XML_OR_JSON)
def services(
    fmt: FormatPath,
    lang: LangQuery = None,
    jurisdiction_id: JurisdictionQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Every service (incident category) a request may be made for."""
    fmt = checked_format(fmt)
    return answer(fmt, "services", service_list(chosen_language(lang, accept_language)))


@router.get("/services/{service_code}.{fmt}", responses=_XML_OR_JSON)
def definition(
    service_code: Annotated[str, Path(max_length=40)],
    fmt: FormatPath,
    jurisdiction_id: JurisdictionQuery = None,
) -> Response:
    """A service's definition: the attributes a request for it answers."""
    fmt = checked_format(fmt)
    return answer(fmt, "service_definition", service_definition(service(service_code)))
