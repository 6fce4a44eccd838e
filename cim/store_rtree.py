"""The R-tree spatial index of the objects layer: GeoPackage's ``gpkg_rtree_index`` extension.

The index is the SQLite R-tree ``rtree_city_objects_geom`` (id, minx, maxx, miny, maxy),
kept up to date by the seven triggers of the GeoPackage 1.4 extension, written as GDAL
writes them, so GDAL and QGIS see and use it. The triggers call ``ST_IsEmpty``,
``ST_MinX``, ``ST_MaxX``, ``ST_MinY`` and ``ST_MaxY``; SpatiaLite cannot be loaded here,
so :func:`register_functions` gives every connection of the store Python versions that
read the envelope from the geometry blob's header. A bulk load suspends the insert trigger
and indexes the new rows in one statement (:func:`bulk_load`).
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import shapely

from cim.gpkg import OBJECTS_TABLE

GEOMETRY_COLUMN = "geom"
ID_COLUMN = "fid"
RTREE_TABLE = f"rtree_{OBJECTS_TABLE}_{GEOMETRY_COLUMN}"
EXTENSION_NAME = "gpkg_rtree_index"
EXTENSION_DEFINITION = "http://www.geopackage.org/spec120/#extension_rtree"

_T, _C, _I, _R = f'"{OBJECTS_TABLE}"', f'"{GEOMETRY_COLUMN}"', f'"{ID_COLUMN}"', f'"{RTREE_TABLE}"'
_NEW_BOX = f"NEW.{_I},ST_MinX(NEW.{_C}), ST_MaxX(NEW.{_C}),ST_MinY(NEW.{_C}), ST_MaxY(NEW.{_C})"
_NEW_FULL = f"NEW.{_C} NOTNULL AND NOT ST_IsEmpty(NEW.{_C})"
_NEW_EMPTY = f"NEW.{_C} ISNULL OR ST_IsEmpty(NEW.{_C})"

#: trigger name suffix -> its SQL (GeoPackage 1.4, Annex F.3, as GDAL writes it)
TRIGGERS: dict[str, str] = {
    "insert": f'CREATE TRIGGER "{RTREE_TABLE}_insert" AFTER INSERT ON {_T}'
    f" WHEN (new.{_C} NOT NULL AND NOT ST_IsEmpty(NEW.{_C}))"
    f" BEGIN INSERT OR REPLACE INTO {_R} VALUES ({_NEW_BOX}); END",
    "update2": f'CREATE TRIGGER "{RTREE_TABLE}_update2" AFTER UPDATE OF {_C} ON {_T}'
    f" WHEN OLD.{_I} = NEW.{_I} AND ({_NEW_EMPTY})"
    f" BEGIN DELETE FROM {_R} WHERE id = OLD.{_I}; END",
    "update4": f'CREATE TRIGGER "{RTREE_TABLE}_update4" AFTER UPDATE ON {_T}'
    f" WHEN OLD.{_I} != NEW.{_I} AND ({_NEW_EMPTY})"
    f" BEGIN DELETE FROM {_R} WHERE id IN (OLD.{_I}, NEW.{_I}); END",
    "update5": f'CREATE TRIGGER "{RTREE_TABLE}_update5" AFTER UPDATE ON {_T}'
    f" WHEN OLD.{_I} != NEW.{_I} AND ({_NEW_FULL})"
    f" BEGIN DELETE FROM {_R} WHERE id = OLD.{_I};"
    f" INSERT OR REPLACE INTO {_R} VALUES ({_NEW_BOX}); END",
    "update6": f'CREATE TRIGGER "{RTREE_TABLE}_update6" AFTER UPDATE OF {_C} ON {_T}'
    f" WHEN OLD.{_I} = NEW.{_I} AND ({_NEW_FULL})"
    f" AND (OLD.{_C} NOTNULL AND NOT ST_IsEmpty(OLD.{_C}))"
    f" BEGIN UPDATE {_R} SET minx = ST_MinX(NEW.{_C}), maxx = ST_MaxX(NEW.{_C}),"
    f" miny = ST_MinY(NEW.{_C}), maxy = ST_MaxY(NEW.{_C}) WHERE id = NEW.{_I}; END",
    "update7": f'CREATE TRIGGER "{RTREE_TABLE}_update7" AFTER UPDATE OF {_C} ON {_T}'
    f" WHEN OLD.{_I} = NEW.{_I} AND ({_NEW_FULL})"
    f" AND (OLD.{_C} ISNULL OR ST_IsEmpty(OLD.{_C}))"
    f" BEGIN INSERT INTO {_R} VALUES ({_NEW_BOX}); END",
    "delete": f'CREATE TRIGGER "{RTREE_TABLE}_delete" AFTER DELETE ON {_T}'
    f" WHEN old.{_C} NOT NULL BEGIN DELETE FROM {_R} WHERE id = OLD.{_I}; END",
}

_EXTENSIONS_DDL = """CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"""
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def register_functions(conn: sqlite3.Connection) -> None:
    """Give ``conn`` the ``ST_*`` functions the R-tree triggers call."""
    conn.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
    for index, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        conn.create_function(name, 1, _bound_function(index), deterministic=True)


def create_index(conn: sqlite3.Connection) -> None:
    """Create the R-tree, its triggers and its ``gpkg_extensions`` row, and fill it.

    Run inside a write transaction; an index already there is left as it is.
    """
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (RTREE_TABLE,)
    ).fetchone()
    if exists:
        return
    conn.execute(f"CREATE VIRTUAL TABLE {_R} USING rtree(id, minx, maxx, miny, maxy)")
    fill(conn)
    for sql in TRIGGERS.values():
        conn.execute(sql)
    conn.execute(_EXTENSIONS_DDL)
    conn.execute(
        "INSERT OR REPLACE INTO gpkg_extensions VALUES (?, ?, ?, ?, 'write-only')",
        (OBJECTS_TABLE, GEOMETRY_COLUMN, EXTENSION_NAME, EXTENSION_DEFINITION),
    )


def fill(conn: sqlite3.Connection, after_fid: int = 0) -> int:
    """Index the objects whose row id is above ``after_fid``, in one statement."""
    cursor = conn.execute(
        f"INSERT OR REPLACE INTO {_R} SELECT {_I}, ST_MinX({_C}), ST_MaxX({_C}),"
        f" ST_MinY({_C}), ST_MaxY({_C}) FROM {_T}"
        f" WHERE {_I} > ? AND {_C} NOT NULL AND NOT ST_IsEmpty({_C})",
        (after_fid,),
    )
    return int(cursor.rowcount)


def add_boxes(
    conn: sqlite3.Connection, boxes: Iterable[tuple[int, float, float, float, float]]
) -> None:
    """Index objects whose envelopes the caller knows: ``(fid, min x, max x, min y, max y)``."""
    conn.executemany(f"INSERT OR REPLACE INTO {_R} VALUES (?, ?, ?, ?, ?)", boxes)


@contextmanager
def bulk_load(conn: sqlite3.Connection, fill_after: bool = True) -> Iterator[int]:
    """Inside the block, inserted objects skip the per-row insert trigger; when it ends they
    are indexed in one statement (unless ``fill_after`` is false: the caller then indexed
    them with :func:`add_boxes`) and the trigger is back. Yields the largest row id
    before the block.

    Needs an open write transaction: if the block fails, rolling the transaction back also
    restores the trigger.
    """
    if not conn.in_transaction:
        raise RuntimeError("bulk_load needs an open write transaction")
    (last,) = conn.execute(f"SELECT COALESCE(MAX({_I}), 0) FROM {_T}").fetchone()
    conn.execute(f'DROP TRIGGER IF EXISTS "{RTREE_TABLE}_insert"')
    yield int(last)
    if fill_after:
        fill(conn, int(last))
    conn.execute(TRIGGERS["insert"])


def _header(blob: object) -> tuple[int, str] | None:
    """Flags and struct byte order of a GeoPackage geometry blob; None if it is not one."""
    if not isinstance(blob, bytes) or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    return flags, "<" if flags & 1 else ">"


Envelope = tuple[float, float, float, float]
#: the last blob read and its envelope, replaced as one tuple (threads share it)
_last: list[tuple[object, Envelope | None]] = [(None, None)]


def _envelope(blob: object) -> Envelope | None:
    """``(min x, max x, min y, max y)`` of a blob, None when empty or not a geometry.

    The triggers ask five functions of the same blob in a row: the last answer is kept.
    """
    last_blob, last_box = _last[0]
    if blob == last_blob:
        return last_box
    box = _read_envelope(blob)
    _last[0] = (blob, box)
    return box


def _read_envelope(blob: object) -> Envelope | None:
    header = _header(blob)
    if header is None:
        return None
    assert isinstance(blob, bytes)
    flags, order = header
    if flags & 0b1_0000:
        return None
    doubles = _ENVELOPE_DOUBLES.get((flags >> 1) & 0b111)
    if doubles is None:
        return None
    if doubles:
        box: tuple[float, float, float, float] = struct.unpack_from(f"{order}4d", blob, 8)
        return None if any(math.isnan(v) for v in box) else box
    try:
        geometry = shapely.from_wkb(blob[8:])
    except shapely.errors.GEOSException:
        return None
    if geometry.is_empty:
        return None
    min_x, min_y, max_x, max_y = geometry.bounds
    return min_x, max_x, min_y, max_y


def _st_is_empty(blob: object) -> int | None:
    if blob is None:
        return None
    return 1 if _envelope(blob) is None else 0


def _bound_function(index: int) -> Callable[[object], float | None]:
    def bound(blob: object) -> float | None:
        box = _envelope(blob)
        return None if box is None else box[index]

    return bound
