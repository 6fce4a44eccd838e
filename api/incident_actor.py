"""The actor of the closed loop a request's caller is: a user (with the department the users
table gives them and their highest role) or an API key."""

from __future__ import annotations

from api.auth.principal import Principal
from api.auth.roles import ROLE_ORDER
from cim.ops import OpsDatabase, users
from cim.scope import Scope
from simulation.incidents.actors import Actor


def actor_of(principal: Principal, scope: Scope, db: OpsDatabase) -> Actor:
    """The actor ``principal`` is, acting within ``scope`` (the caller's scope)."""
    if principal.kind == "key":
        return Actor(principal.subject, "key", principal.jurisdiction, scope, principal.actions)
    department = None
    if principal.kind == "user":
        user = users.find_user(db, principal.subject)
        department = user.department if user else None
    role = max((r for r in principal.roles if r in ROLE_ORDER), key=ROLE_ORDER.index, default=None)
    return Actor(
        principal.subject,
        "user",
        principal.jurisdiction,
        scope,
        principal.actions,
        department,
        role,
    )
