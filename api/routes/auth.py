"""Signing in and out, the caller's own account, and the audit log for admins."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.auth import service
from api.auth.audit import client_address
from api.auth.deps import SignedInDep, require
from api.auth.principal import Principal
from api.auth.state import AuthState, auth_state
from api.deps import CityDirDep
from cim.errors import CimError
from cim.ops import audit, keys, users
from cim.ops.audit import KINDS, MAX_PAGE, AuditQuery, Kind
from cim.scope import Scope, level_of
from cim.store import CityStore

router = APIRouter(tags=["auth"])
StateDep = Annotated[AuthState, Depends(auth_state)]


class TokenResponse(BaseModel):
    """An access token (a JWT for the Authorization header) and its refresh token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token lasts")
    refresh_token: str


class RefreshRequest(BaseModel):
    """A refresh token, used once: the answer carries its successor."""

    refresh_token: str = Field(min_length=1, max_length=512)


class Jurisdiction(BaseModel):
    """A node of the jurisdiction tree."""

    code: str
    name: str | None
    level: str


class Me(BaseModel):
    """The signed-in caller."""

    username: str
    display_name: str
    roles: list[str]
    actions: list[str]
    jurisdiction: Jurisdiction
    # the department a user works for (incidents dispatched to it are theirs to handle)
    department: str | None = None


class AuditEntry(BaseModel):
    """One line of the audit log."""

    id: int
    at: datetime
    principal: str
    jurisdiction: str | None
    kind: str
    action: str | None
    target: str | None
    outcome: str
    client: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    """Entries newest first, with the total that match and the next page's offset."""

    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int
    next_offset: int | None


@router.post("/api/auth/token", response_model=TokenResponse)
def sign_in(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], state: StateDep
) -> dict[str, object]:
    """Sign in with a user name and password (OAuth2 password flow, form-encoded).

    Repeated failures for one user name or from one address answer 429 with Retry-After,
    even to the right password, until the window passes.
    """
    pair = service.sign_in(state, form.username, form.password, client_address(request))
    return pair.to_dict()


@router.post("/api/auth/refresh", response_model=TokenResponse)
def refresh(request: Request, body: RefreshRequest, state: StateDep) -> dict[str, object]:
    """Exchange a refresh token for new tokens; the old one stops working.

    Presenting an already used refresh token ends the whole session (it was copied).
    """
    return service.refresh(state, body.refresh_token, client_address(request)).to_dict()


@router.post("/api/auth/logout", status_code=204)
def logout(principal: SignedInDep, state: StateDep) -> Response:
    """End the session of the bearer token: its access and refresh tokens stop working."""
    service.sign_out(state, principal)
    return Response(status_code=204)


@router.get("/api/me", response_model=Me)
def me(principal: SignedInDep, state: StateDep, city: CityDirDep) -> dict[str, Any]:
    """Who the caller is: name, roles and actions, jurisdiction (its name from the city's
    jurisdictions; null while the city holds none for that code)."""
    assert principal.jurisdiction is not None
    department = None
    if principal.kind == "user":
        user = users.get_user(state.db, principal.subject)
        display_name, department = user.display_name, user.department
    else:
        key = keys.find_key(state.db, principal.subject.removeprefix("key:"))
        display_name = key.name if key else principal.subject
    return {
        "username": principal.subject,
        "display_name": display_name,
        "roles": sorted(principal.roles),
        "actions": sorted(principal.actions),
        "jurisdiction": {
            "code": principal.jurisdiction,
            "name": jurisdiction_name(city, principal.jurisdiction),
            "level": level_of(principal.jurisdiction),
        },
        "department": department,
    }


def jurisdiction_name(city: Path, code: str) -> str | None:
    """The name the city's stored jurisdictions give ``code`` (None: no city, no such node)."""
    try:
        with CityStore.open(city) as store:
            return store.jurisdiction(code, scope=Scope.everything()).name
    except CimError:
        return None


@router.get("/api/audit", response_model=AuditPage)
def read_audit(
    principal: Annotated[Principal, Depends(require("audit"))],
    state: StateDep,
    since: Annotated[datetime | None, Query(description="from this time (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    subject: Annotated[
        str | None, Query(alias="principal", description="a user name or key:<id>")
    ] = None,
    kind: Annotated[Kind | None, Query(description=" | ".join(KINDS))] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> dict[str, Any]:
    """The audit log (admins): sign-ins, refusals and writes of the principals in the
    admin's jurisdiction, newest first."""
    query = AuditQuery(principal.scope, _utc(since), _utc(until), subject, kind, limit, offset)
    page = audit.read(state.db, query)
    end = offset + len(page.entries)
    return {
        "entries": [asdict(entry) for entry in page.entries],
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "next_offset": end if end < page.total else None,
    }


def _utc(moment: datetime | None) -> datetime | None:
    """A query time in UTC; one without a zone is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
