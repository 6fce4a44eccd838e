"""Writing into a city store inside one transaction: objects, meshes, sources, versions, LODs."""

from __future__ import annotations

import json
import sqlite3
import struct
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from cim import gpkg, store_jurisdictions, store_rtree
from cim.errors import CimError, ObjectNotFoundError, OutsideScopeError
from cim.jurisdictions import Jurisdiction
from cim.model import CityObject, FloatArray, IndexArray, Material, MeshPart
from cim.scope import Scope, check_code

OffsetArray = npt.NDArray[np.int64]
_GEOMETRY_HEADER = struct.Struct("<2sBBi4d")
_CHUNK = 500
_BULK_CACHE_KIB = 256 * 1024  # SQLite page cache during bulk inserts: the indexes stay in memory
_ATTRIBUTES = json.JSONEncoder(ensure_ascii=False, default=str)
#: the GeoPackage R-tree of the objects layer (``gpkg_rtree_index``) and, with it, the
#: trigger ``<name>_insert`` that indexes each new row; bulk inserts fill it at once instead
_RTREE = f"rtree_{gpkg.OBJECTS_TABLE}_geom"


@dataclass(frozen=True)
class PackedMeshes:
    """One-part meshes of many objects in flat arrays, all of one material (bulk writes).

    Object ``i`` owns the vertices ``vertex_offsets[i]:vertex_offsets[i + 1]`` and the faces
    ``face_offsets[i]:face_offsets[i + 1]``, whose indices count from its first vertex.
    An object without vertices gets no mesh.
    """

    object_ids: Sequence[str]
    material: Material
    vertices: FloatArray
    faces: IndexArray
    vertex_offsets: OffsetArray
    face_offsets: OffsetArray

    def part(self, index: int) -> MeshPart | None:
        """The mesh part of object ``index``, or None when it has no vertices."""
        v0, v1 = self.vertex_offsets[index], self.vertex_offsets[index + 1]
        if v0 == v1:
            return None
        f0, f1 = self.face_offsets[index], self.face_offsets[index + 1]
        return MeshPart(self.material, self.vertices[v0:v1], self.faces[f0:f1])


