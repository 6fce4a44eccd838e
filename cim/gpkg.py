"""Low-level GeoPackage (OGC 12-128r18) writing over :mod:`sqlite3`.

The city store writes its GeoPackage through plain SQLite so that an import of objects,
meshes and source records is one transaction. This module holds the schema and the
geometry blob codec; :mod:`cim.store` holds the operations.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3 (GDAL warns on 1.4)
OBJECTS_TABLE = "city_objects"
MESHES_TABLE = "object_meshes"
SOURCES_TABLE = "sources"
META_TABLE = "city_meta"
OBJECT_HISTORY_TABLE = "object_history"
MESH_HISTORY_TABLE = "mesh_history"
SOURCE_HISTORY_TABLE = "source_history"
LODS_TABLE = "building_lods"
FORMAT_VERSION = "4"

_BASE_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL
    DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic');
"""

_OBJECT_COLUMNS_DDL = """
  object_id TEXT NOT NULL, class TEXT NOT NULL, name TEXT, parent_id TEXT,
  building_id TEXT, storey_id TEXT, source TEXT NOT NULL, base_height REAL, top_height REAL,
  digest TEXT, attributes TEXT, jurisdiction TEXT"""
_MESH_COLUMNS_DDL = """
  object_id TEXT NOT NULL, part INTEGER NOT NULL,
  material TEXT NOT NULL, vertex_count INTEGER NOT NULL, triangle_count INTEGER NOT NULL,
  min_x REAL, min_y REAL, min_z REAL, max_x REAL, max_y REAL, max_z REAL,
  vertices BLOB NOT NULL, faces BLOB NOT NULL"""
_SOURCE_COLUMNS_DDL = """
  source TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, replaces TEXT, path TEXT,
  sha256 TEXT, kind TEXT, imported_at TEXT, report TEXT"""

_DATA_SCHEMA = f"""
CREATE TABLE {OBJECTS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  {_OBJECT_COLUMNS_DDL}, UNIQUE (object_id));
CREATE INDEX idx_objects_class ON {OBJECTS_TABLE}(class);
CREATE INDEX idx_objects_parent ON {OBJECTS_TABLE}(parent_id);
CREATE INDEX idx_objects_source ON {OBJECTS_TABLE}(source);
CREATE INDEX idx_objects_building ON {OBJECTS_TABLE}(building_id, storey_id);
CREATE INDEX idx_objects_jurisdiction ON {OBJECTS_TABLE}(jurisdiction);
CREATE INDEX idx_objects_class_jurisdiction ON {OBJECTS_TABLE}(class, jurisdiction);
CREATE TABLE {MESHES_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, {_MESH_COLUMNS_DDL},
  UNIQUE (object_id, part));
CREATE TABLE {SOURCES_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, {_SOURCE_COLUMNS_DDL},
  UNIQUE (source));
CREATE TABLE {META_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
  value TEXT);
CREATE TABLE {OBJECT_HISTORY_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON,
  {_OBJECT_COLUMNS_DDL}, version INTEGER NOT NULL);
CREATE INDEX idx_history_object ON {OBJECT_HISTORY_TABLE}(object_id);
CREATE TABLE {MESH_HISTORY_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, {_MESH_COLUMNS_DDL},
  source TEXT NOT NULL, version INTEGER NOT NULL);
CREATE INDEX idx_mesh_history_object ON {MESH_HISTORY_TABLE}(object_id, version);
CREATE TABLE {SOURCE_HISTORY_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT,
  {_SOURCE_COLUMNS_DDL}, replaced_by TEXT, archived_at TEXT);
CREATE TABLE {LODS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT, building_id TEXT NOT NULL,
  lod TEXT NOT NULL, source TEXT NOT NULL, height REAL, {_MESH_COLUMNS_DDL.split(",", 2)[2]},
  UNIQUE (building_id, lod));
"""

