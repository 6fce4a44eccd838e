"""Who calls Open311 and what they may see.

The standard reads services and requests without a key and posts requests with an
``api_key``. Here an ``api_key`` is one of the platform's API keys (``cimtwin key add``,
with the ``report`` action to post), sent as the standard's ``api_key`` field (query or
form) or in the platform's ``X-API-Key``/``Authorization`` headers; a signed-in user's
bearer token works too. A caller with credentials sees the requests of their jurisdiction;
an anonymous caller sees the city's public list (the requests citizens made through
Open311) unless ``CIMTWIN_OPEN311_PUBLIC`` is off. Personal contact data is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.auth.apikeys import looks_like_key
from api.auth.audit import record_refusal
from api.auth.deps import PrincipalDep
from api.auth.principal import Principal
from api.auth.service import authenticate
from api.auth.state import auth_state
from api.errors import ForbiddenError, NotAuthenticatedError
from api.settings import get_settings
from cim.scope import Scope

# Parts of a multipart report: its fields and one photo.
MAX_FORM_FIELDS = 200
MAX_FORM_FILES = 1
# The source of incidents reported through Open311: what anonymous callers may list.
CITIZEN_SOURCE = "citizen"


async def open311_caller(request: Request, principal: PrincipalDep) -> Principal:
    """The caller: the ``api_key`` field's key (query, or form of a POST), else the
    principal of the request's headers, else anonymous. A bad key answers 403."""
    key = request.query_params.get("api_key")
    if not key and request.method == "POST" and _is_form(request):
        form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
        sent = form.get("api_key")
        key = sent if isinstance(sent, str) else None
    if not key:
        return principal
    key = key.strip()
    try:
        if not looks_like_key(key):
            raise NotAuthenticatedError("invalid api_key: it is not an API key of this city")
        return authenticate(auth_state(request), key)
    except NotAuthenticatedError as exc:
        record_refusal(request, None, "report", f"open311: {exc}")
        raise ForbiddenError(f"invalid api_key received: {exc}") from None


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


CallerDep = Annotated[Principal, Depends(open311_caller)]


@dataclass(frozen=True)
class Readers:
    """What a caller of ``GET requests`` sees: a scope, and whether only the public list
    (requests citizens made) is shown."""

    scope: Scope
    public_only: bool


def open311_readers(request: Request, caller: CallerDep) -> Readers:
    """The caller's scope, or the public list for an anonymous caller when the city
    publishes it (403 otherwise)."""
    if not caller.anonymous:
        return Readers(caller.scope, public_only=False)
    if not open311_public(request):
        record_refusal(request, caller, None, "open311: anonymous reads are off")
        raise ForbiddenError("this city lists service requests to callers with an api_key only")
    return Readers(Scope.everything(), public_only=True)


def open311_public(request: Request) -> bool:
    """Whether anonymous callers may list requests: the app's ``open311_public`` state when
    set, else the ``CIMTWIN_OPEN311_PUBLIC`` setting."""
    chosen: bool | None = getattr(request.app.state, "open311_public", None)
    return get_settings().open311_public if chosen is None else chosen


def open311_reporter(request: Request, caller: CallerDep) -> Principal:
    """The caller of ``POST requests``, who must have the ``report`` action (403)."""
    if caller.anonymous:
        record_refusal(request, caller, "report", "open311: no api_key")
        raise ForbiddenError("api_key was not provided: posting a request needs one")
    if not caller.may("report"):
        record_refusal(request, caller, "report", "report not allowed")
        raise ForbiddenError(f"api_key of {caller.subject} may not report service requests")
    return caller


ReadersDep = Annotated[Readers, Depends(open311_readers)]
ReporterDep = Annotated[Principal, Depends(open311_reporter)]


def max_photo_bytes() -> int:
    """The largest photo a report may carry (``CIMTWIN_MAX_PHOTO_MB``)."""
    return int(get_settings().max_photo_mb * 2**20)
