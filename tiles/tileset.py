"""Writing a city as a 3D Tiles 1.1 tileset: a quadtree of glb tiles under an ECEF frame.

The city's objects are partitioned by the centres of their bounding boxes into a
quadtree until a tile holds at most ``max_features`` objects and ``max_triangles``
triangles. Leaves carry content; inner tiles group them (refinement ADD). Only one tile's
meshes are in memory at a time. The result is written beside the old tileset and swapped
in when complete, so a failed run leaves the previous tiles in place.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cim.conflate import hidden_objects
from cim.crs import LocalFrame
from cim.store import CityStore, MeshEntry
from tiles.errors import NothingToTileError
from tiles.folders import swap_in
from tiles.glb import Feature, build_glb

TILES_DIR = "tiles"
DEFAULT_EXCLUDED = ("IfcSpace", "IfcOpeningElement", "IfcAnnotation")


@dataclass(frozen=True)
class TilingOptions:
    """Limits of a leaf tile and the classes left out of the tiles."""

    max_features: int = 500
    max_triangles: int = 150_000
    max_depth: int = 16
    excluded_classes: tuple[str, ...] = DEFAULT_EXCLUDED


@dataclass
class TilingSummary:
    """What a tiling run wrote."""

    tileset: Path
    tiles: int = 0
    content_files: int = 0
    features: int = 0
    triangles: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    excluded: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {**self.__dict__, "tileset": str(self.tileset)}


def write_tileset(
    store: CityStore,
    options: TilingOptions | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> TilingSummary:
    """Tile ``store`` into ``<city>/tiles/tileset.json``; return what was written."""
    options = options or TilingOptions()
    started = time.perf_counter()
    entries: list[MeshEntry] = []
    excluded: dict[str, int] = {}
    hidden = hidden_objects(store)
    for entry in store.mesh_index():
        if entry.object_id in hidden:
            excluded["replaced by BIM"] = excluded.get("replaced by BIM", 0) + 1
        elif entry.cls in options.excluded_classes:
            excluded[entry.cls] = excluded.get(entry.cls, 0) + 1
        else:
            entries.append(entry)
    if not entries:
        raise NothingToTileError(f"{store.city_dir} has no geometry to tile: import a model first")
    frame = _frame_of(entries, store.crs)
    final = store.city_dir / TILES_DIR
    staging = store.city_dir / f".{TILES_DIR}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "content").mkdir(parents=True)
    writer = _TileWriter(store, frame, staging, options, on_progress, len(entries))
    try:
        root, _ = writer.build(entries, "0", 0)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    tileset = {
        "asset": {"version": "1.1", "generator": "CIMTwin"},
        # the error of not drawing the city at all: never less than its size
        "geometricError": max(root["geometricError"] * 2, _diagonal(root)),
        # refine is required on the root, which is a bare leaf when the city fits one tile
        "root": {"refine": "ADD", **root, "transform": frame.to_ecef_matrix().T.ravel().tolist()},
    }
    (staging / "tileset.json").write_text(json.dumps(tileset, indent=1))
    swap_in(staging, final)
    summary = writer.summary
    summary.tileset, summary.excluded = final / "tileset.json", excluded
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _frame_of(entries: list[MeshEntry], crs: str) -> LocalFrame:
    bounds = np.array([entry.bounds for entry in entries])
    low, high = bounds[:, :3].min(axis=0), bounds[:, 3:].max(axis=0)
    return LocalFrame(
        crs, (float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2, float(low[2]))
    )


class _TileWriter:
    """Builds the quadtree depth first, writing each leaf's glb as it goes."""

    def __init__(
        self,
        store: CityStore,
        frame: LocalFrame,
        folder: Path,
        options: TilingOptions,
        on_progress: Callable[[int, int], None] | None,
        total: int,
    ) -> None:
        self.store, self.frame, self.folder, self.options = store, frame, folder, options
        self.on_progress, self.total, self.done = on_progress, total, 0
        self.summary = TilingSummary(tileset=folder / "tileset.json")

    def build(
        self, entries: list[MeshEntry], address: str, depth: int
    ) -> tuple[dict[str, Any], np.ndarray]:
        """Return the tile JSON for ``entries`` and its local bounds ``[[min], [max]]``."""
        self.summary.tiles += 1
        triangles = sum(entry.triangles for entry in entries)
        fits = len(entries) <= self.options.max_features and triangles <= self.options.max_triangles
        groups = [] if fits or depth >= self.options.max_depth else _split(entries)
        if len(groups) < 2:
            return self._leaf(entries, address)
        children, boxes = [], []
        for index, group in enumerate(groups):
            child, box = self.build(group, f"{address}_{index}", depth + 1)
            children.append(child)
            boxes.append(box)
        bounds = np.array(
            [np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)]
        )
        error = max(float(np.linalg.norm(bounds[1] - bounds[0])), 1e-3)
        error = max([error] + [child["geometricError"] * 1.5 for child in children])
        return {
            "boundingVolume": {"box": _box(bounds)},
            "geometricError": error,
            "refine": "ADD",
            "children": children,
        }, bounds

    def _leaf(self, entries: list[MeshEntry], address: str) -> tuple[dict[str, Any], np.ndarray]:
        meshes = self.store.meshes(entry.object_id for entry in entries)
        features, low, high = [], np.full(3, np.inf), np.full(3, -np.inf)
        for entry in entries:
            parts = []
            for part in meshes.get(entry.object_id, []):
                local = self.frame.to_local(part.vertices)
                low, high = np.minimum(low, local.min(axis=0)), np.maximum(high, local.max(axis=0))
                parts.append((part.material, local, part.faces))
                self.summary.triangles += len(part.faces)
            properties = {"id": entry.object_id, "class": entry.cls, "name": entry.name}
            features.append(Feature(properties, parts))
        content = build_glb(features)
        uri = f"content/{address}.glb"
        (self.folder / uri).write_bytes(content)
        self.summary.content_files += 1
        self.summary.features += len(features)
        self.summary.bytes_written += len(content)
        self.done += len(entries)
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)
        bounds = np.array([low, high])
        return {
            "boundingVolume": {"box": _box(bounds)},
            "geometricError": 0.0,
            "content": {"uri": uri},
        }, bounds