OBJECT_COLUMNS = (
    "object_id",
    "class",
    "name",
    "parent_id",
    "building_id",
    "storey_id",
    "source",
    "base_height",
    "top_height",
    "digest",
    "attributes",
)
MESH_COLUMNS = (
    "object_id",
    "part",
    "material",
    "vertex_count",
    "triangle_count",
    "min_x",
    "min_y",
    "min_z",
    "max_x",
    "max_y",
    "max_z",
    "vertices",
    "faces",
)
SOURCE_COLUMNS = (
    "source",
    "version",
    "replaces",
    "path",
    "sha256",
    "kind",
    "imported_at",
    "report",
)


def srs_id_of(crs: CRS) -> int:
    """The ``srs_id`` a CRS gets in the GeoPackage: its EPSG code, else 100000."""
    return crs.to_epsg() or 100000


def create_schema(conn: sqlite3.Connection, crs: CRS, crs_name: str) -> None:
    """Create an empty city GeoPackage in ``conn`` for the projected ``crs``."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {USER_VERSION}")
    conn.executescript(_BASE_SCHEMA + _DATA_SCHEMA)
    srs_id = srs_id_of(crs)
    conn.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        (crs.name, srs_id, "EPSG" if crs.to_epsg() else "NONE", srs_id, crs.to_wkt(), crs_name),
    )
    if srs_id != 4326:
        conn.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
            ("WGS 84 geodetic", 4326, "EPSG", 4326, CRS.from_epsg(4326).to_wkt(), "lon/lat"),
        )
    now = timestamp()
    contents = [
        (OBJECTS_TABLE, "features", "City objects", srs_id),
        (MESHES_TABLE, "attributes", "Triangle meshes of city objects", None),
        (SOURCES_TABLE, "attributes", "Imported sources and their reports", None),
        (META_TABLE, "attributes", "City settings", None),
        (OBJECT_HISTORY_TABLE, "features", "Earlier versions of city objects", srs_id),
        (MESH_HISTORY_TABLE, "attributes", "Meshes of earlier versions", None),
        (SOURCE_HISTORY_TABLE, "attributes", "Earlier versions of sources", None),
        (LODS_TABLE, "attributes", "LOD1 blocks and LOD2-like shells of buildings", None),
    ]
    for table, kind, title, table_srs in contents:
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, last_change, srs_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (table, kind, title, now, table_srs),
        )
    for table in (OBJECTS_TABLE, OBJECT_HISTORY_TABLE):
        conn.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)",
            (table, srs_id),
        )


def timestamp() -> str:
    """The current UTC time in the GeoPackage timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_multipolygon(geometry: BaseGeometry | None) -> MultiPolygon | None:
    """Return the polygonal part of ``geometry`` as a MultiPolygon, or None when there is none."""
    if geometry is None or geometry.is_empty:
        return None
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    polygons = [
        g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon) and not g.is_empty
    ]
    polygons += [
        p for g in getattr(geometry, "geoms", []) if isinstance(g, MultiPolygon) for p in g.geoms
    ]
    return MultiPolygon(polygons) if polygons else None


def encode_geometry(geometry: BaseGeometry | None, srs_id: int) -> bytes | None:
    """Encode a footprint as a GeoPackage geometry blob (little endian, XY envelope)."""
    polygonal = as_multipolygon(geometry)
    if polygonal is None:
        return None
    min_x, min_y, max_x, max_y = polygonal.bounds
    header = (
        b"GP" + bytes([0, 0b0000_0011]) + struct.pack("<i4d", srs_id, min_x, max_x, min_y, max_y)
    )
    return header + shapely.to_wkb(polygonal, byte_order=1, output_dimension=2)


