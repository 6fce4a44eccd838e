"""Feature properties as an EXT_structural_metadata property table, or a 3D Tiles 1.0 batch table.

The schema (one class, ``element``, every property of :data:`tiles.properties.PROPERTIES`)
is the same in every tile, and every tile's table defines every property of the class:
``id`` and ``class`` are required; the others declare a ``noData`` value (``"-"``, or a
number no real value takes) that the features lacking them hold (an empty string counts as
lacking). Strings are UTF-8 with the smallest string offset type their bytes allow; numbers
are FLOAT32 or INT32. A b3dm batch table likewise holds every property, with ``null`` where
a feature has no value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tiles.properties import NO_DATA, PROPERTIES, REQUIRED

METADATA_CLASS = "element"
SCHEMA_ID = "cimtwin"
_NUMPY_TYPES = {"FLOAT32": "<f4", "INT32": "<i4"}
_OFFSET_TYPES = (("UINT8", "<u1", 0xFF), ("UINT16", "<u2", 0xFFFF), ("UINT32", "<u4", 0xFFFFFFFF))

#: Adds one buffer view holding ``payload``; returns its index.
AddView = Callable[[bytes], int]


def schema() -> dict[str, Any]:
    """The metadata schema every tile shares."""
    properties: dict[str, Any] = {}
    for name, kind, description in PROPERTIES:
        entry: dict[str, Any] = {"type": "STRING", "description": description}
        if kind != "STRING":
            entry = {"type": "SCALAR", "componentType": kind, "description": description}
        if name in REQUIRED:
            entry["required"] = True
        else:
            entry["noData"] = NO_DATA[kind]
        properties[name] = entry
    return {"id": SCHEMA_ID, "classes": {METADATA_CLASS: {"properties": properties}}}


def property_table(rows: list[dict[str, Any]], add_view: AddView) -> dict[str, Any]:
    """The EXT_structural_metadata extension of a glb whose feature ``i`` is ``rows[i]``."""
    table: dict[str, Any] = {}
    for name, kind, _ in PROPERTIES:
        column = [_known(row.get(name), NO_DATA[kind]) for row in rows]
        if kind == "STRING":
            encoded = [str(value).encode("utf-8") for value in column]
            total = sum(map(len, encoded))
            offset_type, dtype = next((t, d) for t, d, most in _OFFSET_TYPES if total <= most)
            offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(dtype)
            table[name] = {
                "values": add_view(b"".join(encoded)),
                "stringOffsets": add_view(offsets.tobytes()),
                "stringOffsetType": offset_type,
            }
        else:
            values = np.array(column).astype(_NUMPY_TYPES[kind])
            table[name] = {"values": add_view(values.tobytes())}
    return {
        "schema": schema(),
        "propertyTables": [{"class": METADATA_CLASS, "count": len(rows), "properties": table}],
    }


def batch_table(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The JSON batch table of a b3dm whose batch ``i`` is ``rows[i]``: every property."""
    return {name: [_known(row.get(name), None) for row in rows] for name, _, _ in PROPERTIES}


def _known(value: Any, missing: Any) -> Any:
    return missing if value is None or value == "" else value
