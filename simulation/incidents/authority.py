"""Who may take which step on an incident, and why not: the checks of
:func:`simulation.incidents.incidents.take_step` that depend on the caller, each refusal
naming what is missing."""

from __future__ import annotations

from cim.scope import parent_of
from simulation.incidents.actors import PERMISSION_ROLES, Actor
from simulation.incidents.errors import NotAllowedError
from simulation.incidents.records import IncidentRecord
from simulation.incidents.workflow import Action, actions_from

# How refusals name each action.
GERUNDS: dict[str, str] = {
    "register": "registering",
    "reject": "not accepting",
    "dispatch": "dispatching",
    "accept": "taking up",
    "return": "returning to dispatch",
    "handle": "reporting handled",
    "verify": "verifying",
    "send_back": "sending back",
    "close": "closing",
    "suspend": "suspending",
    "resume": "resuming",
    "comment": "commenting",
}


def ancestors_or_self(code: str) -> list[str]:
    """``code`` and every node above it, up to its province."""
    chain: list[str] = []
    node: str | None = code
    while node is not None:
        chain.append(node)
        node = parent_of(node)
    return chain


def check_actor(record: IncidentRecord, action: Action, actor: Actor) -> None:
    """Refuse ``actor`` taking ``action`` on ``record`` unless its permission,
    jurisdiction and (for a department's steps) department allow it.

    Raises
    ------
    NotAllowedError
        The message names the permission, jurisdiction or department missing.
    """
    doing = GERUNDS.get(action.code, action.code)
    if not actor.may(action.permission):
        role = PERMISSION_ROLES.get(action.permission, action.permission)
        raise NotAllowedError(
            f"{doing} needs the '{action.permission}' permission ({role}); {actor.describe()}"
        )
    if not (actor.scope.contains(record.jurisdiction) or actor.scope.contains(record.escalated_to)):
        raise NotAllowedError(
            f"{doing} incident {record.id} needs a jurisdiction containing"
            f" {record.jurisdiction}; {actor.name} works for {actor.jurisdiction}"
        )
    if action.department_only:
        if actor.department is None or actor.department != record.department:
            theirs = actor.department or "no department"
            raise NotAllowedError(
                f"{doing} is for the department incident {record.id} is dispatched to"
                f" ({record.department} of {record.department_jurisdiction});"
                f" {actor.name} works for {theirs}"
            )
        if not actor.scope.contains(record.department_jurisdiction):
            raise NotAllowedError(
                f"{doing} is for the {record.department} department of"
                f" {record.department_jurisdiction}; {actor.name} works in {actor.jurisdiction}"
            )


def allowed_actions(record: IncidentRecord, actor: Actor) -> list[str]:
    """The codes of the actions ``actor`` may take on ``record`` now (its status, the
    actor's permissions, jurisdiction and department; not the note or department a step
    must still name)."""
    allowed = []
    for action in actions_from(record.status):
        try:
            check_actor(record, action, actor)
        except NotAllowedError:
            continue
        allowed.append(action.code)
    return allowed