def encode_geometries(geometries: Sequence[BaseGeometry | None], srs_id: int) -> list[bytes | None]:
    """:func:`encode_geometry` of many footprints at once (shapely's array functions)."""
    array = np.empty(len(geometries), dtype=object)
    array[:] = list(geometries)
    types = shapely.get_type_id(array)
    present = types >= 0
    present[present] = ~shapely.is_empty(array[present])
    polygonal = np.empty(len(array), dtype=object)
    multi = present & (types == _MULTIPOLYGON)
    polygonal[multi] = array[multi]
    single = np.flatnonzero(present & (types == _POLYGON))
    if len(single):
        polygonal[single] = shapely.multipolygons(array[single], indices=np.arange(len(single)))
    for index in np.flatnonzero(present & (types != _POLYGON) & (types != _MULTIPOLYGON)):
        polygonal[index] = as_multipolygon(array[index])
    kept = np.flatnonzero([g is not None for g in polygonal])
    result: list[bytes | None] = [None] * len(array)
    if len(kept) == 0:
        return result
    wkbs = shapely.to_wkb(polygonal[kept], byte_order=1, output_dimension=2)
    bounds = shapely.bounds(polygonal[kept])
    prefix = b"GP" + bytes([0, 0b0000_0011])
    for index, wkb, (min_x, min_y, max_x, max_y) in zip(kept, wkbs, bounds.tolist(), strict=True):
        header = prefix + struct.pack("<i4d", srs_id, min_x, max_x, min_y, max_y)
        result[index] = header + wkb
    return result


_POLYGON, _MULTIPOLYGON = 3, 6  # shapely's geometry type ids


def decode_geometry(blob: bytes | None) -> BaseGeometry | None:
    """Decode a GeoPackage geometry blob written by any conforming writer."""
    if not blob:
        return None
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    envelope_doubles = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}[(flags >> 1) & 0b111]
    return shapely.from_wkb(blob[8 + 8 * envelope_doubles :])


def envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """``(min_x, min_y, max_x, max_y)`` from a geometry blob's header, without parsing it."""
    if not blob or len(blob) < 40 or (blob[3] >> 1) & 0b111 == 0:
        return None
    min_x, max_x, min_y, max_y = struct.unpack_from("<4d", blob, 8)
    return min_x, min_y, max_x, max_y


def merge_extent(conn: sqlite3.Connection, added: tuple[float, float, float, float] | None) -> None:
    """Grow the objects layer's extent in ``gpkg_contents`` by ``added``; touch its time."""
    row = conn.execute(
        "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name=?", (OBJECTS_TABLE,)
    ).fetchone()
    extent = list(row) if row is not None else [None] * 4
    if added is not None:
        for index, pick in enumerate((min, min, max, max)):
            current = extent[index]
            extent[index] = added[index] if current is None else pick(current, added[index])
    conn.execute(
        "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=?"
        " WHERE table_name=?",
        (*extent, timestamp(), OBJECTS_TABLE),
    )


def update_extent(conn: sqlite3.Connection) -> None:
    """Refresh the extent and change time of the objects layer in ``gpkg_contents``."""
    extent: list[float | None] = [None, None, None, None]
    for (blob,) in conn.execute(f"SELECT geom FROM {OBJECTS_TABLE} WHERE geom IS NOT NULL"):
        min_x, max_x, min_y, max_y = struct.unpack_from("<4d", blob, 8)
        for index, value, pick in (
            (0, min_x, min),
            (1, min_y, min),
            (2, max_x, max),
            (3, max_y, max),
        ):
            current = extent[index]
            extent[index] = value if current is None else pick(current, value)
    conn.execute(
        "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=?"
        " WHERE table_name=?",
        (*extent, timestamp(), OBJECTS_TABLE),
    )


IN_CHUNK = 900  # ids bound per statement: below SQLite's default limit of bound parameters


def select_in(
    conn: sqlite3.Connection, sql: str, ids: Sequence[Any], leading: Sequence[Any] = ()
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` for every id of ``ids``, in chunks of :data:`IN_CHUNK`.

    ``sql`` names the list of one chunk's ids ``{ids}`` (as in ``WHERE x IN ({ids})``);
    ``leading`` are the values of the placeholders before it. Rows come chunk by chunk, in
    the order of ``ids``' chunks.
    """
    for start in range(0, len(ids), IN_CHUNK):
        chunk = list(ids[start : start + IN_CHUNK])
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(sql.replace("{ids}", marks), [*leading, *chunk])
