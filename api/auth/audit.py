"""Writing the audit log from routes: ``record_write`` for every write, refusals from the
dependencies. Entries carry the principal's jurisdiction, so an admin reads those of their
subtree only."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.auth.principal import Principal
from api.auth.state import auth_state
from cim.ops import audit
from cim.ops.audit import AuditEvent


def client_address(request: Request) -> str | None:
    """The address the request came from (the peer: a proxy in front is not looked through)."""
    return request.client.host if request.client else None


def record_write(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    """Record that ``principal`` performed ``action`` on ``target`` (an id, a path, a job).

    Every route that writes calls this once the write is done (or refused by the domain,
    with ``outcome`` saying why).
    """
    state = auth_state(request)
    audit.append(
        state.db,
        AuditEvent(
            state.clock(),
            principal.subject,
            "write",
            outcome,
            jurisdiction=principal.jurisdiction,
            action=action,
            target=target,
            client=client_address(request),
            details={"method": request.method, "path": request.url.path, **(details or {})},
        ),
    )


def record_refusal(
    request: Request, principal: Principal | None, action: str | None, reason: str
) -> None:
    """Record that a request was refused (bad credentials, missing role)."""
    state = auth_state(request)
    who = principal or Principal.nobody()
    audit.append(
        state.db,
        AuditEvent(
            state.clock(),
            who.subject,
            "refused",
            "unauthenticated" if who.anonymous else "forbidden",
            jurisdiction=who.jurisdiction,
            action=action,
            target=f"{request.method} {request.url.path}",
            client=client_address(request),
            details={"reason": reason},
        ),
    )
