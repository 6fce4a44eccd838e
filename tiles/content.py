"""Writing one tile's content: rows read from the store, drawn into a glb (or b3dm), reused
when nothing that goes into it changed.

Runs in worker processes: :func:`start_worker` opens the store once per process, then
:func:`write_tile` renders one tile of the plan. Every byte that goes into a tile (object
rows, attributes, mesh blobs, LOD blobs, the frame, the format) is hashed first; when the
hash equals the one the previous run recorded for the same file, the old file is linked
into the new folder instead of being drawn again, so unchanged tiles keep their bytes,
ETags and cache entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cim.crs import LocalFrame
from cim.extrude import block
from cim.meshindex import OWN_MESH_LIMIT, MeshIndex
from cim.model import Material
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import MeshBlob, ObjectRecord, TileRow
from tiles.b3dm import wrap_b3dm
from tiles.deviation import deviation
from tiles.glb import Surface, build_glb
from tiles.metadata import batch_table
from tiles.properties import feature_row

CONTENT_VERSION = "cimtwin-tiles-2"
# The tiles draw every object (the API guards the attributes, not the tiles).
WHOLE_CITY = Scope.everything()
#: The modules that shape a tile's bytes: a change to any of them redraws every tile.
_DRAWING_MODULES = ("content", "glb", "meshopt", "metadata", "properties", "b3dm")


def _code_fingerprint() -> str:
    """A hash of the source of the modules that draw tiles."""
    folder = Path(__file__).resolve().parent
    hasher = hashlib.blake2b(digest_size=8)
    for name in _DRAWING_MODULES:
        hasher.update((folder / f"{name}.py").read_bytes())
    return hasher.hexdigest()


CODE_FINGERPRINT = _code_fingerprint()
_BLOCK_MATERIAL = Material("lod1", (0.82, 0.82, 0.80, 1.0))


@dataclass(frozen=True)
class Settings:
    """What every tile of a run shares."""

    city_dir: Path
    folder: Path  # the new tileset folder being written
    previous: Path | None  # the tileset folder of the last run
    previous_files: dict[str, dict[str, Any]]  # uri -> the last run's manifest entry
    frame_origin: tuple[float, float, float]
    crs: str
    index_path: Path  # the run's cim.meshindex.MeshIndex file
    leaf_limits: tuple[int, int]  # objects and triangles a unit may have to fit a leaf
    content_format: str = "glb"  # or "b3dm"
    quantize: bool = True
    compress: bool = True


@dataclass(frozen=True)
class TileJob:
    """One tile to write: full objects (row ids) or coarse units."""

    address: str
    kind: str  # "full", "LOD1" or "LOD2"
    fids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    # full objects, or the standalone units drawn coarse
    buildings: tuple[str, ...] = ()  # BIM buildings drawn coarse
    cell: tuple[int, int, bool] | None = None  # full: the objects of an index cell's units


@dataclass
class TileResult:
    """What a tile holds, for the tileset JSON and the manifest."""

    address: str
    uri: str | None = None
    key: str = ""
    low: list[float] | None = None
    high: list[float] | None = None
    features: int = 0
    triangles: int = 0
    bytes: int = 0
    reused: bool = False
    deviation: float = 0.0  # of the coarse versions drawn here, when known here
    buildings: list[str] = field(default_factory=list)  # BIM buildings drawn coarse


_state: dict[str, Any] = {}


def start_worker(settings: Settings) -> None:
    """Open the store and the frame for this process."""
    _state["settings"] = settings
    _state["store"] = CityStore.open(settings.city_dir)
    _state["frame"] = LocalFrame(settings.crs, settings.frame_origin)
    _state["index"] = MeshIndex(settings.index_path)


def stop_worker() -> None:
    """Close what :func:`start_worker` opened in this process."""
    store = _state.pop("store", None)
    if store is not None:
        store.close()
    index = _state.pop("index", None)
    if index is not None:
        index.close()
    _state.clear()


def write_tile(job: TileJob) -> TileResult:
    """Draw (or reuse) one tile's content file."""
    settings: Settings = _state["settings"]
    store: CityStore = _state["store"]
    drawing = _Drawing(settings, _state["frame"])
    if job.kind == "full":
        fids = job.fids
        if job.cell is not None:
            index: MeshIndex = _state["index"]
            fids = index.cell_objects(*job.cell, settings.leaf_limits)
        drawing.add_objects(store, fids)
    else:
        drawing.add_coarse(store, job)
    result = TileResult(job.address, buildings=list(job.buildings))
    if not drawing.rows:
        return result
    suffix = ".b3dm" if settings.content_format == "b3dm" else ".glb"
    result.uri = f"content/{job.address}{suffix}"
    result.key = drawing.key(job.kind)
    target = settings.folder / result.uri
    old = settings.previous / result.uri if settings.previous else None
    entry = settings.previous_files.get(result.uri, {})
    if old is not None and entry.get("key") == result.key and old.is_file():
        _link(old, target)
        result.reused = True
        result.low, result.high = entry["low"], entry["high"]
        result.deviation = float(entry.get("deviation", 0.0))
    else:
        target.write_bytes(drawing.encode())
        low, high = drawing.bounds()
        result.low, result.high = low.tolist(), high.tolist()
        result.deviation = drawing.deviation
    result.features, result.triangles = len(drawing.rows), drawing.triangle_count
    result.bytes = target.stat().st_size
    return result


