"""The code lists of the closed loop (``data/codes``): incident categories with their time
limits and Open311 attributes, and the departments incidents are dispatched to."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cim.data import read_json
from simulation.incidents.errors import IncidentInputError
from simulation.incidents.workflow import TIMED_STATUSES

CATEGORIES_FILE = "codes/incident_categories.json"
DEPARTMENTS_FILE = "codes/departments.json"


@dataclass(frozen=True)
class Category:
    """A category of incidents."""

    code: str
    zh: str
    en: str
    group: str
    department: str
    priority: int
    icon: str
    keywords: tuple[str, ...]
    # status -> minutes an incident may stay in it
    limits_minutes: dict[str, int]
    # Open311 attribute definitions, as in the file
    attributes: tuple[dict[str, Any], ...]

    def limit_us(self, status: str) -> int | None:
        """The time limit of ``status`` in microseconds (None: no limit there)."""
        minutes = self.limits_minutes.get(status)
        return None if minutes is None else minutes * 60_000_000


@dataclass(frozen=True)
class Department:
    """A professional department."""

    code: str
    zh: str
    en: str


@cache
def categories() -> dict[str, Category]:
    """Every category, by code, in the file's order."""
    listed = {}
    for entry in read_json(CATEGORIES_FILE)["categories"]:
        limits = {status: int(entry["limits_minutes"][status]) for status in TIMED_STATUSES}
        listed[entry["code"]] = Category(
            code=entry["code"],
            zh=entry["zh"],
            en=entry["en"],
            group=entry["group"],
            department=entry["department"],
            priority=int(entry["priority"]),
            icon=entry["icon"],
            keywords=tuple(entry.get("keywords", ())),
            limits_minutes=limits,
            attributes=tuple(entry.get("attributes", ())),
        )
    return listed


@cache
def departments() -> dict[str, Department]:
    """Every department, by code."""
    return {
        d["code"]: Department(d["code"], d["zh"], d["en"])
        for d in read_json(DEPARTMENTS_FILE)["departments"]
    }


def category(code: str) -> Category:
    """The category ``code``.

    Raises
    ------
    IncidentInputError
        No such category (the message lists them).
    """
    found = categories().get(code)
    if found is None:
        raise IncidentInputError(f"unknown category {code!r}: use {', '.join(categories())}")
    return found


def department(code: str) -> Department:
    """The department ``code``.

    Raises
    ------
    IncidentInputError
        No such department (the message lists them).
    """
    found = departments().get(code)
    if found is None:
        raise IncidentInputError(f"unknown department {code!r}: use {', '.join(departments())}")
    return found
