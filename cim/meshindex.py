"""An on-disk index of the city's meshes for the tiler, so a city of millions tiles in bounded
memory; and bulk reads of rows by tile.

:meth:`MeshIndex.build` writes, in a temporary SQLite file beside the city and in SQL
alone (no Python loop over objects), one row per meshed object (row id, bounds, triangle
count) and one per *unit*: a BIM building with all its elements, or one standalone object
such as a GIS building. Each unit gets the Morton code of its centre in a quadtree over a
square: the units of any quadtree cell are then one range of an index, so planning a tile
and listing its objects are range queries, whatever the city's size. Triangles are read
later, one tile at a time, by :func:`object_rows`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cim import gpkg
from cim.store import CityStore
from cim.vocabulary import GIS_BUILDING_CLASSES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Square = tuple[float, float, float]  # min x, min y, side
#: Quadtree depth of the Morton codes: cells of side / 65 536.
CODE_LEVELS = 16
OWN_MESH_LIMIT = 1_000  # standalone objects above this many triangles are drawn as blocks
_IN_CHUNK = 900  # below SQLite's default limit of bound parameters
#: A GIS building a BIM building replaces (the substring test spares parsing most rows).
_REPLACED = (
    "instr(o.attributes, 'replaced_by') > 0"
    " AND json_extract(o.attributes, '$.replaced_by') IS NOT NULL"
)


@dataclass(frozen=True)
class RegionStats:
    """What the units of a cell hold."""

    units: int
    objects: int
    triangles: int


class MeshIndex:
    """The index file: tables ``objects`` and ``units`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    @classmethod
    def build(
        cls, store: CityStore, path: Path, excluded_classes: Iterable[str]
    ) -> tuple[MeshIndex, dict[str, int]]:
        """Write the index of ``store`` at ``path``; also return what was left out and why."""
        excluded = sorted(set(excluded_classes))
        conn = sqlite3.connect(f"file:{path}", uri=True)
        try:
            conn.execute("ATTACH DATABASE ? AS city", (f"file:{store.path}?mode=ro",))
            _create_tables(conn, excluded)
            left_out = _excluded_counts(conn, excluded)
            conn.commit()
            conn.execute("DETACH DATABASE city")
        finally:
            conn.close()
        return cls(path), left_out

    def close(self) -> None:
        """Close the index file."""
        self.conn.close()

    def unit_count(self) -> int:
        """How many units there are."""
        return int(self.conn.execute("SELECT COUNT(*) FROM units").fetchone()[0])

    def centre_extent(self) -> tuple[float, float, float, float] | None:
        """Min x, min y, max x, max y of the unit centres; None without units."""
        row = self.conn.execute("SELECT MIN(cx), MIN(cy), MAX(cx), MAX(cy) FROM units").fetchone()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    def lowest(self) -> float:
        """The lowest point of every mesh."""
        return float(self.conn.execute("SELECT MIN(z0) FROM units").fetchone()[0])

    def set_square(self, square: Square, writable: Path) -> None:
        """Give every unit the Morton code of its centre in ``square`` (and index it)."""
        x, y, side = square
        cells = 1 << CODE_LEVELS
        interleave = " | ".join(
            f"(((ix >> {i}) & 1) << {2 * i}) | (((iy >> {i}) & 1) << {2 * i + 1})"
            for i in range(CODE_LEVELS)
        )
        conn = sqlite3.connect(writable)
        try:
            conn.execute(
                f"UPDATE units SET code = (SELECT {interleave} FROM (SELECT"
                f" MIN(MAX(CAST((cx - ?) / ? * {cells} AS INTEGER), 0), {cells - 1}) AS ix,"
                f" MIN(MAX(CAST((cy - ?) / ? * {cells} AS INTEGER), 0), {cells - 1}) AS iy))",
                (x, side, y, side),
            )
            # covering: cell statistics and the biggest units never visit the table
            conn.execute("CREATE INDEX units_code ON units(code, objects, triangles, size, unit)")
            conn.commit()
        finally:
            conn.close()

    def stats(self, low: int, high: int, small_only: bool, limits: tuple[int, int]) -> RegionStats:
        """Units, objects and triangles of the cell ``[low, high)`` (only the small units)."""
        where, values = _cell(low, high, small_only, limits)
        row = self.conn.execute(
            f"SELECT COUNT(*), TOTAL(objects), TOTAL(triangles) FROM units WHERE {where}", values
        ).fetchone()
        return RegionStats(int(row[0]), int(row[1]), int(row[2]))

    def quarter_stats(
        self, low: int, high: int, small_only: bool, limits: tuple[int, int]
    ) -> list[RegionStats]:
        """The statistics of the four quarters of a cell (its quadtree children): four range
        scans of the index (a GROUP BY would sort)."""
        quarter = (high - low) // 4
        return [self.stats(low + digit * quarter, low + (digit + 1) * quarter, small_only, limits)
                for digit in range(4)]  # fmt: skip

    def big_units(self, low: int, high: int, limits: tuple[int, int]) -> list[int]:
        """Units of the cell too big for any leaf, by row order."""
        rows = self.conn.execute(
            "SELECT unit FROM units WHERE code >= ? AND code < ?"
            " AND (objects > ? OR triangles > ?) ORDER BY unit",
            (low, high, *limits),
        )
        return [unit for (unit,) in rows]

    def cell_objects(
        self, low: int, high: int, small_only: bool, limits: tuple[int, int]
    ) -> IntArray:
        """Row ids of the objects of a cell's units (only the small units)."""
        where, values = _cell(low, high, small_only, limits, alias="u.")
        rows = self.conn.execute(
            f"SELECT o.fid FROM units u JOIN objects o ON o.unit = u.unit WHERE {where}"
            " ORDER BY o.fid",
            values,
        )
        return np.array([fid for (fid,) in rows], dtype=np.int64)

    def biggest(
        self, low: int, high: int, smallest: float, limit: int, kind: str,
        small_only: bool, limits: tuple[int, int],
    ) -> list[tuple[int, float, int, str | None]]:  # fmt: skip
        """Up to ``limit`` units of the cell of at least ``smallest`` metres, biggest first:
        unit, size, triangles of its ``kind`` (LOD1/LOD2) version (-1: none), building id."""
        cost = "lod2" if kind == "LOD2" else "lod1"
        where, values = _cell(low, high, small_only, limits)
        rows = self.conn.execute(
            f"SELECT unit, size, {cost}, building FROM units WHERE {where}"
            " AND size >= ? ORDER BY size DESC, unit LIMIT ?",
            (*values, smallest, limit),
        )
        return [(int(u), float(s), int(c), b) for u, s, c, b in rows]

    def largest_below(
        self, low: int, high: int, size: float, small_only: bool, limits: tuple[int, int]
    ) -> float:
        """The size of the biggest unit of the cell smaller than ``size`` (0 without)."""
        where, values = _cell(low, high, small_only, limits)
        row = self.conn.execute(
            f"SELECT MAX(size) FROM units WHERE {where} AND size < ?", (*values, size)
        ).fetchone()
        return float(row[0] or 0.0)

    def unit_building(self, unit: int) -> str | None:
        """The building id of a BIM unit; None for a standalone object."""
        row = self.conn.execute("SELECT building FROM units WHERE unit = ?", (unit,)).fetchone()
        return None if row is None else row[0]

    def unit_cost(self, unit: int, kind: str) -> int:
        """Triangles of a unit's ``kind`` (LOD1/LOD2) version; -1 when it has none."""
        column = "lod2" if kind == "LOD2" else "lod1"
        row = self.conn.execute(f"SELECT {column} FROM units WHERE unit = ?", (unit,)).fetchone()
        return int(row[0])

    def unit_objects(self, unit: int) -> tuple[IntArray, FloatArray, IntArray]:
        """Row ids, bounds ``(n, 6)`` and triangle counts of one unit's objects."""
        rows = self.conn.execute(
            "SELECT fid, x0, y0, z0, x1, y1, z1, triangles FROM objects WHERE unit = ?"
            " ORDER BY fid",
            (unit,),
        ).fetchall()
        table = np.array(rows, dtype=np.float64).reshape(-1, 8)
        return table[:, 0].astype(np.int64), table[:, 1:7], table[:, 7].astype(np.int64)

    def unit_size(self, unit: int) -> float:
        """The diagonal of one unit's box."""
        return float(
            self.conn.execute("SELECT size FROM units WHERE unit = ?", (unit,)).fetchone()[0]
        )


def _cell(
    low: int, high: int, small_only: bool, limits: tuple[int, int], alias: str = ""
) -> tuple[str, list[Any]]:
    """The SQL condition of a cell's units (``alias`` prefixes the unit columns)."""
    where = f"{alias}code >= ? AND {alias}code < ?"
    values: list[Any] = [low, high]
    if small_only:
        where += f" AND {alias}objects <= ? AND {alias}triangles <= ?"
        values += list(limits)
    return where, values


def _create_tables(conn: sqlite3.Connection, excluded: list[str]) -> None:
    marks = ",".join("?" * len(excluded)) or "''"
    gis = ",".join("?" * len(GIS_BUILDING_CLASSES))
    conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
    conn.execute(
        "CREATE TABLE objects AS SELECT o.fid AS fid, o.building_id AS building,"
        " MIN(m.min_x) AS x0, MIN(m.min_y) AS y0, MIN(m.min_z) AS z0, MAX(m.max_x) AS x1,"
        " MAX(m.max_y) AS y1, MAX(m.max_z) AS z1, SUM(m.triangle_count) AS triangles,"
        " 0 AS unit"
        f" FROM city.{gpkg.MESHES_TABLE} m JOIN city.{gpkg.OBJECTS_TABLE} o"
        " ON o.object_id = m.object_id"
        f" WHERE o.class NOT IN ({marks}) AND NOT (o.class IN ({gis})"
        f" AND {_REPLACED})"
        " GROUP BY m.object_id",
        [*excluded, *GIS_BUILDING_CLASSES],
    )
    conn.execute("CREATE INDEX objects_building ON objects(building)")
    conn.execute(
        "UPDATE objects SET unit = CASE WHEN building IS NULL THEN fid ELSE"
        " (SELECT MIN(o2.fid) FROM objects o2 WHERE o2.building = objects.building) END"
    )
    conn.execute("CREATE INDEX objects_unit ON objects(unit)")
    conn.execute(
        "CREATE TABLE units AS SELECT unit, MAX(building) AS building, COUNT(*) AS objects,"
        " SUM(triangles) AS triangles, MIN(x0) AS x0, MIN(y0) AS y0, MIN(z0) AS z0,"
        " MAX(x1) AS x1, MAX(y1) AS y1, MAX(z1) AS z1, 0 AS code"
        " FROM objects GROUP BY unit"
    )
    conn.execute("ALTER TABLE units ADD COLUMN cx REAL")
    conn.execute("ALTER TABLE units ADD COLUMN cy REAL")
    conn.execute("ALTER TABLE units ADD COLUMN size REAL")
    conn.execute("ALTER TABLE units ADD COLUMN lod1 INTEGER")
    conn.execute("ALTER TABLE units ADD COLUMN lod2 INTEGER")
    lod = (
        "COALESCE((SELECT l.triangle_count FROM city.{table} l WHERE l.building_id ="
        " units.building AND l.lod = '{lod}'), {fallback})"
    )
    lod1 = lod.format(table=gpkg.LODS_TABLE, lod="LOD1", fallback=-1)
    lod2 = lod.format(table=gpkg.LODS_TABLE, lod="LOD2", fallback=lod1)
    conn.execute(
        "UPDATE units SET cx = (x0 + x1) / 2, cy = (y0 + y1) / 2,"
        " size = sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0) + (z1 - z0) * (z1 - z0)),"
        f" lod1 = CASE WHEN building IS NULL THEN MIN(triangles, {OWN_MESH_LIMIT}) ELSE {lod1} END,"
        f" lod2 = CASE WHEN building IS NULL THEN MIN(triangles, {OWN_MESH_LIMIT}) ELSE {lod2} END"
    )
    conn.execute("CREATE UNIQUE INDEX units_unit ON units(unit)")


def _excluded_counts(conn: sqlite3.Connection, excluded: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    marks = ",".join("?" * len(excluded)) or "''"
    rows = conn.execute(
        f"SELECT o.class, COUNT(DISTINCT o.fid) FROM city.{gpkg.OBJECTS_TABLE} o"
        f" JOIN city.{gpkg.MESHES_TABLE} m ON m.object_id = o.object_id"
        f" WHERE o.class IN ({marks}) GROUP BY o.class",
        excluded,
    )
    counts.update({cls: int(n) for cls, n in rows})
    gis = ",".join("?" * len(GIS_BUILDING_CLASSES))
    (hidden,) = conn.execute(
        f"SELECT COUNT(DISTINCT o.fid) FROM city.{gpkg.OBJECTS_TABLE} o"
        f" JOIN city.{gpkg.MESHES_TABLE} m ON m.object_id = o.object_id"
        f" WHERE o.class IN ({gis}) AND {_REPLACED}",
        GIS_BUILDING_CLASSES,
    ).fetchone()
    if hidden:
        counts["replaced by BIM"] = int(hidden)
    return counts


#: object row id, id, class, name, building, storey, base, top, attributes, material,
#: vertices, faces, footprint blob
ObjectRow = tuple[Any, ...]


def object_rows(store: CityStore, fids: Iterable[int]) -> Iterator[ObjectRow]:
    """The rows and mesh parts of the given objects, in row-id then part order."""
    ids = sorted(int(f) for f in fids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        yield from store.conn.execute(
            "SELECT o.fid, o.object_id, o.class, o.name, o.building_id, o.storey_id,"
            " o.base_height, o.top_height, o.attributes, m.material, m.vertices, m.faces, o.geom"
            f" FROM {gpkg.OBJECTS_TABLE} o JOIN {gpkg.MESHES_TABLE} m"
            f" ON m.object_id = o.object_id WHERE o.fid IN ({','.join('?' * len(chunk))})"
            " ORDER BY o.fid, m.part",
            chunk,
        )


def building_rows(store: CityStore, building_ids: Iterable[str]) -> dict[str, ObjectRow]:
    """The object rows of the given buildings (no mesh columns: those are None)."""
    ids = sorted(set(building_ids))
    result: dict[str, ObjectRow] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        rows = store.conn.execute(
            "SELECT fid, object_id, class, name, building_id, storey_id, base_height,"
            f" top_height, attributes, NULL, NULL, NULL, geom FROM {gpkg.OBJECTS_TABLE}"
            f" WHERE object_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        result.update({row[1]: row for row in rows})
    return result


def lod_meshes(store: CityStore, building_ids: Iterable[str], lod: str) -> dict[str, ObjectRow]:
    """``(material, vertices, faces)`` of one LOD of the given buildings."""
    ids = sorted(set(building_ids))
    result: dict[str, ObjectRow] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        rows = store.conn.execute(
            f"SELECT building_id, material, vertices, faces FROM {gpkg.LODS_TABLE}"
            f" WHERE lod = ? AND building_id IN ({','.join('?' * len(chunk))})",
            [lod, *chunk],
        )
        result.update({row[0]: tuple(row[1:]) for row in rows})
    return result


def attributes_of(row: ObjectRow) -> dict[str, Any]:
    """The decoded attributes of an object row."""
    value = json.loads(row[8] or "{}")
    return value if isinstance(value, dict) else {}
