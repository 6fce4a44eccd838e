"""SELECT statements over the objects layer: filters, the R-tree join, property tests, paging.

Used by :class:`cim.store.CityStore`; kept apart so that the store module stays short.
"""

from __future__ import annotations

import json
from typing import Any

from cim import gpkg, store_rtree
from cim.errors import QueryError
from cim.scope import Scope
from cim.store_rows import Box

_PROPERTY_COLUMNS = ("class", "name", "parent_id", "building_id", "storey_id", "source",
                     "base_height", "top_height")  # fmt: skip


class Select:
    """A SELECT over the objects (alias ``o``) in a scope, through the R-tree when there is
    a box."""

    def __init__(self, box: Box | None, scope: Scope) -> None:
        self.box = box
        self.conditions: list[str] = []
        self.values: list[Any] = []
        if not scope.unlimited:
            inside, values = scope.sql("o.jurisdiction")
            self.where(inside, *values)
        if box is not None:
            # candidates from the R-tree (single precision, rounded outwards), then the
            # exact envelope from the blob header
            corners = [box.max_x, box.min_x, box.max_y, box.min_y]
            self.where("r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?", *corners)
            self.where(
                "ST_MinX(o.geom) <= ? AND ST_MaxX(o.geom) >= ?"
                " AND ST_MinY(o.geom) <= ? AND ST_MaxY(o.geom) >= ?",
                *corners,
            )

    def where(self, condition: str, *values: Any) -> None:
        """Add a condition and its parameters."""
        self.conditions.append(condition)
        self.values.extend(values)

    def where_property(self, key: str, text: str) -> None:
        """Add "property ``key`` reads ``text``" (see :meth:`cim.store.CityStore.feature_page`)."""
        if key in _PROPERTY_COLUMNS:
            self.where(f"CAST(o.{key} AS TEXT) = ?", text)
            return
        path = "$." + json.dumps(key)
        self.where(
            "CASE json_type(o.attributes, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
            " WHEN 'text' THEN json_extract(o.attributes, ?)"
            " WHEN 'integer' THEN CAST(json_extract(o.attributes, ?) AS TEXT)"
            " WHEN 'real' THEN CAST(json_extract(o.attributes, ?) AS TEXT) END = ?",
            path, path, path, path, text,
        )  # fmt: skip

    def sql(self, columns: str) -> tuple[str, list[Any]]:
        """The statement selecting ``columns``, and its parameters."""
        source = f"{gpkg.OBJECTS_TABLE} o"
        if self.box is not None:  # the R-tree drives the join
            source = f"{store_rtree.RTREE_TABLE} r CROSS JOIN {source} ON o.fid = r.id"
        where = f" WHERE {' AND '.join(self.conditions)}" if self.conditions else ""
        return f"SELECT {columns} FROM {source}{where}", list(self.values)


def sql_int(value: int) -> int:
    """A LIMIT or OFFSET SQLite accepts (a signed 64-bit integer)."""
    if not 0 <= value < 2**63:
        raise QueryError(f"{value}: expected a whole number between 0 and 2^63 - 1")
    return value
