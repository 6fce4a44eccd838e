"""An on-disk index of the city's meshes for the tiler, so a city of millions tiles in bounded
memory; and bulk reads of rows by tile.

:meth:`MeshIndex.build` writes, in a temporary SQLite file beside the city and in SQL
alone (no Python loop over objects), one row per meshed object (row id, bounds, triangle
count) and one per *unit*: a BIM building with all its elements, or one standalone object
such as a GIS building. Each unit gets the Morton code of its centre in a quadtree over a
square: the units of any quadtree cell are then one range of an index, so planning a tile
and listing its objects are range queries, whatever the city's size. Triangles are read
later, one tile at a time, by :meth:`cim.store.CityStore.tile_rows`. The store writes the
per-object rows (:meth:`cim.store.CityStore.copy_mesh_summaries`); this module's SQL
touches only the index file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import GIS_BUILDING_CLASSES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Square = tuple[float, float, float]  # min x, min y, side
#: Quadtree depth of the Morton codes: cells of side / 65 536.
CODE_LEVELS = 16
OWN_MESH_LIMIT = 1_000  # standalone objects above this many triangles are drawn as blocks


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
        left_out = store.copy_mesh_summaries(
            path, excluded_classes, GIS_BUILDING_CLASSES, scope=Scope.everything()
        )
        conn = sqlite3.connect(path)
        try:
            _create_units(conn)
            conn.commit()
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

    def unit_triangles(self, unit: int) -> int:
        """Triangles of a unit's full meshes (all its objects)."""
        row = self.conn.execute("SELECT triangles FROM units WHERE unit = ?", (unit,)).fetchone()
        return 0 if row is None else int(row[0])

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


def _create_units(conn: sqlite3.Connection) -> None:
    """From the store's ``objects`` and ``lod_triangles`` tables, make the units."""
    conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
    conn.execute("CREATE INDEX objects_building ON objects(building)")
    conn.execute("CREATE UNIQUE INDEX lod_triangles_building ON lod_triangles(building, lod)")
    # each building's first object, found in one pass (a lookup per object scanned the
    # building's objects every time: quadratic in the size of a building)
    conn.execute(
        "UPDATE objects SET unit = CASE WHEN objects.building IS NULL THEN objects.fid"
        " ELSE first.fid END FROM (SELECT building, MIN(fid) AS fid FROM objects"
        " GROUP BY building) AS first WHERE first.building IS objects.building"
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
        "COALESCE((SELECT l.triangles FROM lod_triangles l WHERE l.building ="
        " units.building AND l.lod = '{lod}'), {fallback})"
    )
    lod1 = lod.format(lod="LOD1", fallback=-1)
    lod2 = lod.format(lod="LOD2", fallback=lod1)
    conn.execute(
        "UPDATE units SET cx = (x0 + x1) / 2, cy = (y0 + y1) / 2,"
        " size = sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0) + (z1 - z0) * (z1 - z0)),"
        f" lod1 = CASE WHEN building IS NULL THEN MIN(triangles, {OWN_MESH_LIMIT}) ELSE {lod1} END,"
        f" lod2 = CASE WHEN building IS NULL THEN MIN(triangles, {OWN_MESH_LIMIT}) ELSE {lod2} END"
    )
    conn.execute("CREATE UNIQUE INDEX units_unit ON units(unit)")
