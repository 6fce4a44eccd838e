"""The demo's closed loop as data: its alert rules (``data/demo/incident_rules.json``) and its
incident history (``data/demo/incidents.json``: who reported what, where, and who took each
step when), read into typed records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cim.data import DataFileError, read_json
from simulation.incidents.codes import category, department
from simulation.incidents.errors import IncidentError
from simulation.incidents.workflow import ACTIONS

RULES_FILE = "demo/incident_rules.json"
SCRIPT_FILE = "demo/incidents.json"
# How an incident of the script is reported: by a rule on the sensor history, by a citizen
# through Open311, by a demo account (source inspector, hotline or operator).
VIAS = ("rule", "open311", "inspector", "hotline", "operator")


@dataclass(frozen=True)
class PlannedRule:
    """An alert rule of the demo: it watches one datastream (by name), every datastream
    of an observed property (by name) or those in city objects of a class."""

    name: str
    condition: str
    raise_value: float | None
    clear_value: float | None
    duration_s: int
    category: str | None
    priority: int
    datastream: str | None = None
    observed_property: str | None = None
    object_class: str | None = None


@dataclass(frozen=True)
class RulePlan:
    """The demo's rules and the account that makes them."""

    created_by: str
    rules: tuple[PlannedRule, ...]


@dataclass(frozen=True)
class PlannedStep:
    """A step of the script: ``after_min`` minutes after the report, by account ``by``."""

    after_min: float
    by: str
    action: str
    note: str = ""
    department: str | None = None
    photo: str | None = None


@dataclass(frozen=True)
class PlannedIncident:
    """An incident of the script (see the data file's description)."""

    key: str
    via: str
    steps: tuple[PlannedStep, ...]
    rule: str | None = None
    by: str | None = None
    citizen: dict[str, str] | None = None
    at_min: float = 0.0
    category: str = ""
    title: str = ""
    description: str = ""
    at: dict[str, Any] | None = None
    photo: str | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class IncidentScript:
    """The whole script: the Open311 key citizens report with, and the incidents."""

    open311_key_name: str
    open311_key_jurisdiction: str
    incidents: tuple[PlannedIncident, ...]


def rule_plan() -> RulePlan:
    """The rules ``data/demo/incident_rules.json`` defines."""
    document = read_json(RULES_FILE)
    try:
        rules = tuple(_rule(entry) for entry in document["rules"])
        return RulePlan(str(document["created_by"]), rules)
    except (KeyError, TypeError, ValueError, IncidentError) as error:
        raise DataFileError(f"{RULES_FILE}: malformed ({error!r})") from error


def _rule(entry: dict[str, Any]) -> PlannedRule:
    targets = [key for key in ("datastream", "observed_property", "object_class") if entry.get(key)]
    if len(targets) != 1:
        raise ValueError(
            f"rule {entry.get('name')!r} names a datastream, an observed property or a class"
        )
    code = entry.get("category")
    return PlannedRule(
        name=str(entry["name"]),
        condition=str(entry["condition"]),
        raise_value=None if entry.get("raise") is None else float(entry["raise"]),
        clear_value=None if entry.get("clear") is None else float(entry["clear"]),
        duration_s=int(entry.get("duration_s", 0)),
        category=None if code is None else category(str(code)).code,
        priority=int(entry.get("priority", 3)),
        datastream=entry.get("datastream"),
        observed_property=entry.get("observed_property"),
        object_class=entry.get("object_class"),
    )


def incident_script() -> IncidentScript:
    """The script ``data/demo/incidents.json`` defines."""
    document = read_json(SCRIPT_FILE)
    try:
        key = document["open311_key"]
        incidents = tuple(_incident(entry) for entry in document["incidents"])
        if len({i.key for i in incidents}) != len(incidents):
            raise ValueError("two incidents have the same key")
        return IncidentScript(str(key["name"]), str(key["jurisdiction"]), incidents)
    except (KeyError, TypeError, ValueError, IncidentError) as error:
        raise DataFileError(f"{SCRIPT_FILE}: malformed ({error!r})") from error


def _incident(entry: dict[str, Any]) -> PlannedIncident:
    key = str(entry["key"])
    steps = tuple(_step(key, step) for step in entry.get("steps", ()))
    if "rule" in entry:
        return PlannedIncident(key, "rule", steps, rule=str(entry["rule"]))
    via = str(entry["via"])
    if via not in VIAS:
        raise ValueError(f"incident {key!r}: via {via!r}, use {', '.join(VIAS)}")
    if (via == "open311") != ("citizen" in entry) or (via != "open311") != ("by" in entry):
        raise ValueError(f"incident {key!r}: a citizen reports through open311, an account else")
    return PlannedIncident(
        key,
        via,
        steps,
        by=entry.get("by"),
        citizen=entry.get("citizen"),
        at_min=float(entry["at_min"]),
        category=category(str(entry["category"])).code,
        title=str(entry["title"]),
        description=str(entry.get("description", "")),
        at=dict(entry["at"]),
        photo=entry.get("photo"),
        attributes=entry.get("attributes"),
    )


def _step(key: str, entry: dict[str, Any]) -> PlannedStep:
    action = str(entry["action"])
    if action not in ACTIONS:
        raise ValueError(f"incident {key!r}: no action {action!r}")
    code = entry.get("department")
    return PlannedStep(
        after_min=float(entry["after_min"]),
        by=str(entry["by"]),
        action=action,
        note=str(entry.get("note", "")),
        department=None if code is None else department(str(code)).code,
        photo=entry.get("photo"),
    )
