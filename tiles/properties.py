"""The properties each tile feature carries: identity, place in the building, key attributes.

Every feature of every tile belongs to one metadata class, ``element``. Its properties are
the object's ``id``, ``class``, ``name``, the ``building`` and ``storey`` it belongs to,
``height`` and ``base`` (metres), and the key attributes a viewer styles or filters by:
``use`` and ``year`` (a building's, inherited by its elements), ``levels``, and for building
elements ``external``, ``load_bearing``, ``fire_rating`` and ``material``. They are read from
GIS fields, OSM tags, CityJSON attributes and IFC property sets as :mod:`cim.vocabulary` derives
them (the same values as `/api/objects/values`).

``id`` and ``class`` are required: every feature has them. Every other property may be
unknown; every tile's table still holds its column (the 3D Tiles validator, and some
readers, expect a property table to define every property of its class), with the
property's ``noData`` value for the features that lack it.
"""

from __future__ import annotations

from typing import Any, Literal

from cim.vocabulary import flatten, levels_of, use_of, year_of

PropertyType = Literal["STRING", "FLOAT32", "INT32"]

#: Name, type and description of every property, in table order.
PROPERTIES: tuple[tuple[str, PropertyType, str], ...] = (
    ("id", "STRING", "the object id (IFC GlobalId, or <layer>:<id> for GIS features)"),
    ("class", "STRING", "the object class (IFC entity or GIS layer class)"),
    ("name", "STRING", "the object's name"),
    ("building", "STRING", "the id of the building the object belongs to"),
    ("storey", "STRING", "the id of the storey the object belongs to"),
    ("height", "FLOAT32", "height of the object, top minus base, metres"),
    ("base", "FLOAT32", "height of the object's lowest point, metres"),
    ("use", "STRING", "the use of the building (residential, office...)"),
    ("year", "INT32", "year of construction of the building"),
    ("levels", "INT32", "number of storeys above ground"),
    ("external", "STRING", "true when the element is on the outside of the building"),
    ("load_bearing", "STRING", "true when the element carries loads"),
    ("fire_rating", "STRING", "the element's fire rating"),
    ("material", "STRING", "the element's main material"),
)
PROPERTY_TYPES: dict[str, PropertyType] = {name: kind for name, kind, _ in PROPERTIES}
#: The properties every feature has (no ``noData``).
REQUIRED = frozenset({"id", "class"})
#: The value meaning "unknown" of each type (the ``noData`` of its optional properties). Not
#: the empty string: a column no feature of a tile has a value for would hold no bytes, and a
#: glTF buffer view cannot be empty.
NO_DATA: dict[PropertyType, str | float | int] = {"STRING": "-", "FLOAT32": -9999.0, "INT32": 0}

_ELEMENT_KEYS = {"external": "IsExternal", "load_bearing": "LoadBearing",
                 "fire_rating": "FireRating"}  # fmt: skip


def feature_row(
    object_id: str,
    cls: str,
    name: str,
    building: str | None,
    storey: str | None,
    base: float | None,
    top: float | None,
    attributes: dict[str, Any],
    building_attributes: dict[str, Any] | None = None,
) -> dict[str, str | float | int]:
    """The property values of one feature; unknown values are left out of the mapping."""
    row: dict[str, str | float | int] = {"id": object_id, "class": cls}
    if name:
        row["name"] = name
    if building and building != object_id:
        row["building"] = building
    if storey and storey != object_id:
        row["storey"] = storey
    if base is not None and top is not None:
        row["height"], row["base"] = float(top - base), float(base)
    own = flatten(attributes)
    for key, finder in _FINDERS:
        value = finder(attributes)
        if value is None and building_attributes:
            value = finder(building_attributes)
        if value is not None:
            row[key] = value
    for key, pset_name in _ELEMENT_KEYS.items():
        if pset_name in own and own[pset_name] not in (None, ""):
            row[key] = _text(own[pset_name])
    materials = attributes.get("materials")
    if isinstance(materials, list) and materials:
        first = materials[0]
        row["material"] = str(first.get("name", "") if isinstance(first, dict) else first)
    return row


_FINDERS = (("use", use_of), ("year", year_of), ("levels", levels_of))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
