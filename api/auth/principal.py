"""Who is calling: a signed-in user, an API key, or nobody (anonymous)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from api.auth.roles import actions_of
from cim.scope import Scope, level_of

# Anonymous callers see no jurisdiction: a prefix no 12-digit code starts with.
NO_JURISDICTION = Scope("-")


@dataclass(frozen=True)
class Principal:
    """The caller of a request.

    Attributes
    ----------
    subject:
        The user name, ``key:<id>`` for an API key, or ``anonymous``.
    kind:
        ``user``, ``key`` or ``anonymous``.
    jurisdiction:
        The 12-digit code of the caller's node (None for anonymous).
    roles:
        The user's roles (empty for keys and anonymous).
    scope:
        The part of the jurisdiction tree the caller may see.
    actions:
        What the caller may do: its roles' actions, or the key's own.
    session_id:
        The sign-in session of a user's access token (None otherwise).
    """

    subject: str
    kind: Literal["user", "key", "anonymous"]
    jurisdiction: str | None
    roles: frozenset[str]
    scope: Scope
    actions: frozenset[str] = frozenset()
    session_id: str | None = field(default=None, compare=False)

    def may(self, action: str) -> bool:
        """Whether the caller may perform ``action``."""
        return action in self.actions

    @property
    def anonymous(self) -> bool:
        """Whether no credentials came with the request."""
        return self.kind == "anonymous"

    @classmethod
    def nobody(cls) -> Principal:
        """The anonymous caller: no jurisdiction, no actions."""
        return cls("anonymous", "anonymous", None, frozenset(), NO_JURISDICTION)

    @classmethod
    def user(
        cls, name: str, jurisdiction: str, roles: frozenset[str], session_id: str | None = None
    ) -> Principal:
        """A signed-in user."""
        return cls(
            name,
            "user",
            jurisdiction,
            roles,
            scope_for(jurisdiction, roles),
            actions_of(roles),
            session_id,
        )

    @classmethod
    def key(cls, key_id: str, jurisdiction: str, actions: frozenset[str]) -> Principal:
        """A caller presenting an API key."""
        return cls(
            f"key:{key_id}", "key", jurisdiction, frozenset(), Scope.of(jurisdiction), actions
        )


def scope_for(jurisdiction: str, roles: frozenset[str]) -> Scope:
    """A user's scope: the subtree of their node; everything for an admin of a province
    (the root of the tree, who also sees objects outside every jurisdiction)."""
    if "admin" in roles and level_of(jurisdiction) == "province":
        return Scope.everything()
    return Scope.of(jurisdiction)
