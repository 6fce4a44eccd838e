"""Open311 discovery, services and service definitions: the incident categories of the
code list, the same for every jurisdiction, read without a key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Request, Response

from api.open311.documents import answer, checked_format
from api.open311.language import chosen_language
from api.open311.params import (
    AcceptLanguage,
    FormatPath,
    IgnoredJurisdiction,
    LangQuery,
)
from api.open311.services import service, service_definition, service_list
from api.open311.times import us_of, w3c_time
from cim.data import data_file
from simulation.incidents.codes import CATEGORIES_FILE

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def _changeset() -> str:
    """When the services last changed: the time of the category list's file."""
    changed = datetime.fromtimestamp(data_file(CATEGORIES_FILE).stat().st_mtime, UTC)
    return w3c_time(us_of(changed)) or ""


def discovery(request: Request, fmt: FormatPath) -> Response:
    """The service discovery document: where this GeoReport v2 endpoint is, its formats."""
    changeset = _changeset()
    document = {
        "changeset": changeset,
        "contact": "The city's command centre (the CIMTwin platform's administrators).",
        "key_service": "API keys are given by the city's administrators"
        " (cimtwin key add NAME --jurisdiction CODE --action report).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _endpoint_url(request),
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return answer(checked_format(fmt), "discovery", document)


def services(
    fmt: FormatPath,
    lang: LangQuery = None,
    jurisdiction_id: IgnoredJurisdiction = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Every service (incident category) a request may be made for."""
    fmt = checked_format(fmt)
    return answer(fmt, "services", service_list(chosen_language(lang, accept_language)))


def definition(
    service_code: Annotated[str, Path(max_length=40)],
    fmt: FormatPath,
    jurisdiction_id: IgnoredJurisdiction = None,
) -> Response:
    """A service's definition: the attributes a request for it answers."""
    fmt = checked_format(fmt)
    return answer(fmt, "service_definition", service_definition(service(service_code)))


def _endpoint_url(request: Request) -> str:
    """The URL of the GeoReport v2 endpoint: where discovery is served."""
    return str(request.url.replace(query="")).rsplit("/", 1)[0]
