"""Bulk reads of the store for the tiler: a compact index of every mesh, then rows by tile.

:func:`read_mesh_index` reads, without a single triangle, what the tiler partitions: per
object with a mesh its row id, bounds and triangle count, grouped into *units* (a BIM
building with all its elements, or one standalone object such as a GIS building). It
keeps numbers in numpy arrays (about 100 bytes an object), so a city of millions fits;
the triangles are read later one tile at a time by :func:`object_rows` and
:func:`unit_rows`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from cim import gpkg
from cim.conflate import GIS_BUILDING_CLASSES
from cim.store import CityStore

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_BATCH = 50_000
_IN_CHUNK = 900  # below SQLite's default limit of bound parameters


@dataclass
class MeshIndex:
    """Objects with meshes, grouped into units; every array is indexed as documented."""

    fids: IntArray  # per object: its row id in city_objects
    unit_of: IntArray  # per object: its unit
    bounds: FloatArray  # per object: (min x, y, z, max x, y, z) in the city CRS
    triangles: IntArray  # per object
    unit_bounds: FloatArray  # per unit
    unit_triangles: IntArray  # per unit: every triangle of its objects
    unit_buildings: dict[int, str]  # BIM units: the building's object id
    unit_lod_triangles: dict[str, dict[str, int]]  # building id -> LOD name -> triangles
    excluded: dict[str, int]  # objects left out and why

    @cached_property
    def unit_first(self) -> IntArray:
        """Per unit: the index of its first object (its only one, for a standalone unit)."""
        _, first = np.unique(self.unit_of, return_index=True)
        return np.asarray(first, dtype=np.int64)

    @property
    def unit_count(self) -> int:
        """How many units there are."""
        return len(self.unit_bounds)

    def unit_sizes(self) -> FloatArray:
        """The diagonal of each unit's box, metres."""
        return np.asarray(np.linalg.norm(self.unit_bounds[:, 3:] - self.unit_bounds[:, :3], axis=1))

    def unit_centres(self) -> FloatArray:
        """The centre of each unit's box in plan, ``(units, 2)``."""
        return np.asarray((self.unit_bounds[:, :2] + self.unit_bounds[:, 3:5]) / 2)


def read_mesh_index(store: CityStore, excluded_classes: Iterable[str]) -> MeshIndex:
    """Index every object with a mesh, leaving out ``excluded_classes`` and hidden ones."""
    excluded_set = set(excluded_classes)
    hidden = hidden_fids(store)
    excluded: dict[str, int] = {}
    fids: list[IntArray] = []
    bounds: list[FloatArray] = []
    triangles: list[IntArray] = []
    buildings: list[str | None] = []
    for rows in _batches(store):
        keep = []
        for row in rows:
            fid, cls, building = row[0], row[1], row[2]
            if fid in hidden:
                excluded["replaced by BIM"] = excluded.get("replaced by BIM", 0) + 1
            elif cls in excluded_set:
                excluded[cls] = excluded.get(cls, 0) + 1
            else:
                keep.append(row)
                buildings.append(building)
        if keep:
            columns = list(zip(*keep, strict=True))
            fids.append(np.array(columns[0], dtype=np.int64))
            bounds.append(np.array(columns[3:9], dtype=np.float64).T)
            triangles.append(np.array(columns[9], dtype=np.int64))
    fid_array = np.concatenate(fids) if fids else np.zeros(0, np.int64)
    bound_array = np.concatenate(bounds) if bounds else np.zeros((0, 6))
    triangle_array = np.concatenate(triangles) if triangles else np.zeros(0, np.int64)
    unit_of, unit_buildings = _units(buildings)
    units = int(unit_of.max()) + 1 if len(unit_of) else 0
    unit_bounds = np.full((units, 6), np.inf)
    unit_bounds[:, 3:] = -np.inf
    for axis in range(3):
        np.minimum.at(unit_bounds[:, axis], unit_of, bound_array[:, axis])
        np.maximum.at(unit_bounds[:, axis + 3], unit_of, bound_array[:, axis + 3])
    unit_triangles = np.bincount(unit_of, weights=triangle_array, minlength=units).astype(np.int64)
    return MeshIndex(fid_array, unit_of, bound_array, triangle_array, unit_bounds,
                     unit_triangles, unit_buildings, lod_triangles(store), excluded)  # fmt: skip


def _batches(store: CityStore) -> Iterator[list[tuple[Any, ...]]]:
    cursor = store.conn.execute(
        f"SELECT o.fid, o.class, o.building_id, MIN(m.min_x), MIN(m.min_y), MIN(m.min_z),"
        f" MAX(m.max_x), MAX(m.max_y), MAX(m.max_z), SUM(m.triangle_count)"
        f" FROM {gpkg.MESHES_TABLE} m JOIN {gpkg.OBJECTS_TABLE} o ON o.object_id = m.object_id"
        " GROUP BY m.object_id ORDER BY o.fid"
    )
    while rows := cursor.fetchmany(_BATCH):
        yield rows


def _units(buildings: list[str | None]) -> tuple[IntArray, dict[int, str]]:
    """A unit per building id, and one per object that belongs to no building."""
    unit_of = np.empty(len(buildings), dtype=np.int64)
    by_building: dict[str, int] = {}
    next_unit = 0
    for index, building in enumerate(buildings):
        if building is None:
            unit_of[index] = next_unit
            next_unit += 1
            continue
        unit = by_building.get(building)
        if unit is None:
            unit = by_building[building] = next_unit
            next_unit += 1
        unit_of[index] = unit
    return unit_of, {unit: building for building, unit in by_building.items()}


def hidden_fids(store: CityStore) -> set[int]:
    """Row ids of GIS buildings a BIM building replaces: the tiler leaves them out."""
    marks = ",".join("?" * len(GIS_BUILDING_CLASSES))
    rows = store.conn.execute(
        f"SELECT fid FROM {gpkg.OBJECTS_TABLE} WHERE class IN ({marks})"
        " AND json_extract(attributes, '$.replaced_by') IS NOT NULL",
        GIS_BUILDING_CLASSES,
    )
    return {fid for (fid,) in rows}


def lod_triangles(store: CityStore) -> dict[str, dict[str, int]]:
    """Triangles of each stored building LOD: building id -> LOD name -> count."""
    result: dict[str, dict[str, int]] = {}
    rows = store.conn.execute(f"SELECT building_id, lod, triangle_count FROM {gpkg.LODS_TABLE}")
    for building, lod, count in rows:
        result.setdefault(building, {})[lod] = int(count)
    return result


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
