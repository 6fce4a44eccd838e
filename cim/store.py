"""The embedded city store: one GeoPackage per city folder, objects and meshes together.

A city is a folder. ``DIR/city.gpkg`` holds the objects layer (footprints in the city CRS,
readable by QGIS and GDAL), the meshes of each object as float64 blobs, the imported
sources with their reports, and the city settings. Every write goes through
:meth:`CityStore.transaction`, so a failed import leaves the file as it was.

Every read takes the caller's :class:`~cim.scope.Scope` as a required keyword and answers
about the objects inside it only (a prefix range on the indexed ``jurisdiction`` column);
an object outside it is not found, exactly as a missing one. Importers and the tiler,
which work on the whole city, pass :meth:`~cim.scope.Scope.everything`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cim import gpkg, store_jurisdictions, store_rtree, store_sqlite
from cim.crs import crs_text, parse_crs, require_projected
from cim.errors import CimError, CityExistsError, CityNotFoundError, ObjectNotFoundError
from cim.jurisdictions import Jurisdiction, JurisdictionNotFoundError
from cim.layout import CityLayout
from cim.model import CityObject, Material, MeshPart
from cim.scope import Scope, check_code
from cim.store_query import Select, sql_int
from cim.store_rows import Box, ObjectRecord, Page
from cim.store_tiles import TilerReads
from cim.writer import CityWriter

STORE_FILE = CityLayout.STORE
Bounds3D = tuple[float, float, float, float, float, float]
BoxTuple = tuple[float, float, float, float]
_OBJECT_COLUMNS = ", ".join(("geom", *gpkg.OBJECT_COLUMNS))
_OBJECT_COLUMNS_O = ", ".join(f"o.{column}" for column in ("geom", *gpkg.OBJECT_COLUMNS))
_RECORD_COLUMNS = (
    "fid, object_id, class, name, building_id, storey_id, base_height, top_height, attributes"
)


@dataclass(frozen=True)
class MeshEntry:
    """An object with a mesh, as the tiler sees it before loading the triangles."""

    object_id: str
    cls: str
    name: str
    bounds: Bounds3D
    triangles: int


class CityStore(TilerReads):
    """A city model stored in ``DIR/city.gpkg``."""

    def __init__(self, city_dir: Path, conn: sqlite3.Connection) -> None:
        self.city_dir = city_dir
        self._conn = conn
        self._writer: CityWriter | None = None  # the open transaction's, whose extent counts
        #: where this connection's transactions may write (None: anywhere); see limit_writes
        self.write_scope: Scope | None = None
        meta = store_sqlite.read_meta(conn, city_dir / STORE_FILE)
        if meta.get("format_version") in store_sqlite.UPGRADABLE_FORMATS:
            store_sqlite.upgrade(conn, city_dir / STORE_FILE, meta["format_version"])
            meta["format_version"] = gpkg.FORMAT_VERSION
        if meta.get("format_version") != gpkg.FORMAT_VERSION:
            raise CimError(
                f"{city_dir} holds a city store of format {meta.get('format_version')!r};"
                f" this CIMTwin reads format {gpkg.FORMAT_VERSION}: re-create the city"
            )
        self.crs: str = meta["crs"]
        self.name: str = meta.get("name", city_dir.name)
        self.srs_id: int = gpkg.srs_id_of(parse_crs(self.crs))

    @property
    def path(self) -> Path:
        """The GeoPackage file."""
        return CityLayout(self.city_dir).store

    @classmethod
    def create(cls, city_dir: Path, crs: str, name: str | None = None) -> CityStore:
        """Create a city in ``city_dir`` (made if missing) with the projected CRS ``crs``."""
        parsed = require_projected(parse_crs(crs), crs)
        target = CityLayout(city_dir).store
        if target.exists():
            raise CityExistsError(f"{city_dir} already holds a city ({STORE_FILE})")
        city_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".gpkg.partial")
        partial.unlink(missing_ok=True)
        conn = store_sqlite.connect(partial)
        try:
            store_sqlite.use_wal(conn)
            gpkg.create_schema(conn, parsed, crs)  # a script: commits as it goes
            conn.execute("BEGIN IMMEDIATE")
            store_rtree.create_index(conn)
            meta = {"crs": crs_text(parsed), "name": name or city_dir.resolve().name}
            meta["format_version"] = gpkg.FORMAT_VERSION
            conn.executemany(
                f"INSERT INTO {gpkg.META_TABLE} (key, value) VALUES (?, ?)", meta.items()
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        partial.replace(target)
        return cls.open(city_dir)

    @classmethod
    def open(cls, city_dir: Path) -> CityStore:
        """Open the city in ``city_dir``; a store of format 2 gets its spatial index here.

        Raises :class:`~cim.errors.NotAStoreError` for a file that is not a city store and
        :class:`~cim.errors.StoreBusyError` when it stays locked past the busy timeout.
        """
        if not city_dir.is_dir():
            raise CityNotFoundError(f"city folder {city_dir} does not exist (run `cimtwin init`)")
        path = CityLayout(city_dir).store
        if not path.is_file():
            raise CityNotFoundError(f"{city_dir} holds no city: {STORE_FILE} is missing")
        conn = store_sqlite.connect(path)
        try:
            return cls(city_dir, conn)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the underlying connection."""
        self._conn.close()

    def __enter__(self) -> CityStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def limit_writes(self, scope: Scope) -> None:
        """Let this store's transactions write only inside ``scope``: objects added must land
        in it and sources replaced or removed must lie in it, else the transaction is refused
        (:class:`~cim.errors.OutsideScopeError`) and rolled back."""
        self.write_scope = scope

    def writer(self) -> CityWriter:
        """A writer on this store's connection, for use inside :meth:`transaction`."""
        if not self._conn.in_transaction or self._writer is None:
            raise CimError("writes need an open transaction: use `with store.transaction()`")
        return self._writer

    @contextmanager
    def transaction(self) -> Iterator[CityWriter]:
        """Yield a writer; commit when the block ends, roll everything back on error.

        Readers on other connections go on meanwhile (WAL). A second writer waits up to
        :data:`cim.store_sqlite.BUSY_TIMEOUT`, then gets :class:`~cim.errors.StoreBusyError`.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            writer = self._writer = CityWriter(self._conn, self.srs_id, self.write_scope)
            yield writer
            writer.finish()
            if writer.removed_any:
                gpkg.update_extent(self._conn)
            else:
                gpkg.merge_extent(self._conn, writer.added_envelope)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        finally:
            self._writer = None
        self._conn.execute("COMMIT")
        # copy what the WAL holds into the file now (as far as readers allow), so that
        # tools copying city.gpkg alone see the commit; copy_to is the safe way to copy
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def copy_to(self, city_dir: Path) -> CityStore:
        """Copy the store (a consistent snapshot, even while others write) into
        ``city_dir`` (made if missing, must hold no store) and open the copy."""
        target = city_dir / STORE_FILE
        if target.exists():
            raise CityExistsError(f"{city_dir} already holds a city ({STORE_FILE})")
        city_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".gpkg.partial")
        partial.unlink(missing_ok=True)
        copy = store_sqlite.connect(partial)
        try:
            with store_sqlite.translated(self.path):
                self._conn.backup(copy)
        finally:
            copy.close()
        partial.replace(target)
        return CityStore.open(city_dir)

    def jurisdictions(self, *, scope: Scope) -> list[Jurisdiction]:
        """The stored jurisdictions inside ``scope`` (its node and subtree), parents first."""
        return store_jurisdictions.read(self._conn, scope)

    def jurisdiction(self, code: str, *, scope: Scope) -> Jurisdiction:
        """The jurisdiction of ``code``; not found when missing or outside ``scope``."""
        node = store_jurisdictions.read_one(self._conn, check_code(code))
        if node is None or not scope.contains(code):
            raise JurisdictionNotFoundError(f"no jurisdiction {code}")
        return node

    def jurisdiction_origin(self) -> dict[str, Any] | None:
        """Where the stored jurisdictions came from (file, layer, SHA-256, nodes, time)."""
        return store_jurisdictions.origin(self._conn)

    def jurisdiction_counts(self, *, scope: Scope) -> store_jurisdictions.Assignment:
        """Objects per jurisdiction code inside ``scope`` (outside all: with everything only)."""
        assignment = store_jurisdictions.counts(self._conn)
        return store_jurisdictions.Assignment(
            {code: n for code, n in assignment.counts.items() if scope.contains(code)},
            assignment.unassigned if scope.unlimited else 0,
        )

    def get_object(self, object_id: str, *, scope: Scope) -> CityObject:
        """Return the object with ``object_id``.

        Raises :class:`~cim.errors.ObjectNotFoundError` alike for a missing object and for
        one outside ``scope``, so that ids outside it do not leak.
        """
        inside, values = scope.sql("jurisdiction")
        row = self._conn.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ? AND {inside}",
            (object_id, *values),
        ).fetchone()
        if row is None:
            raise ObjectNotFoundError(f"no object with id {object_id!r}")
        return _object_from_row(row)

    def objects(
        self,
        cls: str | None = None,
        parent_id: str | None = None,
        building_id: str | None = None,
        storey_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        scope: Scope,
    ) -> list[CityObject]:
        """Return the objects in ``scope`` filtered by class, parent, building and storey, in
        import order."""
        where, values = _filters(scope, cls, parent_id, building_id, storey_id)
        page, paging = "", []
        if limit is not None:  # checked: an offset past 2^63 is a QueryError, not a crash
            page, paging = " LIMIT ? OFFSET ?", [sql_int(limit), sql_int(offset)]
        rows = self._conn.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM {gpkg.OBJECTS_TABLE}{where} ORDER BY fid{page}",
            [*values, *paging],
        )
        return [_object_from_row(row) for row in rows]

    def objects_in_box(
        self, cls: str | None, box: Box | BoxTuple | None, *, scope: Scope
    ) -> list[CityObject]:
        """Objects in ``scope`` (of one class, if given) whose footprint envelope meets ``box``
        (city CRS), found through the R-tree; every object of the class without a box."""
        select = Select(None if box is None else _as_box(box), scope)
        if cls is not None:
            select.where("o.class = ?", cls)
        sql, values = select.sql(_OBJECT_COLUMNS_O)
        rows = self._conn.execute(f"{sql} ORDER BY o.fid", values)
        return [_object_from_row(row) for row in rows]

    def feature_page(
        self,
        cls: str,
        box: Box | None = None,
        properties: Mapping[str, str] | None = None,
        limit: int = 10,
        offset: int = 0,
        *,
        scope: Scope,
    ) -> Page[CityObject]:
        """A page of the objects in ``scope`` of a class meeting ``box`` (R-tree) whose
        properties equal the given texts, in row order, with the number matched: paged in SQL.

        A property is a core column (``name``, ``parent_id``, ``building_id``,
        ``storey_id``, ``source``, ``base_height``, ``top_height``) or a scalar top-level
        attribute, compared as text (booleans as ``true``/``false``).
        """
        select = Select(box, scope)
        select.where("o.class = ?", cls)
        for key, text in (properties or {}).items():
            select.where_property(key, text)
        count_sql, values = select.sql("COUNT(*)")
        (matched,) = self._conn.execute(count_sql, values).fetchone()
        sql, values = select.sql(_OBJECT_COLUMNS_O)
        rows = self._conn.execute(
            f"{sql} ORDER BY o.fid LIMIT ? OFFSET ?", [*values, sql_int(limit), sql_int(offset)]
        )
        return Page([_object_from_row(row) for row in rows], int(matched), offset, limit)

    def class_extents(self, *, scope: Scope) -> dict[str, Box]:
        """The footprint extent, in ``scope``, of each class that has footprints there, from
        the R-tree (its single-precision boxes are rounded outwards: centimetres to
        decimetres)."""
        inside, values = scope.sql("o.jurisdiction")
        rows = self._conn.execute(
            f"SELECT o.class, MIN(r.minx), MIN(r.miny), MAX(r.maxx), MAX(r.maxy)"
            f" FROM {store_rtree.RTREE_TABLE} r JOIN {gpkg.OBJECTS_TABLE} o ON o.fid = r.id"
            f" WHERE {inside} GROUP BY o.class",
            values,
        )
        return {cls: Box(*bounds) for cls, *bounds in rows}

    def records(
        self, ids: Iterable[str] | None = None, cls: str | None = None, *, scope: Scope
    ) -> Iterator[ObjectRecord]:
        """The rows (footprints left out) of the given objects, or of a class, or of all,
        in ``scope``."""
        inside, within = scope.sql("jurisdiction")
        where: list[str] = [inside]
        values: list[Any] = list(within)
        if ids is not None:
            where.append("object_id IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(sorted(set(ids))))
        if cls is not None:
            where.append("class = ?")
            values.append(cls)
        rows = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM {gpkg.OBJECTS_TABLE}"
            f" WHERE {' AND '.join(where)} ORDER BY fid",
            values,
        )
        return (ObjectRecord(*row) for row in _records(rows))

    def text_matches(self, text: str, *, scope: Scope) -> Iterator[ObjectRecord]:
        """The rows in ``scope`` whose id, name or attributes contain ``text``
        (case-insensitive for ASCII letters, as SQLite's LIKE)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        inside, values = scope.sql("jurisdiction")
        rows = self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM {gpkg.OBJECTS_TABLE}"
            " WHERE (object_id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'"
            f" OR attributes LIKE ? ESCAPE '\\') AND {inside} ORDER BY fid",
            (pattern, pattern, pattern, *values),
        )
        return (ObjectRecord(*row) for row in _records(rows))

    def count_objects(
        self,
        cls: str | None = None,
        parent_id: str | None = None,
        building_id: str | None = None,
        storey_id: str | None = None,
        *,
        scope: Scope,
    ) -> int:
        """The number of objects :meth:`objects` would return without paging."""
        where, values = _filters(scope, cls, parent_id, building_id, storey_id)
        row = self._conn.execute(f"SELECT COUNT(*) FROM {gpkg.OBJECTS_TABLE}{where}", values)
        return int(row.fetchone()[0])

    def ancestors(self, object_id: str, *, scope: Scope) -> list[CityObject]:
        """Return the chain of containers of an object, outermost first, up to the first
        container outside ``scope``."""
        chain: list[CityObject] = []
        current = self.get_object(object_id, scope=scope).parent_id
        while current is not None and len(chain) < 64:
            try:
                parent = self.get_object(current, scope=scope)
            except ObjectNotFoundError:
                break
            chain.append(parent)
            current = parent.parent_id
        return chain[::-1]

    def counts_by_class(self, *, scope: Scope) -> dict[str, int]:
        """Number of objects in ``scope`` per class."""
        inside, values = scope.sql("jurisdiction")
        rows = self._conn.execute(
            f"SELECT class, COUNT(*) FROM {gpkg.OBJECTS_TABLE} WHERE {inside}"
            " GROUP BY class ORDER BY class",
            values,
        )
        return {cls: count for cls, count in rows}

    def extent(self, *, scope: Scope) -> Bounds3D | None:
        """Bounds of every mesh of the objects in ``scope``, or None without any."""
        bounds = (
            "MIN(m.min_x), MIN(m.min_y), MIN(m.min_z), MAX(m.max_x), MAX(m.max_y), MAX(m.max_z)"
        )
        if scope.unlimited:
            row = self._conn.execute(f"SELECT {bounds} FROM {gpkg.MESHES_TABLE} m").fetchone()
        else:
            inside, values = scope.sql("o.jurisdiction")
            row = self._conn.execute(
                f"SELECT {bounds} FROM {gpkg.OBJECTS_TABLE} o JOIN {gpkg.MESHES_TABLE} m"
                f" ON m.object_id = o.object_id WHERE {inside}",
                values,
            ).fetchone()
        return None if row[0] is None else tuple(float(v) for v in row)  # type: ignore[return-value]

    def footprint_extent(self, *, scope: Scope) -> tuple[float, float, float, float] | None:
        """``(min_x, min_y, max_x, max_y)`` of every footprint in ``scope``, or None without any.

        The whole city's: the objects layer's extent in ``gpkg_contents`` when it is set,
        else a scan of the geometry headers. A limited scope's: from the R-tree (rounded
        outwards by centimetres).
        """
        if not scope.unlimited:
            inside, values = scope.sql("o.jurisdiction")
            box = self._conn.execute(
                f"SELECT MIN(r.minx), MIN(r.miny), MAX(r.maxx), MAX(r.maxy)"
                f" FROM {gpkg.OBJECTS_TABLE} o JOIN {store_rtree.RTREE_TABLE} r ON r.id = o.fid"
                f" WHERE {inside}",
                values,
            ).fetchone()
            return None if box[0] is None else (box[0], box[1], box[2], box[3])
        row = self._conn.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
            (gpkg.OBJECTS_TABLE,),
        ).fetchone()
        if row is not None and None not in row:
            return float(row[0]), float(row[1]), float(row[2]), float(row[3])
        boxes = [gpkg.envelope(blob) for (blob,) in self._conn.execute(
            f"SELECT geom FROM {gpkg.OBJECTS_TABLE} WHERE geom IS NOT NULL")]  # fmt: skip
        found = np.array([box for box in boxes if box is not None], dtype=np.float64)
        if not len(found):
            return None
        low, high = found[:, :2].min(axis=0), found[:, 2:].max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])

    def sources(self, *, scope: Scope) -> list[dict[str, Any]]:
        """The imported sources (current versions) with their import reports: those with at
        least one object in ``scope`` (every source when it is unlimited)."""
        where = ""
        values: tuple[str, ...] = ()
        if not scope.unlimited:
            inside, values = scope.sql("o.jurisdiction")
            where = (
                f" WHERE EXISTS (SELECT 1 FROM {gpkg.OBJECTS_TABLE} o"
                f" WHERE o.source = s.source AND {inside})"
            )
        rows = self._conn.execute(
            f"SELECT {', '.join('s.' + c for c in gpkg.SOURCE_COLUMNS)}"
            f" FROM {gpkg.SOURCES_TABLE} s{where} ORDER BY s.fid",
            values,
        )
        return [_source_from_row(row) for row in rows]

    def object_counts_by_source(self, *, scope: Scope) -> dict[str, int]:
        """How many of each source's current objects lie in ``scope``."""
        inside, values = scope.sql("jurisdiction")
        rows = self._conn.execute(
            f"SELECT source, COUNT(*) FROM {gpkg.OBJECTS_TABLE} WHERE {inside} GROUP BY source",
            values,
        )
        return {source: int(count) for source, count in rows}

    def source_versions(self, source: str, *, scope: Scope) -> list[dict[str, Any]]:
        """Every version of a source lineage that ends in ``source``, oldest first (a source
        outside ``scope`` is not found, as :meth:`sources`)."""
        current = [s for s in self.sources(scope=scope) if s["source"] == source]
        if not current:
            raise ObjectNotFoundError(f"no source {source!r}")
        chain = [current[0]]
        while chain[0]["replaces"]:
            row = self._conn.execute(
                f"SELECT {', '.join(gpkg.SOURCE_COLUMNS)} FROM {gpkg.SOURCE_HISTORY_TABLE}"
                " WHERE source = ? AND replaced_by = ? ORDER BY fid DESC LIMIT 1",
                (chain[0]["replaces"], chain[0]["source"]),
            ).fetchone()
            if row is None:
                break
            chain.insert(0, _source_from_row(row))
        return chain

    def source_of_building(self, building_id: str, *, scope: Scope) -> str | None:
        """The source that currently holds the building with this id in ``scope``, if any."""
        inside, values = scope.sql("jurisdiction")
        row = self._conn.execute(
            f"SELECT source FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ? AND {inside}",
            (building_id, *values),
        ).fetchone()
        return None if row is None else str(row[0])

    def source_state(self, source: str, *, scope: Scope) -> dict[str, tuple[str, str | None, str]]:
        """``{id: (class, geometry digest, attributes JSON)}`` of a source's current objects
        in ``scope``."""
        inside, values = scope.sql("jurisdiction")
        rows = self._conn.execute(
            f"SELECT object_id, class, digest, attributes FROM {gpkg.OBJECTS_TABLE}"
            f" WHERE source = ? AND {inside}",
            (source, *values),
        )
        return {object_id: (cls, digest, attrs) for object_id, cls, digest, attrs in rows}

    def object_history(self, object_id: str, *, scope: Scope) -> list[dict[str, Any]]:
        """Earlier versions of an object: version, source and the object as it was.

        A version is in ``scope`` when its own jurisdiction is, or when the object as it
        is now is (an archived row may carry no code).
        """
        was_inside, was_values = scope.sql("h.jurisdiction")
        is_inside, is_values = scope.sql("o.jurisdiction")
        columns = ", ".join(f"h.{column}" for column in ("geom", *gpkg.OBJECT_COLUMNS))
        rows = self._conn.execute(
            f"SELECT h.version, {columns} FROM {gpkg.OBJECT_HISTORY_TABLE} h"
            f" WHERE h.object_id = ? AND ({was_inside} OR EXISTS (SELECT 1"
            f" FROM {gpkg.OBJECTS_TABLE} o WHERE o.object_id = h.object_id AND {is_inside}))"
            " ORDER BY h.fid",
            (object_id, *was_values, *is_values),
        ).fetchall()
        return [{"version": row[0], "object": _object_from_row(row[1:])} for row in rows]

    def lods(self, lod: str, *, scope: Scope) -> dict[str, MeshPart]:
        """The stored ``LOD1`` or ``LOD2`` mesh of every building in ``scope`` that has one."""
        inside, values = in_scope_ids(scope, "building_id")
        rows = self._conn.execute(
            f"SELECT building_id, material, vertices, faces FROM {gpkg.LODS_TABLE}"
            f" WHERE lod = ?{inside}",
            (lod, *values),
        )
        return {building: _part(material, vertices, faces)
                for building, material, vertices, faces in rows}  # fmt: skip

    def mesh_index(self, *, scope: Scope) -> Iterator[MeshEntry]:
        """Yield the class, name, bounds and triangle count of every object with a mesh in
        ``scope``."""
        inside, values = in_scope_ids(scope, "m.object_id")
        rows = self._conn.execute(
            f"SELECT m.object_id, o.class, o.name, MIN(m.min_x), MIN(m.min_y), MIN(m.min_z),"
            f" MAX(m.max_x), MAX(m.max_y), MAX(m.max_z), SUM(m.triangle_count)"
            f" FROM {gpkg.MESHES_TABLE} m LEFT JOIN {gpkg.OBJECTS_TABLE} o"
            f" ON o.object_id = m.object_id WHERE 1 = 1{inside}"
            " GROUP BY m.object_id ORDER BY m.object_id",
            values,
        )
        for object_id, cls, name, *bounds, triangles in rows:
            yield MeshEntry(object_id, cls or "", name or "", tuple(bounds), int(triangles))

    def meshes(self, object_ids: Iterable[str], *, scope: Scope) -> dict[str, list[MeshPart]]:
        """Load the mesh parts of the given objects that lie in ``scope``."""
        result: dict[str, list[MeshPart]] = {}
        inside, values = in_scope_ids(scope, "object_id")
        rows = gpkg.select_in(
            self._conn,
            f"SELECT object_id, material, vertices, faces FROM {gpkg.MESHES_TABLE}"
            f" WHERE 1 = 1{inside} AND object_id IN ({{ids}}) ORDER BY object_id, part",
            list(object_ids),
            leading=values,
        )
        for object_id, material, vertices, faces in rows:
            result.setdefault(object_id, []).append(_part(material, vertices, faces))
        return result


