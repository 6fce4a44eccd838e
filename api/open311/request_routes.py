"""Open311 service requests: the list (GET requests), one (GET requests/{id}) and a new
one (POST requests), as incidents of the closed loop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.auth.audit import record_write
from api.auth.principal import Principal
from api.auth.state import auth_state
from api.deps import OpsDep, StoreDep
from api.errors import Open311RequestError
from api.incident_actor import actor_of
from api.incident_json import publish_incidents
from api.open311.callers import (
    CITIZEN_SOURCE,
    MAX_FORM_FIELDS,
    MAX_FORM_FILES,
    Readers,
    ReadersDep,
    ReporterDep,
    max_photo_bytes,
)
from api.open311.documents import answer, checked_format
from api.open311.language import Language, chosen_language
from api.open311.params import AcceptLanguage, FormatPath, LangQuery
from api.open311.parse import (
    MAX_REQUESTS,
    ReportForm,
    checked_attributes,
    report_form,
    request_id,
    requests_query,
)
from api.open311.requests import (
    ADDRESS_ID,
    MEDIA_URL,
    extras_of,
    service_notice,
    service_request,
)
from api.open311.services import name_of, service
from api.open311.times import us_of
from api.sta.linking import jurisdiction_at
from cim.errors import JurisdictionCodeError
from cim.ops.database import OpsDatabase
from cim.scope import Scope, check_code
from cim.store import CityStore
from simulation.incidents.codes import Category
from simulation.incidents.errors import IncidentNotFoundError
from simulation.incidents.incidents import (
    MAX_TITLE,
    AttachmentIn,
    IncidentQuery,
    IncidentRecord,
    IncidentReport,
    get_incident,
    list_incidents,
    report_incident,
)

# Characters of the address (or description) a title shows.
TITLE_DETAIL = 80


def _now_us(request: Request) -> int:
    return us_of(auth_state(request).clock())


def _narrowed(readers: Readers, jurisdiction_id: str | None) -> Scope:
    """The readers' scope, or its part under ``jurisdiction_id`` (404 unless it is a node
    code the readers see)."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return readers.scope
    code = jurisdiction_id.strip()
    try:
        check_code(code)
    except JurisdictionCodeError:
        code = ""
    if not code or not readers.scope.contains(code):
        raise IncidentNotFoundError(f"jurisdiction_id {jurisdiction_id!r} was not found")
    return Scope.of(code)


def _requests_answer(
    request: Request,
    db: OpsDatabase,
    records: list[IncidentRecord],
    readers: Readers,
    fmt: str,
    lang: str | None,
    accept_language: str | None,
) -> Response:
    language = chosen_language(lang, accept_language)
    extras = extras_of(db, [record.id for record in records])
    base = str(request.base_url).rstrip("/")
    listed = [service_request(record, extras[record.id], language, base_url=base,
                              with_notes=not readers.public_only)
              for record in records]  # fmt: skip
    return answer(fmt, "service_requests", listed)


