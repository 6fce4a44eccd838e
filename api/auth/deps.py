"""The named dependencies routes use: the caller, the caller's scope, a required action.

Credentials come in a header only (``Authorization: Bearer <access token or API key>`` or
``X-API-Key: <key>``), never from a cookie, so a cross-site form cannot act for a user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from api.auth.audit import record_refusal
from api.auth.principal import Principal
from api.auth.service import authenticate
from api.auth.state import auth_state
from api.errors import ForbiddenError, NotAuthenticatedError
from cim.scope import Scope

TOKEN_URL = "/api/auth/token"
API_KEY_HEADER = "X-API-Key"
# Declared for the OpenAPI document (the docs' Authorize button); the header is read below.
bearer_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def presented_credential(request: Request) -> str | None:
    """The access token or API key the request carries, if any."""
    key = request.headers.get(API_KEY_HEADER)
    if key is not None:
        return key.strip()
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticatedError("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def current_principal(
    request: Request,
    _token: Annotated[str | None, Depends(bearer_scheme)],
    _key: Annotated[str | None, Depends(key_scheme)],
) -> Principal:
    """The caller: anonymous without credentials; bad or expired ones answer 401."""
    try:
        credential = presented_credential(request)
        if credential is None:
            return Principal.nobody()
        return authenticate(auth_state(request), credential)
    except NotAuthenticatedError as exc:
        record_refusal(request, None, None, str(exc))
        raise


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def signed_in(request: Request, principal: PrincipalDep) -> Principal:
    """The caller, who must have presented credentials."""
    if principal.anonymous:
        record_refusal(request, principal, None, "no credentials")
        raise NotAuthenticatedError("sign in first (POST /api/auth/token) or send an API key")
    return principal


SignedInDep = Annotated[Principal, Depends(signed_in)]


def file_reader(request: Request, principal: PrincipalDep) -> Principal:
    """A reader of tiles, terrain and imagery: any signed-in caller, or anyone when the app
    allows anonymous reading (``CIMTWIN_ANONYMOUS_READ``; the attributes stay in the API)."""
    if principal.anonymous and not request.app.state.anonymous_read:
        record_refusal(request, principal, None, "no credentials")
        raise NotAuthenticatedError("sign in first (POST /api/auth/token) or send an API key")
    return principal


def caller_scope(principal: SignedInDep) -> Scope:
    """The part of the jurisdiction tree the caller may see (anonymous: 401)."""
    return principal.scope


ScopeDep = Annotated[Scope, Depends(caller_scope)]


def require(action: str) -> Callable[[Request, Principal], Principal]:
    """A dependency answering 403 unless the caller may perform ``action`` (401 when
    anonymous); it gives the principal.

    Example: ``principal: Annotated[Principal, Depends(require("import"))]``.
    """

    def allowed(request: Request, principal: SignedInDep) -> Principal:
        if not principal.may(action):
            record_refusal(request, principal, action, f"{action} not allowed")
            raise ForbiddenError(f"{principal.subject} may not {action}")
        return principal

    allowed.__name__ = f"require_{action.replace('-', '_')}"
    return allowed
