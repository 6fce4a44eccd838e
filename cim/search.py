"""Queries the viewer needs: find objects by id, name (Chinese or pinyin) or address; one
value per object.

Both read light rows (:class:`~cim.store_rows.ObjectRecord`) through the store's
:meth:`~cim.store.CityStore.text_matches` and :meth:`~cim.store.CityStore.records` rather
than building every :class:`~cim.model.CityObject`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin

from cim.errors import QueryError
from cim.result_store import ResultStore
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import ObjectRecord
from cim.vocabulary import (
    BUILDING_CLASSES,
    SITE_CLASS,
    STOREY_CLASS,
    class_names,
    levels_of,
    use_of,
    year_of,
)

# Keys that hold an address, in GIS fields (OSM "addr:street"), CityJSON attributes or psets.
_ADDRESS_KEY = re.compile(r"addr|address|street|postal|地址|门牌", re.IGNORECASE)
# Chinese characters (CJK unified ideographs and extension A).
_HAN = re.compile(r"[\u3400-\u9fff]")
# A query that may be pinyin: ASCII letters, digits, spaces and syllable apostrophes.
_PINYIN_QUERY = re.compile(r"[a-z0-9' ]+")
_SPACES = re.compile(r"[\s']+")
# Where a query splits into parts: spaces, and between Chinese characters and digits.
_PARTS = re.compile(r"\s+|(?<=[\u3400-\u9fff])(?=[0-9])|(?<=[0-9])(?=[\u3400-\u9fff])")
# Marks what pypinyin leaves as it is (not Chinese) in its output.
_OTHER = "\x00"
# Where a class ranks among equally good matches: buildings, then the places a planner
# names (sites, storeys, streets, parcels and other GIS features), then rooms, then the
# parts of a building (walls, slabs...).
BUILDING_TIER, PLACE_TIER, SPACE_TIER, ELEMENT_TIER = range(4)
_PLACE_CLASSES = (SITE_CLASS, STOREY_CLASS, "IfcProject")
# The prefix of the attribute naming a simulation run's per-object values.
SIMULATION_KEY = "simulation:"
# Derived attributes (use, year and levels as cim.vocabulary reads them, like the tiler).
DERIVED = ("height", "use", "year", "levels")


@dataclass(frozen=True)
class Hit:
    """One object found by :func:`search`, why, and the names of its building and storey."""

    id: str
    cls: str
    name: str
    building_id: str | None
    storey_id: str | None
    match: str  # "id" | "name" | "pinyin" | "address"
    address: str | None
    rank: tuple[int, int, int, str]
    building_name: str | None = None
    storey_name: str | None = None


def search(store: CityStore, text: str, limit: int = 20, *, scope: Scope) -> list[Hit]:
    """Objects in ``scope`` whose id, name or an address field contains ``text``
    (case-insensitive), or whose Chinese name's pinyin (full, or initials) starts a
    syllable with it: ``tianhe`` and ``thl`` find 天河路.

    Best first: an exact id; then buildings, other places (sites, storeys, GIS features),
    spaces, and last the elements of buildings; within each, an exact name, then ids and
    names starting with the text, then containing it, then addresses. Each hit carries the
    names of its building and storey.
    """
    text = text.strip()
    if not text:
        return []
    needle = _fold(text)
    hits: dict[str, Hit] = {}
    for row in store.text_matches(_probe(text), scope=scope):
        hit = _match(needle, row.id, row.cls, row.name, row.building_id, row.storey_id,
                     row.attributes_json)  # fmt: skip
        if hit is not None:
            hits[hit.id] = hit
    syllables = _SPACES.sub("", needle)
    if _PINYIN_QUERY.fullmatch(needle) and sum(c.isalpha() for c in syllables) >= 2:
        for hit in _pinyin_hits(store, syllables, scope, set(hits)):
            hits[hit.id] = hit
    best = sorted(hits.values(), key=lambda h: h.rank)[:limit]
    return _with_containers(store, best, scope)


def _probe(text: str) -> str:
    """What the store is asked for: the longest part of ``text`` between spaces and between
    Chinese and digits, so that an address split over fields (street, house number) is
    found: ``珠江东路4号`` asks for ``珠江东路``."""
    return max(_PARTS.split(text), key=len) or text


def _fold(text: str) -> str:
    """``text`` for comparing: full-width letters and digits made plain, case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _tier(cls: str, building: str | None, object_id: str) -> int:
    if cls in BUILDING_CLASSES:
        return BUILDING_TIER
    if cls in _PLACE_CLASSES:
        return PLACE_TIER
    if cls == "IfcSpace":
        return SPACE_TIER
    known = class_names().get(cls)
    if known is not None:
        return PLACE_TIER if known.kind == "feature" else ELEMENT_TIER
    # a class of its own (a GIS layer's): a place unless it lies inside a building
    return ELEMENT_TIER if building is not None and building != object_id else PLACE_TIER


def _match(
    needle: str, object_id: str, cls: str, name: str, building: str | None,
    storey: str | None, attributes: str | None,
) -> Hit | None:  # fmt: skip
    folded_id, folded_name = _fold(object_id), _fold(name)
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
    exact_id = 0 if quality == 0 else 1
    return Hit(object_id, cls, name, building, storey, match, address,
               (exact_id, _tier(cls, building, object_id), quality, name or object_id))  # fmt: skip


