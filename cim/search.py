"""Queries the viewer needs: find objects by id, name or address; one value per object.

Both read light rows (:class:`~cim.store_rows.ObjectRecord`) through the store's
:meth:`~cim.store.CityStore.text_matches` and :meth:`~cim.store.CityStore.records` rather
than building every :class:`~cim.model.CityObject`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import BUILDING_CLASSES, SITE_CLASS, STOREY_CLASS, levels_of, use_of, year_of

# Keys that hold an address, in GIS fields (OSM "addr:street"), CityJSON attributes or psets.
_ADDRESS_KEY = re.compile(r"addr|address|street|postal|地址|门牌", re.IGNORECASE)
# Classes listed first among equally good matches: what a planner usually looks for.
_CONTAINERS = (*BUILDING_CLASSES, SITE_CLASS, STOREY_CLASS, "road")
# Derived attributes (use, year and levels as cim.vocabulary reads them, like the tiler).
DERIVED = ("height", "use", "year", "levels")


@dataclass(frozen=True)
class Hit:
    """One object found by :func:`search`, and why."""

    id: str
    cls: str
    name: str
    building_id: str | None
    storey_id: str | None
    match: str  # "id" | "name" | "address"
    address: str | None
    rank: tuple[int, int, str]


def search(store: CityStore, text: str, limit: int = 20, *, scope: Scope) -> list[Hit]:
    """Objects in ``scope`` whose id, name or an address field contains ``text``
    (case-insensitive).

    Best first: exact id, then id or name starting with the text, then containing it, then
    address matches; among equals, buildings and sites before their elements.
    """
    text = text.strip()
    if not text:
        return []
    needle = text.casefold()
    hits = []
    for row in store.text_matches(text, scope=scope):
        hit = _match(needle, row.id, row.cls, row.name, row.building_id, row.storey_id,
                     row.attributes_json)  # fmt: skip
        if hit is not None:
            hits.append(hit)
    hits.sort(key=lambda h: h.rank)
    return hits[:limit]


def _match(
    needle: str, object_id: str, cls: str, name: str, building: str | None,
    storey: str | None, attributes: str | None,
) -> Hit | None:  # fmt: skip
    folded_id, folded_name = object_id.casefold(), name.casefold()
    address = None
    if folded_id == needle:
        quality, match = 0, "id"
    elif folded_name == needle:
        quality, match = 1, "name"
    elif folded_id.startswith(needle) or folded_name.startswith(needle):
        quality, match = 2, "id" if folded_id.startswith(needle) else "name"
    elif needle in folded_name:
        quality, match = 3, "name"
    elif needle in folded_id:
        quality, match = 4, "id"
    else:
        address = _address_matching(needle, json.loads(attributes or "{}"))
        if address is None:
            return None
        quality, match = 5, "address"
    priority = _CONTAINERS.index(cls) if cls in _CONTAINERS else len(_CONTAINERS)
    return Hit(object_id, cls, name, building, storey, match, address,
               (quality, priority, name or object_id))  # fmt: skip


def _address_matching(needle: str, attributes: Any) -> str | None:
    for key, value in _leaves(attributes):
        if _ADDRESS_KEY.search(key) and needle in str(value).casefold():
            return str(value)
    return None


def _leaves(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, key)
    elif node is not None:
        yield key, node


def values(
    store: CityStore,
    attribute: str,
    ids: Iterable[str] | None = None,
    cls: str | None = None,
    per_building: bool = False,
    owners: set[str] | None = None,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """``{object id: value}`` of one attribute, for the objects in ``scope`` that have it.

    ``attribute`` is a key of the object's attributes (GIS fields, IFC attributes), a
    ``"Pset.Property"`` pair, a property name looked up in every property and quantity set,
    or one of the derived values: ``height`` (top minus base, metres), ``use``, ``year`` and
    ``levels`` (:mod:`cim.vocabulary`, as the tiles carry them). Numbers stay numbers; other
    values become strings.
    With ``per_building``, an object inside a building gets its building's value when the
    building has one and lies in ``scope`` (a wall is coloured by the height of its
    building, not its own).
    ``owners``, when given, receives the ids whose value is their own (not a building's).
    """
    wanted = None if ids is None else set(ids)
    if wanted is not None and not wanted:
        return {}
    found: dict[str, Any] = {}
    members: dict[str, list[str]] = {}
    for row in store.records(wanted, cls, scope=scope):
        building = row.building_id
        if per_building and building is not None and building != row.id:
            members.setdefault(building, []).append(row.id)
            continue
        value = _value_of(attribute, row.base_height, row.top_height, row.attributes_json)
        if value is not None:
            found[row.id] = value
            if owners is not None:
                owners.add(row.id)
    if members:
        for row in store.records(members, scope=scope):
            value = _value_of(attribute, row.base_height, row.top_height, row.attributes_json)
            if value is not None:
                found.update(dict.fromkeys(members[row.id], value))
    return found


def _value_of(attribute: str, base: float | None, top: float | None, text: str | None) -> Any:
    if attribute == "height":
        if base is None or top is None:
            return None
        return round(float(top) - float(base), 2)
    attributes = json.loads(text or "{}")
    if attribute == "use":
        return use_of(attributes)
    if attribute == "year":
        return year_of(attributes)
    if attribute == "levels":
        return levels_of(attributes)
    return _clean(_first(attributes, (attribute,)), number=True)


def _first(attributes: dict[str, Any], keys: Iterable[str]) -> Any:
    sets = [attributes, *_sets(attributes)]
    for key in keys:
        if "." in key and key not in attributes:
            set_name, _, prop = key.partition(".")
            for group in ("psets", "qtos"):
                value = (attributes.get(group) or {}).get(set_name, {}).get(prop)
                if value is not None:
                    return value
        for properties in sets:
            value = properties.get(key)
            if value is not None and value != "" and not isinstance(value, dict | list):
                return value
    return None


def _sets(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for group in ("psets", "qtos"):
        for properties in (attributes.get(group) or {}).values():
            if isinstance(properties, dict):
                found.append(properties)
    return found


def _clean(value: Any, number: bool) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        return value if number else str(value)
    return str(value)