def _object_from_row(row: tuple[Any, ...]) -> CityObject:
    geom, object_id, cls, name, parent, building, storey, source, base, top, digest, attrs = row
    return CityObject(
        id=object_id, cls=cls, name=name or "", parent_id=parent, source=source,
        attributes=json.loads(attrs or "{}"), footprint=gpkg.decode_geometry(geom),
        base_height=base, top_height=top, building_id=building, storey_id=storey, digest=digest,
    )  # fmt: skip


def in_scope_ids(scope: Scope, column: str) -> tuple[str, tuple[str, ...]]:
    """`` AND column IN (ids of the objects in scope)`` and its parameters; nothing for an
    unlimited scope (rows whose object is gone stay visible to it, as before scopes)."""
    if scope.unlimited:
        return "", ()
    inside, values = scope.sql("jurisdiction")
    return f" AND {column} IN (SELECT object_id FROM {gpkg.OBJECTS_TABLE} WHERE {inside})", values


def _filters(
    scope: Scope,
    cls: str | None,
    parent_id: str | None,
    building_id: str | None,
    storey_id: str | None,
) -> tuple[str, list[str]]:
    pairs = (("class", cls), ("parent_id", parent_id), ("building_id", building_id),
             ("storey_id", storey_id))  # fmt: skip
    used = [(column, value) for column, value in pairs if value is not None]
    inside, values = scope.sql("jurisdiction")
    where = " AND ".join([*(f"{column} = ?" for column, _ in used), inside])
    return f" WHERE {where}", [*(value for _, value in used), *values]


def _source_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(gpkg.SOURCE_COLUMNS, row, strict=True))
    record["report"] = json.loads(record["report"] or "{}")
    return record


def _part(material: str, vertices: bytes, faces: bytes) -> MeshPart:
    return MeshPart(
        material=Material.from_dict(json.loads(material)),
        vertices=np.frombuffer(vertices, dtype="<f8").reshape(-1, 3),
        faces=np.frombuffer(faces, dtype="<u4").reshape(-1, 3),
    )


def _as_box(box: Box | BoxTuple) -> Box:
    return box if isinstance(box, Box) else Box.checked(*box)


def _records(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for fid, object_id, cls, name, building, storey, base, top, attributes in rows:
        yield fid, object_id, cls, name or "", building, storey, base, top, attributes or "{}"