def _address_matching(needle: str, attributes: Any) -> str | None:
    """The address field holding ``needle``, or the address parts joined when it spans
    them (``天河路 101号`` from ``addr:street`` and ``addr:housenumber``)."""
    parts = []
    for key, value in _leaves(attributes):
        if _ADDRESS_KEY.search(key):
            text = str(value)
            if needle in _fold(text):
                return text
            parts.append(text)
    joined = " ".join(parts)
    compact = _SPACES.sub("", needle)
    if len(parts) > 1 and compact and compact in _SPACES.sub("", _fold(joined)):
        return joined
    return None


def _pinyin_hits(store: CityStore, syllables: str, scope: Scope, found: set[str]) -> Iterator[Hit]:
    """The places (not the parts of buildings) whose Chinese name reads as ``syllables``."""
    names = class_names()
    for cls in store.counts_by_class(scope=scope):
        known = names.get(cls)
        if known is not None and known.kind == "element" and cls not in BUILDING_CLASSES:
            continue
        if cls.startswith("Ifc") and known is None:
            continue  # an IFC class the code list does not name: an element
        for row in store.records(None, cls, scope=scope):
            if row.id in found or not _HAN.search(row.name):
                continue
            quality = _pinyin_quality(syllables, row.name)
            if quality is not None:
                rank = (1, _tier(row.cls, row.building_id, row.id), quality, row.name)
                yield Hit(row.id, row.cls, row.name, row.building_id, row.storey_id,
                          "pinyin", None, rank)  # fmt: skip


def _pinyin_quality(syllables: str, name: str) -> int | None:
    """2 when ``syllables`` starts the name's pinyin (or its initials), 3 when it starts at
    a later syllable, None when it matches neither."""
    for reading, starts in pinyin_readings(name):
        for start in starts:
            if reading.startswith(syllables, start):
                return 2 if start == 0 else 3
    return None


@lru_cache(maxsize=65_536)
def pinyin_readings(name: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The pinyin of ``name`` without tones (ü as v) and its initials, each with the
    offsets where a syllable starts: 天河路 → ``tianhelu`` (0, 4, 6) and ``thl`` (0, 1, 2).
    Letters and digits that are not Chinese stay as they are, one syllable a run."""
    full, initials = "", ""
    full_starts: list[int] = []
    initial_starts: list[int] = []
    for chunk in lazy_pinyin(name, errors=lambda text: _OTHER + text):
        other = chunk.startswith(_OTHER)
        for piece in re.findall(r"[0-9a-z]+", _fold(chunk.removeprefix(_OTHER))):
            full_starts.append(len(full))
            initial_starts.append(len(initials))
            full += piece
            initials += piece if other else piece[0]
    return ((full, tuple(full_starts)), (initials, tuple(initial_starts)))


def _with_containers(store: CityStore, hits: list[Hit], scope: Scope) -> list[Hit]:
    """``hits`` with the names of their buildings and storeys (those in ``scope``)."""
    wanted = {i for h in hits for i in (h.building_id, h.storey_id) if i and i != h.id}
    if not wanted:
        return hits
    names = {row.id: row.name or row.id for row in store.records(wanted, scope=scope)}
    return [
        replace(
            hit,
            building_name=names.get(hit.building_id or "") if hit.building_id != hit.id else None,
            storey_name=names.get(hit.storey_id or "") if hit.storey_id != hit.id else None,
        )
        for hit in hits
    ]


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
    ``levels`` (:mod:`cim.vocabulary`, as the tiles carry them), or a simulation run's
    per-object values, ``simulation:<run id>:<values name>`` (:func:`run_values`). Numbers
    stay numbers; other values become strings.
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
    simulated = run_values(store, attribute, scope)

    def value_of(row: ObjectRecord) -> Any:
        if simulated is not None:
            return _clean(simulated.get(row.id), number=True)
        return _value_of(attribute, row.base_height, row.top_height, row.attributes_json)

    for row in store.records(wanted, cls, scope=scope):
        building = row.building_id
        if per_building and building is not None and building != row.id:
            members.setdefault(building, []).append(row.id)
            continue
        value = value_of(row)
        if value is not None:
            found[row.id] = value
            if owners is not None:
                owners.add(row.id)
    if members:
        for row in store.records(members, scope=scope):
            value = value_of(row)
            if value is not None:
                found.update(dict.fromkeys(members[row.id], value))
    return found


def _simulation_key(attribute: str) -> tuple[str, str] | None:
    """``(run id, values name)`` of a ``simulation:<run id>:<name>`` key, else None."""
    if not attribute.startswith(SIMULATION_KEY):
        return None
    run_id, _, name = attribute.removeprefix(SIMULATION_KEY).partition(":")
    if not run_id or not name:
        raise QueryError(f"{attribute!r}: a run's values are simulation:<run id>:<values name>")
    return run_id, name


def run_values(store: CityStore, attribute: str, scope: Scope) -> dict[str, Any] | None:
    """The per-object values a ``simulation:<run id>:<values name>`` key names (None for
    any other attribute).

    Raises
    ------
    RunNotFoundError
        When ``scope`` sees no such run, or the run has no values of that name.
    """
    key = _simulation_key(attribute)
    if key is None:
        return None
    return ResultStore(store.city_dir).values(*key, scope).values


def unit_of(store: CityStore, attribute: str, scope: Scope) -> str | None:
    """The unit a run gives the values of a ``simulation:`` key (None: another attribute,
    or values without a unit)."""
    key = _simulation_key(attribute)
    if key is None:
        return None
    run_id, name = key
    return ResultStore(store.city_dir).run(run_id, scope).layer("values", name).unit or None


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
