"""Writing into a city store inside one transaction: objects, meshes, sources, versions, LODs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from cim import gpkg, store_rtree
from cim.errors import CimError
from cim.model import CityObject, MeshPart


class CityWriter:
    """Writes into an open transaction of a :class:`cim.store.CityStore`."""

    def __init__(self, conn: sqlite3.Connection, srs_id: int) -> None:
        self._conn = conn
        self._srs_id = srs_id
        #: the envelope of the footprints added, and whether any was removed (then the
        #: layer's extent is recomputed from every row instead of merged)
        self.added_envelope: tuple[float, float, float, float] | None = None
        self.removed_any = False

    def remove_source(self, source: str) -> int:
        """Remove every object, mesh, LOD and record of ``source``; return the objects removed."""
        self.removed_any = True
        self._conn.execute(
            f"DELETE FROM {gpkg.MESHES_TABLE} WHERE object_id IN"
            f" (SELECT object_id FROM {gpkg.OBJECTS_TABLE} WHERE source = ?)",
            (source,),
        )
        self._conn.execute(f"DELETE FROM {gpkg.LODS_TABLE} WHERE source = ?", (source,))
        removed = self._conn.execute(
            f"DELETE FROM {gpkg.OBJECTS_TABLE} WHERE source = ?", (source,)
        ).rowcount
        self._conn.execute(f"DELETE FROM {gpkg.SOURCES_TABLE} WHERE source = ?", (source,))
        return int(removed)

    def archive_source(self, source: str, replaced_by: str) -> int:
        """Move the current version of ``source`` into the history tables; return its version."""
        row = self._conn.execute(
            f"SELECT version FROM {gpkg.SOURCES_TABLE} WHERE source = ?", (source,)
        ).fetchone()
        if row is None:
            raise CimError(f"no source {source!r} to replace")
        version = int(row[0])
        objects = ", ".join(gpkg.OBJECT_COLUMNS)
        meshes = ", ".join(gpkg.MESH_COLUMNS)
        sources = ", ".join(gpkg.SOURCE_COLUMNS)
        self._conn.execute(
            f"INSERT INTO {gpkg.OBJECT_HISTORY_TABLE} (geom, {objects}, version)"
            f" SELECT geom, {objects}, ? FROM {gpkg.OBJECTS_TABLE} WHERE source = ?",
            (version, source),
        )
        self._conn.execute(
            f"INSERT INTO {gpkg.MESH_HISTORY_TABLE} ({meshes}, source, version)"
            f" SELECT {', '.join('m.' + c for c in gpkg.MESH_COLUMNS)}, o.source, ?"
            f" FROM {gpkg.MESHES_TABLE} m JOIN {gpkg.OBJECTS_TABLE} o"
            " ON o.object_id = m.object_id WHERE o.source = ?",
            (version, source),
        )
        self._conn.execute(
            f"INSERT INTO {gpkg.SOURCE_HISTORY_TABLE} ({sources}, replaced_by, archived_at)"
            f" SELECT {sources}, ?, ? FROM {gpkg.SOURCES_TABLE} WHERE source = ?",
            (replaced_by, gpkg.timestamp(), source),
        )
        self.remove_source(source)
        return version

    def add_object(self, obj: CityObject) -> None:
        """Insert one object; its id must be new to the city."""
        values = (
            obj.id, obj.cls, obj.name, obj.parent_id, obj.building_id, obj.storey_id, obj.source,
            obj.base_height, obj.top_height, obj.digest,
            json.dumps(obj.attributes, ensure_ascii=False, default=str),
        )  # fmt: skip
        try:
            self._conn.execute(
                f"INSERT INTO {gpkg.OBJECTS_TABLE} (geom, {', '.join(gpkg.OBJECT_COLUMNS)})"
                f" VALUES (?, {', '.join('?' * len(values))})",
                (gpkg.encode_geometry(obj.footprint, self._srs_id), *values),
            )
        except sqlite3.IntegrityError as exc:  # the id is taken: say by whom
            clash = self._conn.execute(
                f"SELECT source FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ?", (obj.id,)
            ).fetchone()
            owner = clash[0] if clash else "?"
            message = f"object {obj.id} ({obj.cls}) already exists, from source {owner}"
            raise CimError(message) from exc
        if obj.footprint is not None and not obj.footprint.is_empty:
            x0, y0, x1, y1 = obj.footprint.bounds
            old = self.added_envelope
            self.added_envelope = (x0, y0, x1, y1) if old is None else (
                min(old[0], x0), min(old[1], y0), max(old[2], x1), max(old[3], y1))  # fmt: skip

    @contextmanager
    def bulk_index(self) -> Iterator[None]:
        """Objects added inside the block skip the spatial index's per-row trigger; they are
        indexed in one statement when the block ends (for bulk loads of many objects)."""
        with store_rtree.bulk_load(self._conn):
            yield

    def add_objects(self, objects: Iterable[CityObject]) -> int:
        """Insert many objects (ids new to the city) in one statement and index their
        footprints in one more (envelopes known here, no trigger); return how many."""
        batch = list(objects)
        blobs = gpkg.encode_geometries([obj.footprint for obj in batch], self._srs_id)
        rows = [(blob, *_object_values(obj)) for blob, obj in zip(blobs, batch, strict=True)]
        envelopes = [gpkg.envelope(blob) for blob in blobs]
        for envelope in envelopes:
            self._grow_envelope(envelope)
        with store_rtree.bulk_load(self._conn, fill_after=False) as before:
            try:
                self._conn.executemany(
                    f"INSERT INTO {gpkg.OBJECTS_TABLE} (geom, {', '.join(gpkg.OBJECT_COLUMNS)})"
                    f" VALUES (?, {', '.join('?' * len(gpkg.OBJECT_COLUMNS))})",
                    rows,
                )
            except sqlite3.IntegrityError as exc:
                raise self._clash([row[1] for row in rows], before) from exc
            fids = self._conn.execute(
                f"SELECT fid FROM {gpkg.OBJECTS_TABLE} WHERE fid > ? ORDER BY fid", (before,)
            ).fetchall()  # row ids grow in insertion order
            store_rtree.add_boxes(
                self._conn,
                ((fid, e[0], e[2], e[1], e[3]) for (fid,), e in zip(fids, envelopes, strict=True)
                 if e is not None),
            )  # fmt: skip
        return len(rows)

    def _grow_envelope(self, box: tuple[float, float, float, float] | None) -> None:
        """Grow :attr:`added_envelope` by ``(min x, min y, max x, max y)``."""
        if box is not None:
            x0, y0, x1, y1 = box
            old = self.added_envelope
            self.added_envelope = (x0, y0, x1, y1) if old is None else (
                min(old[0], x0), min(old[1], y0), max(old[2], x1), max(old[3], y1))  # fmt: skip

    def _clash(self, ids: list[str], before: int) -> CimError:
        """The error for ids given twice or taken by rows older than row id ``before``."""
        seen: set[str] = set()
        for object_id in ids:
            if object_id in seen:
                return CimError(f"object {object_id} is given twice")
            seen.add(object_id)
        row = self._conn.execute(
            f"SELECT object_id, source FROM {gpkg.OBJECTS_TABLE} WHERE fid <= ?"
            " AND object_id IN (SELECT value FROM json_each(?)) ORDER BY fid LIMIT 1",
            (before, json.dumps(ids)),
        ).fetchone()
        if row is None:
            return CimError("an object id is already taken")
        return CimError(f"object {row[0]} already exists, from source {row[1]}")

    def set_attributes(self, object_id: str, attributes: dict[str, Any]) -> None:
        """Replace the attributes of an existing object."""
        changed = self._conn.execute(
            f"UPDATE {gpkg.OBJECTS_TABLE} SET attributes = ? WHERE object_id = ?",
            (json.dumps(attributes, ensure_ascii=False, default=str), object_id),
        ).rowcount
        if changed != 1:
            raise CimError(f"no object with id {object_id!r} to update")

    def add_mesh(self, object_id: str, parts: Iterable[MeshPart]) -> None:
        """Store the mesh parts of one object (one row per material)."""
        for index, part in enumerate(parts):
            self._conn.execute(
                f"INSERT INTO {gpkg.MESHES_TABLE} ({', '.join(gpkg.MESH_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(gpkg.MESH_COLUMNS))})",
                (object_id, index, *_mesh_values(part)),
            )

    def set_heights(self, object_id: str, base: float, top: float) -> None:
        """Set the base and top heights of an existing object."""
        changed = self._conn.execute(
            f"UPDATE {gpkg.OBJECTS_TABLE} SET base_height = ?, top_height = ? WHERE object_id = ?",
            (base, top, object_id),
        ).rowcount
        if changed != 1:
            raise CimError(f"no object with id {object_id!r} to update")

    def replace_mesh(self, object_id: str, parts: Iterable[MeshPart]) -> None:
        """Replace the mesh parts of one object."""
        self._conn.execute(f"DELETE FROM {gpkg.MESHES_TABLE} WHERE object_id = ?", (object_id,))
        self.add_mesh(object_id, parts)

    def add_lod(
        self, building_id: str, lod: str, source: str, height: float, part: MeshPart
    ) -> None:
        """Store a building's LOD1 block or LOD2-like shell."""
        self._conn.execute(
            f"INSERT INTO {gpkg.LODS_TABLE} (building_id, lod, source, height,"
            f" {', '.join(gpkg.MESH_COLUMNS[2:])}) VALUES (?, ?, ?, ?,"
            f" {', '.join('?' * (len(gpkg.MESH_COLUMNS) - 2))})",
            (building_id, lod, source, height, *_mesh_values(part)),
        )

    def record_source(
        self,
        source: str,
        path: str,
        sha256: str,
        kind: str,
        report: dict[str, Any],
        version: int = 1,
        replaces: str | None = None,
    ) -> None:
        """Record an imported source, its version and its report."""
        self._conn.execute(
            f"INSERT INTO {gpkg.SOURCES_TABLE} ({', '.join(gpkg.SOURCE_COLUMNS)})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, version, replaces, path, sha256, kind, gpkg.timestamp(),
             json.dumps(report, default=str)),
        )  # fmt: skip


def _mesh_values(part: MeshPart) -> tuple[Any, ...]:
    return (
        json.dumps(part.material.to_dict()), len(part.vertices), len(part.faces), *part.bounds,
        part.vertices.astype("<f8").tobytes(), part.faces.astype("<u4").tobytes(),
    )  # fmt: skip


def _object_values(obj: CityObject) -> tuple[Any, ...]:
    """The object's column values but its geometry, in :data:`cim.gpkg.OBJECT_COLUMNS` order."""
    return (
        obj.id, obj.cls, obj.name, obj.parent_id, obj.building_id, obj.storey_id, obj.source,
        obj.base_height, obj.top_height, obj.digest,
        json.dumps(obj.attributes, ensure_ascii=False, default=str),
    )  # fmt: skip
