"""The jurisdictions layer of a city store, and the assignment of objects to its nodes.

``jurisdictions`` is a GeoPackage feature table (MULTIPOLYGON in the city CRS, registered in
``gpkg_contents`` and ``gpkg_geometry_columns`` so GDAL and QGIS list it): ``code`` (unique),
``name``, ``level``, ``parent_code``. It is made when a first set is stored, and a set is
always replaced whole, inside the caller's transaction. Every object's ``jurisdiction``
column holds the code of the smallest node containing a point of its footprint
(:func:`shapely.point_on_surface`), or its building's (else its parent's) code when it has
no footprint, or NULL outside every node.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from cim import gpkg
from cim.jurisdictions import Jurisdiction, smallest_containing
from cim.scope import Scope

TABLE = "jurisdictions"
#: the city settings key of the stored set's origin
ORIGIN_KEY = "jurisdictions"
_COLUMNS = "geom, code, name, level, parent_code"
_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom MULTIPOLYGON NOT NULL, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  level TEXT NOT NULL, parent_code TEXT)"""


@dataclass
class Assignment:
    """How many objects each jurisdiction holds after an assignment, and how many none."""

    counts: dict[str, int] = field(default_factory=dict)
    unassigned: int = 0

    @property
    def assigned(self) -> int:
        """Objects inside some jurisdiction."""
        return sum(self.counts.values())


def exists(conn: sqlite3.Connection) -> bool:
    """Whether the store has a jurisdictions table (made by the first import of a set)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchone()
    return row is not None


def replace(
    conn: sqlite3.Connection,
    srs_id: int,
    nodes: Sequence[Jurisdiction],
    origin: Mapping[str, Any] | None = None,
) -> None:
    """Store ``nodes`` instead of the current set (inside the caller's transaction), and
    where they came from (with the time) in the city settings."""
    record = {**(origin or {}), "nodes": len(nodes), "stored_at": gpkg.timestamp()}
    conn.execute(
        f"INSERT INTO {gpkg.META_TABLE} (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (ORIGIN_KEY, json.dumps(record, ensure_ascii=False, default=str)),
    )
    conn.execute(_DDL)
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change,"
        " srs_id) VALUES (?, 'features', 'Jurisdictions', ?, ?)",
        (TABLE, gpkg.timestamp(), srs_id),
    )
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)",
        (TABLE, srs_id),
    )
    conn.execute(f"DELETE FROM {TABLE}")
    blobs = gpkg.encode_geometries([node.boundary for node in nodes], srs_id)
    conn.executemany(
        f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        [
            (blob, node.code, node.name, node.level, node.parent_code)
            for blob, node in zip(blobs, nodes, strict=True)
        ],
    )
    extent = shapely.total_bounds([node.boundary for node in nodes]) if nodes else [None] * 4
    x0, y0, x1, y1 = (None if v is None else float(v) for v in extent)
    conn.execute(
        "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, last_change = ?"
        " WHERE table_name = ?",
        (x0, y0, x1, y1, gpkg.timestamp(), TABLE),
    )


def origin(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """Where the stored set came from, as :func:`replace` recorded it; None before any."""
    row = conn.execute(
        f"SELECT value FROM {gpkg.META_TABLE} WHERE key = ?", (ORIGIN_KEY,)
    ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def read(conn: sqlite3.Connection, scope: Scope) -> list[Jurisdiction]:
    """The stored nodes inside ``scope`` (its own node and subtree), parents first."""
    if not exists(conn):
        return []
    condition, values = scope.sql("code")
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {condition}", values)
    nodes = [_node(row) for row in rows]
    return sorted(nodes, key=lambda node: (node.depth, node.code))


def read_one(conn: sqlite3.Connection, code: str) -> Jurisdiction | None:
    """The node of ``code``, or None."""
    if not exists(conn):
        return None
    row = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE code = ?", (code,)).fetchone()
    return None if row is None else _node(row)


def assign(conn: sqlite3.Connection, after_fid: int | None = None) -> Assignment:
    """Give objects the code of the smallest jurisdiction containing them.

    ``after_fid``: only the objects of a higher row id (those an import just wrote);
    None: every object (after the set changed). Returns the counts over the same objects.
    """
    since = -1 if after_fid is None else after_fid
    nodes = read(conn, Scope.everything())
    if after_fid is None:
        conn.execute(f"UPDATE {gpkg.OBJECTS_TABLE} SET jurisdiction = NULL")
    if nodes:
        rows = conn.execute(
            f"SELECT fid, geom FROM {gpkg.OBJECTS_TABLE} WHERE fid > ? AND geom IS NOT NULL",
            (since,),
        ).fetchall()
        fids = [fid for fid, _ in rows]
        codes = smallest_containing(_points([blob for _, blob in rows]), nodes)
        by_code: dict[str, list[int]] = defaultdict(list)
        for code, fid in zip(codes.tolist(), fids, strict=True):
            if code is not None:
                by_code[code].append(fid)
        conn.executemany(  # one statement per code, not per object
            f"UPDATE {gpkg.OBJECTS_TABLE} SET jurisdiction = ?"
            " WHERE fid IN (SELECT value FROM json_each(?))",
            ((code, json.dumps(ids)) for code, ids in by_code.items()),
        )
        table = gpkg.OBJECTS_TABLE  # no footprint: the building's code, else the parent's
        conn.execute(
            f"UPDATE {table} SET jurisdiction = COALESCE("
            f"(SELECT b.jurisdiction FROM {table} b WHERE b.object_id = {table}.building_id),"
            f"(SELECT p.jurisdiction FROM {table} p WHERE p.object_id = {table}.parent_id))"
            " WHERE fid > ? AND geom IS NULL",
            (since,),
        )
    return counts(conn, after_fid)


def counts(conn: sqlite3.Connection, after_fid: int | None = None) -> Assignment:
    """Objects per jurisdiction code (of a row id above ``after_fid``, when given)."""
    rows = conn.execute(
        f"SELECT jurisdiction, COUNT(*) FROM {gpkg.OBJECTS_TABLE} WHERE fid > ?"
        " GROUP BY jurisdiction ORDER BY jurisdiction",
        (-1 if after_fid is None else after_fid,),
    )
    result = Assignment()
    for code, count in rows:
        if code is None:
            result.unassigned = int(count)
        else:
            result.counts[str(code)] = int(count)
    return result


def last_object_fid(conn: sqlite3.Connection) -> int:
    """The highest object row id so far (row ids only grow: AUTOINCREMENT)."""
    (last,) = conn.execute(f"SELECT COALESCE(MAX(fid), 0) FROM {gpkg.OBJECTS_TABLE}").fetchone()
    return int(last)


def _points(blobs: list[bytes]) -> np.ndarray:
    """A point inside each footprint blob (vectorized: one WKB parse, one GEOS call)."""
    wkbs = np.array([blob[8 + 8 * _ENVELOPE_DOUBLES[(blob[3] >> 1) & 0b111] :] for blob in blobs],
                    dtype=object)  # fmt: skip
    geometries = shapely.from_wkb(wkbs)
    try:
        return np.asarray(shapely.point_on_surface(geometries), dtype=object)
    except shapely.errors.GEOSException:  # a footprint GEOS cannot work in: use its centroid
        return np.asarray(shapely.centroid(geometries), dtype=object)


_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def _node(row: tuple[object, ...]) -> Jurisdiction:
    blob, code, name = row[:3]
    boundary = gpkg.decode_geometry(blob)  # type: ignore[arg-type]
    assert boundary is not None
    return Jurisdiction.of(str(code), str(name), boundary)
