"""What the tiler reads from the city store: object summaries for its index, then the rows,
meshes and LODs of one tile at a time, as typed rows.

:class:`TilerReads` is a part of :class:`cim.store.CityStore`; its SQL stays with the
store's. :meth:`TilerReads.copy_mesh_summaries` writes straight into the tiler's index
file (SQL alone, no Python loop over objects), so a city of millions indexes in bounded
memory. Every read takes a scope, as the store's others do; the tiler draws the whole city
and passes :meth:`cim.scope.Scope.everything`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from cim import gpkg
from cim.scope import Scope
from cim.store_rows import MeshBlob, ObjectRecord, TileRow

#: A GIS building a BIM building replaces (the substring test spares parsing most rows).
_REPLACED = (
    "instr(o.attributes, 'replaced_by') > 0"
    " AND json_extract(o.attributes, '$.replaced_by') IS NOT NULL"
)
_RECORD = (
    "o.fid, o.object_id, o.class, COALESCE(o.name, ''), o.building_id, o.storey_id,"
    " o.base_height, o.top_height, COALESCE(o.attributes, '{}')"
)


class TilerReads:
    """The tiler's reads; mixed into :class:`cim.store.CityStore`."""

    _conn: sqlite3.Connection

    @property
    def path(self) -> Path:
        """The store's file (defined by the store)."""
        raise NotImplementedError

    def copy_mesh_summaries(
        self,
        index: Path,
        excluded_classes: Iterable[str],
        replaceable_classes: Iterable[str],
        *,
        scope: Scope,
    ) -> dict[str, int]:
        """Write into the SQLite file ``index`` the tables ``objects`` (one row per meshed
        object: ``fid``, ``building``, bounds ``x0 y0 z0 x1 y1 z1``, ``triangles``, ``unit``
        set to 0) and ``lod_triangles`` (``building``, ``lod``, ``triangles``).

        Objects outside ``scope``, objects of the excluded classes, and objects of the
        replaceable classes (GIS buildings) that a BIM building replaces, are left out;
        return how many of the last two were, by class (and ``"replaced by BIM"``).
        """
        inside, within = scope.sql("o.jurisdiction")
        excluded = sorted(set(excluded_classes))
        replaceable = sorted(set(replaceable_classes))
        marks = ",".join("?" * len(excluded)) or "''"
        gis = ",".join("?" * len(replaceable)) or "''"
        conn = sqlite3.connect(index)
        try:
            conn.execute("ATTACH DATABASE ? AS city", (f"file:{self.path}?mode=ro",))
            conn.executescript("PRAGMA main.journal_mode = OFF; PRAGMA main.synchronous = OFF;")
            conn.execute(
                "CREATE TABLE main.objects AS SELECT o.fid AS fid, o.building_id AS building,"
                " MIN(m.min_x) AS x0, MIN(m.min_y) AS y0, MIN(m.min_z) AS z0,"
                " MAX(m.max_x) AS x1, MAX(m.max_y) AS y1, MAX(m.max_z) AS z1,"
                " SUM(m.triangle_count) AS triangles, 0 AS unit"
                f" FROM city.{gpkg.MESHES_TABLE} m JOIN city.{gpkg.OBJECTS_TABLE} o"
                " ON o.object_id = m.object_id"
                f" WHERE o.class NOT IN ({marks}) AND NOT (o.class IN ({gis}) AND {_REPLACED})"
                f" AND {inside} GROUP BY m.object_id",
                [*excluded, *replaceable, *within],
            )
            conn.execute(
                "CREATE TABLE main.lod_triangles AS SELECT building_id AS building, lod,"
                f" triangle_count AS triangles FROM city.{gpkg.LODS_TABLE}"
            )
            counts = {
                cls: int(n)
                for cls, n in conn.execute(
                    f"SELECT o.class, COUNT(DISTINCT o.fid) FROM city.{gpkg.OBJECTS_TABLE} o"
                    f" JOIN city.{gpkg.MESHES_TABLE} m ON m.object_id = o.object_id"
                    f" WHERE o.class IN ({marks}) AND {inside} GROUP BY o.class",
                    [*excluded, *within],
                )
            }
            (hidden,) = conn.execute(
                f"SELECT COUNT(DISTINCT o.fid) FROM city.{gpkg.OBJECTS_TABLE} o"
                f" JOIN city.{gpkg.MESHES_TABLE} m ON m.object_id = o.object_id"
                f" WHERE o.class IN ({gis}) AND {_REPLACED} AND {inside}",
                [*replaceable, *within],
            ).fetchone()
            if hidden:
                counts["replaced by BIM"] = int(hidden)
            conn.commit()
            conn.execute("DETACH DATABASE city")
        finally:
            conn.close()
        return counts

    def tile_rows(self, fids: Iterable[int], *, scope: Scope) -> Iterator[TileRow]:
        """The rows and mesh parts of the objects in ``scope`` with the given row ids, in row
        id then part order."""
        ids = sorted(int(f) for f in fids)
        inside, within = scope.sql("o.jurisdiction")
        rows = gpkg.select_in(
            self._conn,
            f"SELECT {_RECORD}, m.material, m.vertices, m.faces, o.geom"
            f" FROM {gpkg.OBJECTS_TABLE} o JOIN {gpkg.MESHES_TABLE} m"
            f" ON m.object_id = o.object_id WHERE {inside} AND o.fid IN ({{ids}})"
            " ORDER BY o.fid, m.part",
            ids,
            leading=within,
        )
        record: ObjectRecord | None = None
        for row in rows:
            if record is None or record.fid != row[0]:
                record = ObjectRecord(*row[:9])
            yield TileRow(record, MeshBlob(*row[9:12]), row[12])

    def building_records(
        self, building_ids: Iterable[str], *, scope: Scope
    ) -> dict[str, ObjectRecord]:
        """The rows of the given buildings in ``scope``, by id."""
        inside, within = scope.sql("o.jurisdiction")
        rows = gpkg.select_in(
            self._conn,
            f"SELECT {_RECORD} FROM {gpkg.OBJECTS_TABLE} o"
            f" WHERE {inside} AND o.object_id IN ({{ids}})",
            sorted(set(building_ids)),
            leading=within,
        )
        return {row[1]: ObjectRecord(*row) for row in rows}

    def lod_blobs(
        self, building_ids: Iterable[str], lod: str, *, scope: Scope
    ) -> dict[str, MeshBlob]:
        """The ``LOD1`` or ``LOD2`` mesh of the given buildings in ``scope`` that have one,
        by id."""
        inside, within = scope.sql("o.jurisdiction")
        scoped = "" if scope.unlimited else (
            f" AND building_id IN (SELECT o.object_id FROM {gpkg.OBJECTS_TABLE} o"
            f" WHERE {inside})"
        )  # fmt: skip
        rows = gpkg.select_in(
            self._conn,
            f"SELECT building_id, material, vertices, faces FROM {gpkg.LODS_TABLE}"
            f" WHERE lod = ?{scoped} AND building_id IN ({{ids}})",
            sorted(set(building_ids)),
            leading=[lod, *(within if scoped else ())],
        )
        return {building: MeshBlob(*blobs) for building, *blobs in rows}
