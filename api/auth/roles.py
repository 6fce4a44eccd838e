"""Roles and the actions each allows: viewer < operator < manager < admin."""

from __future__ import annotations

from collections.abc import Iterable

from api.errors import AccountInputError

# Each role has the actions of the one before it, plus its own.
ROLE_ORDER: tuple[str, ...] = ("viewer", "operator", "manager", "admin")
OWN_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    # observe: send observations (HTTP or MQTT); sensors: create, change and delete the
    # other SensorThings entities (things, datastreams, sensors...).
    # The closed loop (simulation.incidents.workflow): report and comment on incidents,
    # handle what is dispatched to one's department, verify on the spot (inspectors);
    # register, dispatch, suspend and close (the command centre), manage alert rules.
    # simulate: run the what-if models (flood, sunlight, zoning, pollution fields).
    "operator": frozenset({"import", "observe", "report", "handle", "verify", "simulate"}),
    # runs: delete stored simulation runs.
    "manager": frozenset({"tile", "jurisdictions", "sensors", "dispatch", "rules", "runs"}),
    "admin": frozenset({"users", "keys", "audit"}),
}


def _cumulative() -> dict[str, frozenset[str]]:
    actions: frozenset[str] = frozenset()
    table = {}
    for role in ROLE_ORDER:
        actions = actions | OWN_ACTIONS[role]
        table[role] = actions
    return table


ROLE_ACTIONS: dict[str, frozenset[str]] = _cumulative()
ACTIONS: frozenset[str] = ROLE_ACTIONS[ROLE_ORDER[-1]]


class UnknownRoleError(AccountInputError):
    """A role or an action that does not exist."""


def actions_of(roles: Iterable[str]) -> frozenset[str]:
    """Every action the ``roles`` together allow (unknown roles allow nothing)."""
    allowed: frozenset[str] = frozenset()
    for role in roles:
        allowed |= ROLE_ACTIONS.get(role, frozenset())
    return allowed


def check_roles(roles: Iterable[str]) -> list[str]:
    """``roles`` when each is a known role."""
    listed = list(roles)
    for role in listed:
        if role not in ROLE_ACTIONS:
            raise UnknownRoleError(f"unknown role {role!r}: use {', '.join(ROLE_ORDER)}")
    return listed


def check_actions(actions: Iterable[str]) -> list[str]:
    """``actions`` when each is a known action."""
    listed = list(actions)
    for action in listed:
        if action not in ACTIONS:
            raise UnknownRoleError(f"unknown action {action!r}: use {', '.join(sorted(ACTIONS))}")
    return listed