def _split(entries: list[MeshEntry]) -> list[list[MeshEntry]]:
    """Split into up to four non-empty quadrants around the median of the box centres."""
    centres = np.array(
        [[(e.bounds[0] + e.bounds[3]) / 2, (e.bounds[1] + e.bounds[4]) / 2] for e in entries]
    )
    mid_x, mid_y = np.median(centres[:, 0]), np.median(centres[:, 1])
    quadrant = (centres[:, 0] > mid_x).astype(int) + 2 * (centres[:, 1] > mid_y).astype(int)
    groups = [[e for e, q in zip(entries, quadrant, strict=True) if q == k] for k in range(4)]
    groups = [group for group in groups if group]
    if len(groups) < 2 and len(entries) > 1:
        half = len(entries) // 2
        order = np.argsort(centres[:, 0] + centres[:, 1])
        groups = [[entries[i] for i in order[:half]], [entries[i] for i in order[half:]]]
    return groups


def _diagonal(tile: dict[str, Any]) -> float:
    """The length of the diagonal of a tile's box."""
    half = np.asarray(tile["boundingVolume"]["box"][3:], dtype=np.float64).reshape(3, 3)
    return float(2 * np.linalg.norm(half.sum(axis=0)))


def _box(bounds: np.ndarray) -> list[float]:
    """A 3D Tiles box (centre and three half axes) around axis-aligned ``bounds``."""
    centre = (bounds[0] + bounds[1]) / 2
    half = np.maximum((bounds[1] - bounds[0]) / 2, 0.01)
    return [*centre.tolist(), half[0], 0.0, 0.0, 0.0, half[1], 0.0, 0.0, 0.0, half[2]]
