"""Feature properties as an EXT_structural_metadata property table, or a 3D Tiles 1.0 batch table.

The schema (one class, ``element``, every property of :data:`tiles.properties.PROPERTIES`,
none required) is the same in every tile; each tile's table holds the columns its
features use. Strings are UTF-8 with UINT32 offsets; numbers are FLOAT32 or INT32 with a
``noData`` value for the features that lack them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tiles.properties import NO_DATA, PROPERTIES, PROPERTY_TYPES

METADATA_CLASS = "element"
SCHEMA_ID = "cimtwin"
_NUMPY_TYPES = {"FLOAT32": "<f4", "INT32": "<i4"}

#: Adds one buffer view holding ``payload``; returns its index.
AddView = Callable[[bytes], int]


def schema() -> dict[str, Any]:
    """The metadata schema every tile shares."""
    properties: dict[str, Any] = {}
    for name, kind, description in PROPERTIES:
        entry: dict[str, Any] = {"type": "STRING", "description": description}
        if kind != "STRING":
            entry = {"type": "SCALAR", "componentType": kind, "description": description,
                     "noData": NO_DATA[kind]}  # fmt: skip
        properties[name] = entry
    return {"id": SCHEMA_ID, "classes": {METADATA_CLASS: {"properties": properties}}}


def used_properties(rows: list[dict[str, Any]]) -> list[str]:
    """The properties at least one row has, in schema order."""
    present = set().union(*(row.keys() for row in rows)) if rows else set()
    return [name for name, _, _ in PROPERTIES if name in present]


def property_table(rows: list[dict[str, Any]], add_view: AddView) -> dict[str, Any]:
    """The EXT_structural_metadata extension of a glb whose feature ``i`` is ``rows[i]``."""
    table: dict[str, Any] = {}
    for name in used_properties(rows):
        kind = PROPERTY_TYPES[name]
        if kind == "STRING":
            encoded = [str(row.get(name, "")).encode("utf-8") for row in rows]
            offsets = np.cumsum([0] + [len(e) for e in encoded]).astype("<u4")
            table[name] = {
                "values": add_view(b"".join(encoded) or b"\0"),
                "stringOffsets": add_view(offsets.tobytes()),
                "stringOffsetType": "UINT32",
            }
        else:
            values = np.array([row.get(name, NO_DATA[kind]) for row in rows])
            table[name] = {"values": add_view(values.astype(_NUMPY_TYPES[kind]).tobytes())}
    return {
        "schema": schema(),
        "propertyTables": [{"class": METADATA_CLASS, "count": len(rows), "properties": table}],
    }


def batch_table(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The JSON batch table of a b3dm whose batch ``i`` is ``rows[i]``."""
    table: dict[str, list[Any]] = {}
    for name in used_properties(rows):
        kind = PROPERTY_TYPES[name]
        missing = "" if kind == "STRING" else NO_DATA[kind]
        table[name] = [row.get(name, missing) for row in rows]
    return table