class CityWriter:
    """Writes into an open transaction of a :class:`cim.store.CityStore`."""

    def __init__(self, conn: sqlite3.Connection, srs_id: int, scope: Scope | None = None) -> None:
        self._conn = conn
        self._srs_id = srs_id
        #: where this writer may write: objects it adds must land inside, objects it
        #: removes or replaces must lie inside (None: anywhere)
        self.scope = scope
        #: the envelope of the footprints added, and whether any was removed (then the
        #: layer's extent is recomputed from every row instead of merged)
        self.added_envelope: tuple[float, float, float, float] | None = None
        self.removed_any = False
        #: objects of a row id above this one were written in this transaction
        self._last_fid_before = store_jurisdictions.last_object_fid(conn)
        self._objects_added = False
        #: the jurisdictions of the objects written (set by :meth:`finish`), or of every
        #: object after :meth:`replace_jurisdictions`
        self.assignment: store_jurisdictions.Assignment | None = None

    def finish(self) -> None:
        """Complete the transaction's writes before it commits: the objects written get the
        code of the smallest stored jurisdiction containing them (every import passes here)."""
        if self._objects_added:
            self.assignment = store_jurisdictions.assign(self._conn, self._last_fid_before)
            if self.scope is not None and not self.scope.unlimited:
                self._refuse_outside(self.assignment)

    def _refuse_outside(self, assignment: store_jurisdictions.Assignment) -> None:
        """Refuse the transaction when objects it wrote landed outside the writer's scope."""
        scope = self.scope
        assert scope is not None
        outside = {code: n for code, n in assignment.counts.items() if not scope.contains(code)}
        places = [f"{n} in {code}" for code, n in sorted(outside.items())]
        if assignment.unassigned:
            places.append(f"{assignment.unassigned} outside every jurisdiction")
        if places:
            raise OutsideScopeError(
                f"the import lands outside your jurisdiction ({scope.prefix.ljust(12, '0')}):"
                f" {', '.join(places)} objects; nothing was stored"
            )

    def _refuse_replacing_outside(self, source: str) -> None:
        """Refuse removing or replacing ``source`` when some of its objects lie outside the
        writer's scope."""
        if self.scope is None or self.scope.unlimited:
            return
        inside, values = self.scope.sql("jurisdiction")
        (outside,) = self._conn.execute(
            f"SELECT COUNT(*) FROM {gpkg.OBJECTS_TABLE} WHERE source = ? AND NOT ({inside}"
            " AND jurisdiction IS NOT NULL)",
            (source, *values),
        ).fetchone()
        if outside:
            raise OutsideScopeError(
                f"{source} has {outside} objects outside your jurisdiction: only a user of"
                " a jurisdiction holding them all may replace or remove it"
            )

    def replace_jurisdictions(
        self, nodes: Sequence[Jurisdiction], origin: Mapping[str, Any] | None = None
    ) -> store_jurisdictions.Assignment:
        """Store ``nodes`` (checked by :func:`cim.jurisdictions.check`) instead of the current
        set and re-assign every object; return the objects per code. ``origin`` says where
        the set came from (file, layer, SHA-256...), kept with it."""
        store_jurisdictions.replace(self._conn, self._srs_id, nodes, origin)
        self.assignment = store_jurisdictions.assign(self._conn)
        self._objects_added = False  # every object has just been assigned
        return self.assignment

    def remove_source(self, source: str) -> int:
        """Remove every object, mesh, LOD and record of ``source``; return the objects removed."""
        self._refuse_replacing_outside(source)
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
        self._refuse_replacing_outside(source)
        row = self._conn.execute(
            f"SELECT version FROM {gpkg.SOURCES_TABLE} WHERE source = ?", (source,)
        ).fetchone()
        if row is None:
            raise CimError(f"no source {source!r} to replace")
        version = int(row[0])
        objects = ", ".join((*gpkg.OBJECT_COLUMNS, "jurisdiction"))  # history keeps the code
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
        self._objects_added = True
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

    def add_objects(self, objects: Sequence[CityObject]) -> int:
        """Insert many objects at once (one statement, footprints encoded together, the
        R-tree filled in one more); return how many.

        Ids must be new to the city and distinct; on a clash nothing of the batch stays
        once the transaction rolls back.
        """
        if not objects:
            return 0
        self._objects_added = True
        blobs, bounds = _geometry_blobs([obj.footprint for obj in objects], self._srs_id)
        rows = (
            (blob, obj.id, obj.cls, obj.name, obj.parent_id, obj.building_id, obj.storey_id,
             obj.source, obj.base_height, obj.top_height, obj.digest,
             _ATTRIBUTES.encode(obj.attributes))
            for blob, obj in zip(blobs, objects, strict=True)
        )  # fmt: skip
        trigger = self._conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (f"{_RTREE}_insert",),
        ).fetchone()
        if trigger is not None:  # the R-tree is filled once below, not row by row
            self._conn.execute(f'DROP TRIGGER "{_RTREE}_insert"')
        last = int(
            self._conn.execute(
                f"SELECT COALESCE(MAX(fid), 0) FROM {gpkg.OBJECTS_TABLE}"
            ).fetchone()[0]
        )
        try:
            with _large_cache(self._conn):
                self._conn.executemany(
                    f"INSERT INTO {gpkg.OBJECTS_TABLE} (geom, {', '.join(gpkg.OBJECT_COLUMNS)})"
                    f" VALUES (?, {', '.join('?' * len(gpkg.OBJECT_COLUMNS))})",
                    rows,
                )
        except sqlite3.IntegrityError as exc:
            raise CimError(self._clash([obj.id for obj in objects])) from exc
        finally:
            if trigger is not None:
                self._conn.execute(trigger[0])
        if trigger is not None:
            self._fill_rtree(last, blobs, bounds)
        finite = bounds[np.isfinite(bounds).all(axis=1)]
        if len(finite):
            x0, y0 = (float(v) for v in finite[:, :2].min(axis=0))
            x1, y1 = (float(v) for v in finite[:, 2:].max(axis=0))
            old = self.added_envelope
            self.added_envelope = (x0, y0, x1, y1) if old is None else (
                min(old[0], x0), min(old[1], y0), max(old[2], x1), max(old[3], y1))  # fmt: skip
        return len(objects)

    def _fill_rtree(self, last: int, blobs: list[bytes | None], bounds: FloatArray) -> None:
        """Index the rows inserted after fid ``last`` in the GeoPackage R-tree, in one go."""
        rows = self._conn.execute(
            f"SELECT fid FROM {gpkg.OBJECTS_TABLE} WHERE fid > ? ORDER BY fid", (last,)
        )
        fids = [fid for (fid,) in rows]
        if len(fids) != len(blobs):
            raise CimError(f"the R-tree fill expected {len(blobs)} new rows, found {len(fids)}")
        self._conn.executemany(
            f'INSERT OR REPLACE INTO "{_RTREE}" VALUES (?, ?, ?, ?, ?)',
            ((fid, x0, x1, y0, y1)
             for fid, blob, (x0, y0, x1, y1) in zip(fids, blobs, bounds.tolist(), strict=True)
             if blob is not None),
        )  # fmt: skip

    def _clash(self, ids: list[str]) -> str:
        """Which id of a failed batch insert was taken, and by whom."""
        repeated = [key for key, count in Counter(ids).items() if count > 1]
        if repeated:
            return f"object {repeated[0]} appears {ids.count(repeated[0])} times in one import"
        rows = gpkg.select_in(
            self._conn,
            f"SELECT object_id, class, source FROM {gpkg.OBJECTS_TABLE}"
            " WHERE object_id IN ({ids})",
            ids,
        )
        for object_id, cls, source in rows:
            return f"object {object_id} ({cls}) already exists, from source {source}"
        return "an object of the import clashes with the store's constraints"

    def add_packed_meshes(self, packed: PackedMeshes) -> int:
        """Store one mesh row per object of ``packed`` that has vertices; return the rows."""
        counts = np.diff(packed.vertex_offsets)
        has_mesh = np.flatnonzero(counts > 0)
        if len(has_mesh) == 0:
            return 0
        starts = packed.vertex_offsets[has_mesh]
        vertices = np.ascontiguousarray(packed.vertices, dtype="<f8")
        low = np.minimum.reduceat(vertices, starts, axis=0)
        high = np.maximum.reduceat(vertices, starts, axis=0)
        vertex_bytes = memoryview(vertices.tobytes())
        face_bytes = memoryview(np.ascontiguousarray(packed.faces, dtype="<u4").tobytes())
        material = json.dumps(packed.material.to_dict())
        v_off, f_off = packed.vertex_offsets * 24, packed.face_offsets * 12
        triangles = np.diff(packed.face_offsets).tolist()
        v_off, f_off = v_off.tolist(), f_off.tolist()
        rows = (
            (packed.object_ids[i], 0, material, vertex_count, triangles[i], *lows, *highs,
             vertex_bytes[v_off[i] : v_off[i + 1]], face_bytes[f_off[i] : f_off[i + 1]])
            for i, vertex_count, lows, highs in zip(
                has_mesh.tolist(), counts[has_mesh].tolist(), low.tolist(), high.tolist(),
                strict=True,
            )
        )  # fmt: skip
        with _large_cache(self._conn):
            self._conn.executemany(
                f"INSERT INTO {gpkg.MESHES_TABLE} ({', '.join(gpkg.MESH_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(gpkg.MESH_COLUMNS))})",
                rows,
            )
        return len(has_mesh)

    def set_heights_many(self, heights: Iterable[tuple[str, float, float]]) -> None:
        """Set ``(object_id, base, top)`` of many existing objects."""
        self._conn.executemany(
            f"UPDATE {gpkg.OBJECTS_TABLE} SET base_height = ?, top_height = ? WHERE object_id = ?",
            ((base, top, object_id) for object_id, base, top in heights),
        )

    def shift_meshes(self, shifts: Mapping[str, float]) -> None:
        """Move every mesh part of the given objects up by their shift (metres)."""
        ids = list(shifts)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self._conn.execute(
                f"SELECT fid, object_id, vertices FROM {gpkg.MESHES_TABLE}"
                f" WHERE object_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            updates = []
            for fid, object_id, blob in rows:
                vertices = np.frombuffer(blob, dtype="<f8").reshape(-1, 3).copy()
                vertices[:, 2] += shifts[object_id]
                low, high = vertices[:, 2].min(), vertices[:, 2].max()
                updates.append((vertices.tobytes(), float(low), float(high), fid))
            self._conn.executemany(
                f"UPDATE {gpkg.MESHES_TABLE} SET vertices = ?, min_z = ?, max_z = ? WHERE fid = ?",
                updates,
            )

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

    def add_meshes(self, meshes: Iterable[tuple[str, Sequence[MeshPart]]]) -> None:
        """Store the mesh parts of many objects in one statement (as :meth:`add_mesh` each)."""
        rows = (
            (object_id, index, *_mesh_values(part))
            for object_id, parts in meshes
            for index, part in enumerate(parts)
        )
        self._conn.executemany(
            f"INSERT INTO {gpkg.MESHES_TABLE} ({', '.join(gpkg.MESH_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(gpkg.MESH_COLUMNS))})",
            rows,
        )

    def object_source(self, object_id: str) -> str | None:
        """The source of the object ``object_id``, or None when the city has no such object."""
        row = self._conn.execute(
            f"SELECT source FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ?", (object_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def object_sources(self, object_ids: Sequence[str]) -> dict[str, str]:
        """The source of each object of ``object_ids`` the city has (others are left out)."""
        rows = gpkg.select_in(
            self._conn,
            f"SELECT object_id, source FROM {gpkg.OBJECTS_TABLE} WHERE object_id IN ({{ids}})",
            object_ids,
        )
        return {str(object_id): str(source) for object_id, source in rows}

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

    def set_jurisdictions(self, codes: Mapping[str, str | None]) -> int:
        """Set the jurisdiction of objects: ``{object id: 12-digit code, or None for outside
        every jurisdiction}``; return how many objects were set.

        Raises :class:`~cim.errors.JurisdictionCodeError` for a malformed code and
        :class:`~cim.errors.ObjectNotFoundError` for an id the city does not hold (the
        transaction then rolls back: nothing is set).
        """
        pairs = [(None if code is None else check_code(code), object_id)
                 for object_id, code in codes.items()]  # fmt: skip
        updated = 0
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            cursor = self._conn.executemany(
                f"UPDATE {gpkg.OBJECTS_TABLE} SET jurisdiction = ? WHERE object_id = ?", chunk
            )
            if cursor.rowcount != len(chunk):
                missing = next(object_id for _, object_id in chunk if not self._conn.execute(
                    f"SELECT 1 FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ?", (object_id,)
                ).fetchone())  # fmt: skip
                raise ObjectNotFoundError(f"no object with id {missing!r} to give a jurisdiction")
            updated += cursor.rowcount
        return updated

    def update_source_report(self, source: str, version: int, report: dict[str, Any]) -> None:
        """Replace the report of version ``version`` of the current source ``source``."""
        changed = self._conn.execute(
            f"UPDATE {gpkg.SOURCES_TABLE} SET report = ? WHERE source = ? AND version = ?",
            (json.dumps(report, default=str), source, version),
        ).rowcount
        if changed != 1:
            raise CimError(f"no source {source!r} in version {version} to update")


def _mesh_values(part: MeshPart) -> tuple[Any, ...]:
    return (
        json.dumps(part.material.to_dict()), len(part.vertices), len(part.faces), *part.bounds,
        part.vertices.astype("<f8").tobytes(), part.faces.astype("<u4").tobytes(),
    )  # fmt: skip


@contextmanager
def _large_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """Raise the connection's page cache for one bulk statement, then restore it."""
    (before,) = conn.execute("PRAGMA cache_size").fetchone()
    conn.execute(f"PRAGMA cache_size = {-_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(before)}")


def _geometry_blobs(
    footprints: Sequence[Any], srs_id: int
) -> tuple[list[bytes | None], FloatArray]:
    """GeoPackage blobs of many footprints (as :func:`cim.gpkg.encode_geometry`) and bounds."""
    geometries = np.empty(len(footprints), dtype=object)
    geometries[:] = list(footprints)
    other = np.flatnonzero(~np.isin(shapely.get_type_id(geometries), (-1, 6)))
    geometries[other] = [gpkg.as_multipolygon(g) for g in geometries[other]]
    geometries[shapely.is_empty(geometries)] = None
    bounds = shapely.bounds(geometries)
    wkbs = shapely.to_wkb(geometries, byte_order=1, output_dimension=2)
    pack = _GEOMETRY_HEADER.pack
    blobs: list[bytes | None] = [
        None if wkb is None else pack(b"GP", 0, 3, srs_id, x0, x1, y0, y1) + wkb
        for wkb, (x0, y0, x1, y1) in zip(wkbs.tolist(), bounds.tolist(), strict=True)
    ]
    return blobs, bounds
