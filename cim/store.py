"""The embedded city store: one GeoPackage per city folder, objects and meshes together.

A city is a folder. ``DIR/city.gpkg`` holds the objects layer (footprints in the city CRS,
readable by QGIS and GDAL), the meshes of each object as float64 blobs, the imported
sources with their reports, and the city settings. Every write goes through
:meth:`CityStore.transaction`, so a failed import leaves the file as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cim import gpkg
from cim.crs import crs_text, parse_crs, require_projected
from cim.errors import CimError, CityExistsError, CityNotFoundError, ObjectNotFoundError
from cim.model import CityObject, Material, MeshPart

STORE_FILE = "city.gpkg"
Bounds3D = tuple[float, float, float, float, float, float]
_OBJECT_COLUMNS = (
    "object_id, class, name, parent_id, source, attributes, geom, base_height, top_height"
)


@dataclass(frozen=True)
class MeshEntry:
    """An object with a mesh, as the tiler sees it before loading the triangles."""

    object_id: str
    cls: str
    name: str
    bounds: Bounds3D
    triangles: int


class CityStore:
    """A city model stored in ``DIR/city.gpkg``."""

    def __init__(self, city_dir: Path, conn: sqlite3.Connection) -> None:
        self.city_dir = city_dir
        self._conn = conn
        meta = dict(conn.execute(f"SELECT key, value FROM {gpkg.META_TABLE}").fetchall())
        self.crs: str = meta["crs"]
        self.name: str = meta.get("name", city_dir.name)
        self.srs_id: int = gpkg.srs_id_of(parse_crs(self.crs))

    @property
    def path(self) -> Path:
        """The GeoPackage file."""
        return self.city_dir / STORE_FILE

    @classmethod
    def create(cls, city_dir: Path, crs: str, name: str | None = None) -> CityStore:
        """Create a city in ``city_dir`` (made if missing) with the projected CRS ``crs``."""
        parsed = require_projected(parse_crs(crs), crs)
        target = city_dir / STORE_FILE
        if target.exists():
            raise CityExistsError(f"{city_dir} already holds a city ({STORE_FILE})")
        city_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".gpkg.partial")
        partial.unlink(missing_ok=True)
        conn = sqlite3.connect(partial)
        try:
            with conn:
                gpkg.create_schema(conn, parsed, crs)
                meta = {"crs": crs_text(parsed), "name": name or city_dir.resolve().name}
                meta["format_version"] = "1"
                conn.executemany(
                    f"INSERT INTO {gpkg.META_TABLE} (key, value) VALUES (?, ?)", meta.items()
                )
        finally:
            conn.close()
        partial.replace(target)
        return cls.open(city_dir)

    @classmethod
    def open(cls, city_dir: Path) -> CityStore:
        """Open the city in ``city_dir``."""
        if not city_dir.is_dir():
            raise CityNotFoundError(f"city folder {city_dir} does not exist (run `cimtwin init`)")
        path = city_dir / STORE_FILE
        if not path.is_file():
            raise CityNotFoundError(f"{city_dir} holds no city: {STORE_FILE} is missing")
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            return cls(city_dir, conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CimError(f"{path} is not a CIMTwin city store: {exc}") from exc

    def close(self) -> None:
        """Close the underlying connection."""
        self._conn.close()

    def __enter__(self) -> CityStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[CityWriter]:
        """Yield a writer; commit when the block ends, roll everything back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield CityWriter(self._conn, self.srs_id)
            gpkg.update_extent(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def get_object(self, object_id: str) -> CityObject:
        """Return the object with ``object_id``."""
        row = self._conn.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ?", (object_id,)
        ).fetchone()
        if row is None:
            raise ObjectNotFoundError(f"no object with id {object_id!r}")
        return _object_from_row(row)

    def objects(self, cls: str | None = None, parent_id: str | None = None) -> list[CityObject]:
        """Return objects, optionally only of one class or under one parent."""
        clauses, values = [], []
        if cls is not None:
            clauses.append("class = ?")
            values.append(cls)
        if parent_id is not None:
            clauses.append("parent_id = ?")
            values.append(parent_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM {gpkg.OBJECTS_TABLE}{where} ORDER BY fid", values
        )
        return [_object_from_row(row) for row in rows]

    def ancestors(self, object_id: str) -> list[CityObject]:
        """Return the chain of containers of an object, outermost first."""
        chain: list[CityObject] = []
        current = self.get_object(object_id).parent_id
        while current is not None and len(chain) < 64:
            try:
                parent = self.get_object(current)
            except ObjectNotFoundError:
                break
            chain.append(parent)
            current = parent.parent_id
        return chain[::-1]

    def counts_by_class(self) -> dict[str, int]:
        """Number of objects per class."""
        rows = self._conn.execute(
            f"SELECT class, COUNT(*) FROM {gpkg.OBJECTS_TABLE} GROUP BY class ORDER BY class"
        )
        return {cls: count for cls, count in rows}

    def extent(self) -> Bounds3D | None:
        """Bounds of every mesh, or None when the city has no geometry yet."""
        row = self._conn.execute(
            f"SELECT MIN(min_x), MIN(min_y), MIN(min_z), MAX(max_x), MAX(max_y), MAX(max_z)"
            f" FROM {gpkg.MESHES_TABLE}"
        ).fetchone()
        return None if row[0] is None else tuple(float(v) for v in row)  # type: ignore[return-value]

    def sources(self) -> list[dict[str, Any]]:
        """The imported sources with their import reports."""
        rows = self._conn.execute(
            f"SELECT source, path, sha256, kind, imported_at, report FROM {gpkg.SOURCES_TABLE}"
            " ORDER BY fid"
        )
        keys = ("source", "path", "sha256", "kind", "imported_at")
        return [
            dict(zip(keys, row[:5], strict=True)) | {"report": json.loads(row[5] or "{}")}
            for row in rows
        ]

    def mesh_index(self) -> Iterator[MeshEntry]:
        """Yield the class, name, bounds and triangle count of every object with a mesh."""
        rows = self._conn.execute(
            f"SELECT m.object_id, o.class, o.name, MIN(m.min_x), MIN(m.min_y), MIN(m.min_z),"
            f" MAX(m.max_x), MAX(m.max_y), MAX(m.max_z), SUM(m.triangle_count)"
            f" FROM {gpkg.MESHES_TABLE} m LEFT JOIN {gpkg.OBJECTS_TABLE} o"
            " ON o.object_id = m.object_id GROUP BY m.object_id ORDER BY m.object_id"
        )
        for object_id, cls, name, *bounds, triangles in rows:
            yield MeshEntry(object_id, cls or "", name or "", tuple(bounds), int(triangles))

    def meshes(self, object_ids: Iterable[str]) -> dict[str, list[MeshPart]]:
        """Load the mesh parts of the given objects."""
        result: dict[str, list[MeshPart]] = {}
        ids = list(object_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._conn.execute(
                f"SELECT object_id, material, vertices, faces FROM {gpkg.MESHES_TABLE}"
                f" WHERE object_id IN ({','.join('?' * len(chunk))}) ORDER BY object_id, part",
                chunk,
            )
            for object_id, material, vertices, faces in rows:
                result.setdefault(object_id, []).append(
                    MeshPart(
                        material=Material.from_dict(json.loads(material)),
                        vertices=np.frombuffer(vertices, dtype="<f8").reshape(-1, 3),
                        faces=np.frombuffer(faces, dtype="<u4").reshape(-1, 3),
                    )
                )
        return result


class CityWriter:
    """Writes into an open transaction of a :class:`CityStore`."""

    def __init__(self, conn: sqlite3.Connection, srs_id: int) -> None:
        self._conn = conn
        self._srs_id = srs_id

    def remove_source(self, source: str) -> int:
        """Remove every object, mesh and record of ``source``; return the objects removed."""
        self._conn.execute(
            f"DELETE FROM {gpkg.MESHES_TABLE} WHERE object_id IN"
            f" (SELECT object_id FROM {gpkg.OBJECTS_TABLE} WHERE source = ?)",
            (source,),
        )
        removed = self._conn.execute(
            f"DELETE FROM {gpkg.OBJECTS_TABLE} WHERE source = ?", (source,)
        ).rowcount
        self._conn.execute(f"DELETE FROM {gpkg.SOURCES_TABLE} WHERE source = ?", (source,))
        return removed

    def add_object(self, obj: CityObject) -> None:
        """Insert one object; its id must be new to the city."""
        clash = self._conn.execute(
            f"SELECT source FROM {gpkg.OBJECTS_TABLE} WHERE object_id = ?", (obj.id,)
        ).fetchone()
        if clash is not None:
            raise CimError(f"object {obj.id} ({obj.cls}) already exists, from source {clash[0]}")
        self._conn.execute(
            f"INSERT INTO {gpkg.OBJECTS_TABLE} (geom, object_id, class, name, parent_id, source,"
            " base_height, top_height, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                gpkg.encode_geometry(obj.footprint, self._srs_id),
                obj.id,
                obj.cls,
                obj.name,
                obj.parent_id,
                obj.source,
                obj.base_height,
                obj.top_height,
                json.dumps(obj.attributes, ensure_ascii=False, default=str),
            ),
        )

    def add_mesh(self, object_id: str, parts: Iterable[MeshPart]) -> None:
        """Store the mesh parts of one object (one row per material)."""
        for index, part in enumerate(parts):
            self._conn.execute(
                f"INSERT INTO {gpkg.MESHES_TABLE} (object_id, part, material, vertex_count,"
                " triangle_count, min_x, min_y, min_z, max_x, max_y, max_z, vertices, faces)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    object_id,
                    index,
                    json.dumps(part.material.to_dict()),
                    len(part.vertices),
                    len(part.faces),
                    *part.bounds,
                    part.vertices.astype("<f8").tobytes(),
                    part.faces.astype("<u4").tobytes(),
                ),
            )

    def record_source(
        self, source: str, path: str, sha256: str, kind: str, report: dict[str, Any]
    ) -> None:
        """Record an imported source and its report."""
        self._conn.execute(
            f"INSERT INTO {gpkg.SOURCES_TABLE} (source, path, sha256, kind, imported_at, report)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (source, path, sha256, kind, gpkg.timestamp(), json.dumps(report, default=str)),
        )


def _object_from_row(row: tuple[Any, ...]) -> CityObject:
    object_id, cls, name, parent_id, source, attributes, geom, base, top = row
    return CityObject(
        id=object_id,
        cls=cls,
        name=name or "",
        parent_id=parent_id,
        source=source,
        attributes=json.loads(attributes or "{}"),
        footprint=gpkg.decode_geometry(geom),
        base_height=base,
        top_height=top,
    )
