"""The workflow of an incident, modelled on GB/T 30428 (digital urban management).

::

    reported ──register──> registered ──dispatch──> dispatched ──accept──> handling
       │                      ▲  │                     │                    │
       └─reject─> not_accepted │  └─suspend─> suspended └─return─┐          handle
                              │          └─resume─┘              │          ▼
                              └────────────────send_back─────── handled <──┘
                                                                  │ verify
                                                   closed <─close─ verified

Who may take a step: the action each needs (:mod:`api.auth.roles`: ``report``, ``handle``,
``verify`` for operators, ``dispatch`` for managers), at a node whose scope contains the
incident's jurisdiction; ``accept``, ``return`` and ``handle`` also need the caller to
work for the department the incident is dispatched to. This module is data and pure
functions: the database side is :mod:`simulation.incidents.incidents`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.incidents.errors import WrongStatusError


@dataclass(frozen=True)
class Status:
    """A status of an incident."""

    code: str
    zh: str
    en: str
    final: bool = False
    # the Open311 GeoReport v2 status it shows as
    open311: str = "open"


STATUSES: dict[str, Status] = {
    s.code: s
    for s in (
        Status("reported", "上报", "Reported"),
        Status("registered", "立案", "Registered"),
        Status("not_accepted", "不予立案", "Not accepted", final=True, open311="closed"),
        Status("dispatched", "派遣", "Dispatched"),
        Status("handling", "处置中", "Being handled"),
        Status("handled", "处置完成", "Handled"),
        Status("verified", "核查通过", "Verified"),
        Status("closed", "结案", "Closed", final=True, open311="closed"),
        Status("suspended", "挂账", "Suspended"),
    )
}
# Statuses whose time runs (each has a limit per category): all but the final ones and
# ``suspended``, which waits without a limit.
TIMED_STATUSES: tuple[str, ...] = (
    "reported",
    "registered",
    "dispatched",
    "handling",
    "handled",
    "verified",
)


@dataclass(frozen=True)
class Action:
    """A step people take on an incident."""

    code: str
    zh: str
    en: str
    # statuses it starts from (empty: any status that is not final)
    sources: tuple[str, ...]
    # the status it leads to (None: the status does not change)
    target: str | None
    # the permission it needs (an action of api.auth.roles)
    permission: str
    # whether the caller must work for the department the incident is dispatched to
    department_only: bool = False
    # whether a note is required
    needs_note: bool = False
    # whether it names a department (and the node it belongs to) to dispatch to
    needs_department: bool = False


ACTIONS: dict[str, Action] = {
    a.code: a
    for a in (
        Action("register", "立案", "Register", ("reported",), "registered", "dispatch"),
        Action(
            "reject",
            "不予立案",
            "Not accept",
            ("reported",),
            "not_accepted",
            "dispatch",
            needs_note=True,
        ),
        Action(
            "dispatch",
            "派遣",
            "Dispatch",
            ("registered",),
            "dispatched",
            "dispatch",
            needs_department=True,
        ),
        Action(
            "accept",
            "接收处置",
            "Take up",
            ("dispatched",),
            "handling",
            "handle",
            department_only=True,
        ),
        Action(
            "return",
            "退回",
            "Return to dispatch",
            ("dispatched", "handling"),
            "registered",
            "handle",
            department_only=True,
            needs_note=True,
        ),
        Action(
            "handle",
            "处置完成",
            "Report handled",
            ("handling",),
            "handled",
            "handle",
            department_only=True,
            needs_note=True,
        ),
        Action("verify", "核查通过", "Verify", ("handled",), "verified", "verify"),
        Action(
            "send_back",
            "核查不通过",
            "Send back",
            ("handled",),
            "registered",
            "verify",
            needs_note=True,
        ),
        Action("close", "结案", "Close", ("verified",), "closed", "dispatch"),
        Action(
            "suspend",
            "挂账",
            "Suspend",
            ("registered", "dispatched", "handling"),
            "suspended",
            "dispatch",
            needs_note=True,
        ),
        Action("resume", "恢复办理", "Resume", ("suspended",), "registered", "dispatch"),
        Action("comment", "备注", "Comment", (), None, "report", needs_note=True),
    )
}

# Steps the system records (not taken by people): the report itself, an alert of the rule
# that opened the incident raised again or cleared, an escalation.
SYSTEM_STEPS: dict[str, tuple[str, str]] = {
    "report": ("上报", "Reported"),
    "alert_raised": ("告警触发", "Alert raised"),
    "alert_cleared": ("告警解除", "Alert cleared"),
    "escalate": ("超时升级", "Escalated (overdue)"),
    "simulation": ("模拟计算", "Simulation run"),
}


def action_named(code: str) -> Action:
    """The action ``code``.

    Raises
    ------
    WrongStatusError
        No such action.
    """
    action = ACTIONS.get(code)
    if action is None:
        raise WrongStatusError(f"unknown action {code!r}: use {', '.join(ACTIONS)}")
    return action


def allowed_from(action: Action, status: str) -> bool:
    """Whether ``action`` may start from ``status``."""
    if action.sources:
        return status in action.sources
    return not STATUSES[status].final


def next_status(status: str, code: str) -> str:
    """The status an incident in ``status`` goes to by action ``code``.

    Raises
    ------
    WrongStatusError
        The action does not start from ``status`` (the message names the statuses it does).
    """
    action = action_named(code)
    if not allowed_from(action, status):
        starts = ", ".join(action.sources) or "any status that is not final"
        raise WrongStatusError(
            f"cannot {action.en.lower()} an incident that is {status}: "
            f"'{code}' starts from {starts}"
        )
    return action.target or status


def actions_from(status: str) -> list[Action]:
    """The actions that may start from ``status`` (before any check of who asks)."""
    return [a for a in ACTIONS.values() if allowed_from(a, status)]