class _Drawing:
    """The features and triangles of one tile: raw rows and blobs, decoded in bulk."""

    def __init__(self, settings: Settings, frame: LocalFrame) -> None:
        self.settings, self.frame = settings, frame
        self.rows: list[tuple[ObjectRecord, dict[str, Any] | None]] = []
        self.features: list[int] = []  # per part
        self.materials: list[str] = []  # per part
        self.vertex_blobs: list[bytes] = []
        self.face_blobs: list[bytes] = []
        self.deviation = 0.0
        self.triangle_count = 0
        self._local: np.ndarray | None = None

    def add_objects(self, store: CityStore, fids: npt.NDArray[np.int64]) -> None:
        rows = list(store.tile_rows(fids, scope=WHOLE_CITY))
        buildings = store.building_records(
            {r.record.building_id for r in rows if r.record.building_id}, scope=WHOLE_CITY
        )
        inherited = {key: record.attributes() for key, record in buildings.items()}
        last = None
        for row in rows:
            record = row.record
            if record.fid != last:
                last = record.fid
                building = record.building_id
                self.rows.append((record, inherited.get(building) if building else None))
            self.add_part(row.mesh)

    def add_coarse(self, store: CityStore, job: TileJob) -> None:
        lods = store.lod_blobs(job.buildings, job.kind, scope=WHOLE_CITY)
        missing = [b for b in job.buildings if b not in lods]
        lods |= store.lod_blobs(missing, "LOD1", scope=WHOLE_CITY) if missing else {}
        buildings = store.building_records(job.buildings, scope=WHOLE_CITY)
        for building in job.buildings:
            if building in lods and building in buildings:
                self.rows.append((buildings[building], None))
                self.add_part(lods[building])
        grouped: dict[int, list[TileRow]] = {}
        for row in store.tile_rows(job.fids, scope=WHOLE_CITY):
            grouped.setdefault(row.record.fid, []).append(row)
        for parts in grouped.values():
            self.add_standalone(parts)

    def add_standalone(self, parts: list[TileRow]) -> None:
        """A standalone object as itself, or as a block when its mesh is big."""
        first = parts[0].record
        self.rows.append((first, None))
        if sum(p.mesh.triangle_count for p in parts) <= OWN_MESH_LIMIT:
            for part in parts:
                self.add_part(part.mesh)
            return
        base, top = first.base_height, first.top_height
        stand_in = block(parts[0].footprint(), base or 0.0, top or 0.0, _BLOCK_MATERIAL)
        if stand_in is None:
            self.rows.pop()
            return
        material = json.dumps(_BLOCK_MATERIAL.to_dict())
        self.add_part(MeshBlob(material, stand_in.vertices.astype("<f8").tobytes(),
                               stand_in.faces.astype("<u4").tobytes()))  # fmt: skip
        meshes = [(_vertices(p.mesh.vertices), _faces(p.mesh.faces)) for p in parts]
        self.deviation = max(self.deviation, deviation((stand_in.vertices, stand_in.faces), meshes))

    def add_part(self, mesh: MeshBlob) -> None:
        self.features.append(len(self.rows) - 1)
        self.materials.append(mesh.material)
        self.vertex_blobs.append(mesh.vertices)
        self.face_blobs.append(mesh.faces)
        self.triangle_count += mesh.triangle_count

    def key(self, kind: str) -> str:
        """A hash of everything the tile is drawn from."""
        settings = self.settings
        hasher = hashlib.blake2b(digest_size=16)
        header = [CONTENT_VERSION, CODE_FINGERPRINT, kind, settings.content_format,
                  settings.quantize, settings.compress, settings.frame_origin,
                  settings.crs]  # fmt: skip
        hasher.update(json.dumps(header).encode("utf-8"))
        hasher.update(repr([(row.content(), inherited) for row, inherited in self.rows]).encode())
        hasher.update(repr((self.features, self.materials)).encode())
        for blobs in (self.vertex_blobs, self.face_blobs):
            hasher.update(np.array([len(b) for b in blobs], dtype="<i8").tobytes())
            hasher.update(b"".join(blobs))
        return hasher.hexdigest()

    def local(self) -> np.ndarray:
        if self._local is None:
            everything = np.frombuffer(b"".join(self.vertex_blobs), dtype="<f8").reshape(-1, 3)
            self._local = self.frame.to_local(everything)
        return self._local

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        local = self.local()
        return local.min(axis=0), local.max(axis=0)

    def encode(self) -> bytes:
        """The content file: surfaces per material, properties per feature."""
        local = self.local()
        faces = np.frombuffer(b"".join(self.face_blobs), dtype="<u4").reshape(-1, 3)
        face_counts = np.array([len(b) // 12 for b in self.face_blobs], dtype=np.int64)
        vertex_starts = np.cumsum([0] + [len(b) // 24 for b in self.vertex_blobs[:-1]])
        global_faces = faces.astype(np.int64) + np.repeat(vertex_starts, face_counts)[:, None]
        corners = local[global_faces]
        feature_ids = np.repeat(np.array(self.features, dtype=np.int64), face_counts)
        names = sorted(set(self.materials))
        position = {name: index for index, name in enumerate(names)}
        material_of_part = np.array([position[m] for m in self.materials], dtype=np.int64)
        material_ids = np.repeat(material_of_part, face_counts)
        surfaces = []
        for index, name in enumerate(names):
            chosen = material_ids == index
            surfaces.append(Surface(_material(name), corners[chosen], feature_ids[chosen],
                                    global_faces[chosen]))  # fmt: skip
        rows = [_properties(row, inherited) for row, inherited in self.rows]
        b3dm = self.settings.content_format == "b3dm"
        glb = build_glb(surfaces, rows, quantize=self.settings.quantize, batch_ids=b3dm,
                        compress=self.settings.compress)  # fmt: skip
        return wrap_b3dm(glb, len(rows), batch_table(rows)) if b3dm else glb


def measure_building(job: tuple[str, int]) -> tuple[str, dict[str, float]]:
    """The deviation of a BIM building's stored LODs from the elements of its unit."""
    building, unit = job
    store: CityStore = _state["store"]
    index: MeshIndex = _state["index"]
    fids = index.unit_objects(unit)[0]
    full = [
        (_vertices(r.mesh.vertices), _faces(r.mesh.faces))
        for r in store.tile_rows(fids, scope=WHOLE_CITY)
    ]
    result: dict[str, float] = {}
    for lod in ("LOD1", "LOD2"):
        mesh = store.lod_blobs([building], lod, scope=WHOLE_CITY).get(building)
        if mesh is not None:
            result[lod] = deviation((_vertices(mesh.vertices), _faces(mesh.faces)), full)
    return building, result


def _properties(row: ObjectRecord, inherited: dict[str, Any] | None) -> dict[str, Any]:
    return feature_row(row.id, row.cls, row.name, row.building_id, row.storey_id,
                       row.base_height, row.top_height, row.attributes(), inherited)  # fmt: skip


_materials: dict[str, Material] = {}


def _material(text: str) -> Material:
    material = _materials.get(text)
    if material is None:
        material = _materials[text] = Material.from_dict(json.loads(text))
    return material


def _vertices(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8").reshape(-1, 3)


def _faces(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4").reshape(-1, 3)


def _link(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (a copy where links are not possible)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
