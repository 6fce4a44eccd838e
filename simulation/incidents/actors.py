"""Who takes a step: a user, an API key, the system, or a citizen, with their node, scope,
permissions and department (the API builds one from the signed-in principal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cim.scope import Scope
from simulation.incidents.workflow import ACTIONS

ActorKind = Literal["user", "key", "system", "citizen"]
ACTOR_KINDS: tuple[ActorKind, ...] = ("user", "key", "system", "citizen")
# The smallest role that has each permission of the workflow (as api.auth.roles grants
# them): named in refusals so that the caller knows whom to ask.
PERMISSION_ROLES: dict[str, str] = {
    "report": "operator",
    "handle": "operator",
    "verify": "operator",
    "dispatch": "manager",
}
SYSTEM_NAME = "system"


@dataclass(frozen=True)
class Actor:
    """The caller of a domain function of the closed loop.

    Attributes
    ----------
    name:
        A user name, ``key:<id>``, ``system`` or a citizen's name.
    kind:
        ``user``, ``key``, ``system`` or ``citizen``.
    jurisdiction:
        The 12-digit code of the caller's node (None for the system).
    scope:
        The part of the jurisdiction tree the caller may see and act on.
    permissions:
        The actions of :mod:`api.auth.roles` the caller has (``report``, ``dispatch``...).
    department:
        The department code the caller works for (users only; None: none).
    role:
        The caller's highest role, named in refusals (None: not a user).
    """

    name: str
    kind: ActorKind
    jurisdiction: str | None
    scope: Scope
    permissions: frozenset[str]
    department: str | None = None
    role: str | None = None

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (escalation, alerts): everywhere, every permission."""
        every = frozenset(action.permission for action in ACTIONS.values())
        return cls(SYSTEM_NAME, "system", None, Scope.everything(), every)

    def may(self, permission: str) -> bool:
        """Whether the actor has ``permission``."""
        return permission in self.permissions

    def describe(self) -> str:
        """How refusals name the actor and what it is ("huacheng is an operator")."""
        if self.role:
            article = "an" if self.role[:1] in "aeiou" else "a"
            return f"{self.name} is {article} {self.role}"
        granted = ", ".join(sorted(self.permissions)) or "nothing"
        return f"{self.name} ({self.kind}) may only {granted}"
