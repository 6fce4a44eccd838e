"""Open311 services and their definitions, from the incident categories
(``data/codes/incident_categories.json``): a category's code is its ``service_code``."""

from __future__ import annotations

from typing import Any

from api.errors import Open311NotFoundError
from api.open311.language import Language
from simulation.incidents.codes import Category, categories, department

LIST_TYPES = frozenset({"singlevaluelist", "multivaluelist"})
DATATYPES = frozenset({"string", "number", "datetime", "text", *LIST_TYPES})
GROUPS = {
    "event": {"zh": "事件", "en": "event"},
    "component": {"zh": "部件", "en": "component"},
}


def service(code: str) -> Category:
    """The category of ``service_code`` ``code`` (404 otherwise)."""
    found = categories().get(code)
    if found is None:
        raise Open311NotFoundError(
            f"service_code {code!r} was not found: use one of {', '.join(categories())}"
        )
    return found


def name_of(found: Category, lang: Language) -> str:
    """The category's name in ``lang``."""
    return found.zh if lang == "zh" else found.en


def agency_of(code: str, lang: Language) -> str:
    """The name of the department ``code`` in ``lang``."""
    agency = department(code)
    return agency.zh if lang == "zh" else agency.en


def service_entry(found: Category, lang: Language) -> dict[str, Any]:
    """A category as a ``service`` of the service list."""
    agency = agency_of(found.department, lang)
    name = name_of(found, lang)
    about = f"{name}\uff0c由{agency}处置" if lang == "zh" else f"{name}, handled by {agency}"
    return {
        "service_code": found.code,
        "service_name": name,
        "description": about,
        "metadata": bool(found.attributes),
        "type": "realtime",
        "keywords": ", ".join(found.keywords),
        "group": GROUPS.get(found.group, {}).get(lang, found.group),
    }


def service_list(lang: Language) -> list[dict[str, Any]]:
    """Every category as a service, in the code list's order."""
    return [service_entry(found, lang) for found in categories().values()]


def service_definition(found: Category) -> dict[str, Any]:
    """The ``service_definition`` of a category: its attributes as the standard lists them."""
    return {
        "service_code": found.code,
        "attributes": [
            _attribute(entry, order) for order, entry in enumerate(attributes_of(found), 1)
        ],
    }


def attributes_of(found: Category) -> list[dict[str, Any]]:
    """The category's attribute definitions in the order they are asked."""
    listed = list(found.attributes)
    return sorted(listed, key=lambda entry: int(entry.get("order", listed.index(entry) + 1)))


def _attribute(entry: dict[str, Any], order: int) -> dict[str, Any]:
    attribute = {
        "variable": bool(entry.get("variable", True)),
        "code": entry["code"],
        "datatype": entry["datatype"],
        "required": bool(entry.get("required", False)),
        "datatype_description": entry.get("datatype_description"),
        "order": int(entry.get("order", order)),
        "description": entry.get("description", ""),
    }
    if entry["datatype"] in LIST_TYPES:
        attribute["values"] = [{"key": v["key"], "name": v["name"]} for v in entry["values"]]
    return attribute