def requests(
    request: Request,
    fmt: FormatPath,
    db: OpsDep,
    readers: ReadersDep,
    service_request_id: Annotated[
        str | None, Query(description="ids, comma-separated: overrides every other filter")
    ] = None,
    service_code: Annotated[str | None, Query(description="service codes, comma-separated")] = None,
    start_date: Annotated[
        str | None, Query(description="W3C date-time (default: 90 days before end_date)")
    ] = None,
    end_date: Annotated[str | None, Query(description="W3C date-time (default: now)")] = None,
    status: Annotated[
        str | None, Query(description="open, closed or both, comma-separated")
    ] = None,
    jurisdiction_id: Annotated[
        str | None, Query(description="a node's 12-digit code: its requests")
    ] = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Service requests of the caller's jurisdiction (anonymous: those citizens made), the
    newest first: by ids, or by service, ``requested_datetime`` range (at most 90 days,
    default the last 90) and status; at most 1 000."""
    fmt = checked_format(fmt)
    query = requests_query(_query_lists(request), _now_us(request))
    scope = _narrowed(readers, jurisdiction_id)
    sources = (CITIZEN_SOURCE,) if readers.public_only else ()
    if query.ids is not None:
        filters = IncidentQuery(ids=query.ids, sources=sources, limit=MAX_REQUESTS)
    else:
        for code in query.service_codes or ():
            service(code)
        filters = IncidentQuery(
            categories=query.service_codes or (),
            statuses=query.workflow_statuses or (),
            sources=sources,
            created_from_us=query.start_us,
            created_to_us=query.end_us + 1,
            limit=MAX_REQUESTS,
        )
    records, _ = list_incidents(db, scope, filters)
    return _requests_answer(request, db, records, readers, fmt, lang, accept_language)


def _query_lists(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def one_request(
    request: Request,
    service_request_id: Annotated[str, Path(max_length=40)],
    fmt: FormatPath,
    db: OpsDep,
    readers: ReadersDep,
    jurisdiction_id: Annotated[str | None, Query(description="accepted and ignored")] = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """One service request, as a list of one (the standard's shape)."""
    fmt = checked_format(fmt)
    found = get_incident(db, request_id(service_request_id), readers.scope)
    if readers.public_only and found.source != CITIZEN_SOURCE:
        raise IncidentNotFoundError(f"no incident {found.id} in your jurisdiction")
    return _requests_answer(request, db, [found], readers, fmt, lang, accept_language)


FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"media": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


async def post_request(
    request: Request,
    fmt: FormatPath,
    reporter: ReporterDep,
    db: OpsDep,
    store: StoreDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Make a service request (an incident reported by a citizen): form-encoded as the
    standard sends it, or multipart with a ``media`` photo (JPEG, PNG or WebP, checked by
    its bytes). Needs an ``api_key`` that may ``report``; the request lands in the
    smallest jurisdiction holding its point, which must lie in the key's."""
    fmt = checked_format(fmt)
    language = chosen_language(lang, accept_language)
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    sent = report_form(fields)
    kind = service(sent.service_code)
    attributes = checked_attributes(kind, sent.attributes)
    photos = await _photos(form.multi_items())
    if sent.media_url:
        attributes[MEDIA_URL] = sent.media_url
    if sent.address_id:
        attributes[ADDRESS_ID] = sent.address_id
    report = IncidentReport(
        category=kind.code,
        title=_title(kind, sent, language),
        description=sent.description,
        source=CITIZEN_SOURCE,
        jurisdiction=_jurisdiction(store, reporter, sent),
        lon=sent.long,
        lat=sent.lat,
        address=sent.address_string,
        contact=sent.contact or None,
        attributes=attributes or None,
        attachments=photos,
    )
    now_us = _now_us(request)
    actor = actor_of(reporter, reporter.scope, db)
    record = await run_in_threadpool(
        report_incident, db, report, actor, now_us=now_us, max_photo_bytes=max_photo_bytes()
    )
    record_write(request, reporter, "report", f"incident:{record.id}", details={"open311": True})
    publish_incidents(request.app, [(record, "report")], now_us)
    answered = {
        "service_request_id": record.id,
        "service_notice": service_notice(kind, language),
        "account_id": sent.contact.get("account_id"),
    }
    return answer(fmt, "service_requests", [answered], status_code=201)


async def _photos(items: list[tuple[str, str | UploadFile]]) -> tuple[AttachmentIn, ...]:
    """The ``media`` photo of a multipart request (one at most; other files refused)."""
    photos = []
    limit = max_photo_bytes()
    for name, value in items:
        if isinstance(value, str):
            continue
        if name != "media":
            raise Open311RequestError(f"file field {name!r}: send the photo as media")
        content = await value.read(limit + 1)  # more than the limit is refused, not read
        photos.append(AttachmentIn(value.filename or "media", value.content_type or "", content))
    return tuple(photos)


def _title(kind: Category, sent: ReportForm, lang: Language) -> str:
    """The incident's title: the service's name and where (or what) it is."""
    first_line = sent.description.splitlines()[0] if sent.description else ""
    detail = (sent.address_string or first_line)[:TITLE_DETAIL]
    return (name_of(kind, lang) + (f" - {detail}" if detail else ""))[:MAX_TITLE]


def _jurisdiction(store: CityStore, reporter: Principal, sent: ReportForm) -> str:
    """The smallest jurisdiction holding the request's point (400 outside all of the
    city's); without a point, or in a city without jurisdictions, the key's own."""
    own = reporter.jurisdiction
    if own is None:  # a key or a user always has one
        raise Open311RequestError("the api_key has no jurisdiction to report in")
    if sent.lat is None or sent.long is None:
        return own
    if not store.jurisdictions(scope=Scope.everything()):
        return own
    found = jurisdiction_at(store, {"type": "Point", "coordinates": [sent.long, sent.lat]})
    if found is None:
        raise Open311RequestError(
            f"lat {sent.lat}, long {sent.long} lies outside every jurisdiction of this city"
        )
    return found
