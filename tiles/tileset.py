"""Writing a city as 3D Tiles: the plan, the content in parallel, the tileset JSON, the swap.

:func:`write_tileset` indexes the store (:mod:`cim.meshindex`), plans the tile tree
(:mod:`tiles.layout`), measures how far each BIM building's LODs lie from its elements
(:mod:`tiles.deviation`), draws every tile in worker processes (:mod:`tiles.content`),
then writes ``tileset.json`` (3D Tiles 1.1 with glb content, or 1.0 with b3dm) and the
manifest. Everything goes to a staging folder swapped in when complete, so a failed run
leaves the previous tiles in place; tiles whose inputs did not change are linked from the
previous run instead of being drawn again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from cim.crs import LocalFrame
from cim.layout import CityLayout
from cim.meshindex import MeshIndex
from cim.store import CityStore
from tiles import content
from tiles.deviation import kd_tree
from tiles.errors import NothingToTileError, TilesError
from tiles.folders import exclusive, swap_in
from tiles.layout import Limits, Tile, plan, root_square
from tiles.manifest import MANIFEST_FILE, build_manifest, load_previous
from tiles.workers import die_with_parent

log = logging.getLogger(__name__)
TILES_DIR = CityLayout.TILES
DEFAULT_EXCLUDED = ("IfcSpace", "IfcOpeningElement", "IfcAnnotation")
FORMATS = ("glb", "b3dm")
_ERROR_STEP = 0.001  # metres: a parent's geometric error exceeds its children's by this
_PARALLEL_FROM = 8  # tiles: fewer are drawn in this process...
# ...unless a building this large is measured: one worker measures it while the others draw
_LARGE_MEASURE = 20_000  # triangles of the building's elements
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class TilingOptions:
    """Limits of a tile, the classes left out, the content format and the parallelism."""

    max_features: int = 500
    max_coarse_features: int = 2_000
    max_triangles: int = 150_000
    max_depth: int = 16
    excluded_classes: tuple[str, ...] = DEFAULT_EXCLUDED
    content_format: str = "glb"
    quantize: bool = True
    compress: bool = True  # EXT_meshopt_compression on the views where it saves bytes
    workers: int = 0  # 0: one per CPU

    def __post_init__(self) -> None:
        if self.content_format not in FORMATS:
            raise TilesError(f"unknown tile format {self.content_format!r}: use glb or b3dm")
        if not 1 <= self.max_features <= 65_535 or not 1 <= self.max_coarse_features <= 65_535:
            raise TilesError("a tile holds between 1 and 65 535 features")


@dataclass
class TilingSummary:
    """What a tiling run wrote."""

    tileset: Path
    tiles: int = 0
    content_files: int = 0
    buildings: int = 0
    features: int = 0
    triangles: int = 0
    bytes_written: int = 0
    written: int = 0
    reused: int = 0
    removed: int = 0
    depth: int = 0
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
    """Tile ``store`` into ``<city>/tiles/``; return what was written."""
    options = options or TilingOptions()
    started = time.perf_counter()
    with exclusive(store.city_dir, f"a tiling of {store.city_dir}"):
        for stale in CityLayout(store.city_dir).stale_tile_indexes():  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)
        workdir = Path(tempfile.mkdtemp(prefix=CityLayout.TILES_INDEX_PREFIX, dir=store.city_dir))
        try:
            index, excluded = MeshIndex.build(store, workdir / "index.sqlite",
                                              options.excluded_classes)  # fmt: skip
            try:
                summary = _write(store, options, index, on_progress, started)
            finally:
                index.close()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    summary.excluded = excluded
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _write(
    store: CityStore,
    options: TilingOptions,
    index: MeshIndex,
    on_progress: Callable[[int, int], None] | None,
    started: float,
) -> TilingSummary:
    units, extent = index.unit_count(), index.centre_extent()
    log.info("indexed %d units in %.2f s", units, time.perf_counter() - started)
    if extent is None:
        raise NothingToTileError(f"{store.city_dir} has no geometry to tile: import a model first")
    final = CityLayout(store.city_dir).tiles
    previous = load_previous(final)
    square = root_square(extent, previous.square if previous else None)
    index.set_square(square, index.path)
    if previous is not None and previous.square == square and previous.origin is not None:
        origin = previous.origin
    else:
        origin = (square[0] + square[2] / 2, square[1] + square[2] / 2, index.lowest())
    limits = Limits(
        max_features=options.max_features,
        max_coarse_features=options.max_coarse_features,
        max_triangles=options.max_triangles,
        max_depth=options.max_depth,
    )
    root = plan(index, limits, square)
    tiles = root.walk()
    log.info("planned %d tiles at %.2f s", len(tiles), time.perf_counter() - started)
    staging = CityLayout(store.city_dir).tiles_staging
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "content").mkdir(parents=True)
    settings = content.Settings(
        store.city_dir, staging, final if previous else None,
        previous.files if previous else {}, origin, store.crs, index.path, limits.leaf,
        options.content_format, options.quantize, options.compress,
    )  # fmt: skip
    try:
        jobs = [_job(tile) for tile in tiles]
        measures = sorted({(b, u) for tile in tiles for u, b in tile.units if b is not None})
        large = sum(1 for _, unit in measures if index.unit_triangles(unit) >= _LARGE_MEASURE)
        workers = _workers(options, len(jobs), large)
        total, done = len(jobs) + len(measures), 0
        deviations: dict[str, dict[str, float]] = {}
        results: dict[str, content.TileResult] = {}
        # SciPy (the k-d tree of a large measure) is imported before the fork when every
        # worker will need it, else by the worker that does
        with _Runner(settings, workers, preload_scipy=large >= workers) as run:
            # both queued at once: the tiles are drawn while a large building is measured
            measured_buildings = run(content.measure_building, measures)
            drawn = run(content.write_tile, jobs)
            for building, measured in measured_buildings:
                deviations[building] = measured
                done += 1
                if on_progress:
                    on_progress(done, total)
            for result in drawn:
                results[result.address] = result
                done += 1
                if on_progress:
                    on_progress(done, total)
        log.info("drew %d tiles with %d workers at %.2f s", len(results), workers,
                 time.perf_counter() - started)  # fmt: skip
        tileset = _tileset_json(root, results, deviations, origin, store.crs, options)
        text = json.dumps(tileset, indent=1)
        (staging / CityLayout.TILESET).write_text(text)
        files = _files(results)
        reused = {r.uri for r in results.values() if r.uri and r.reused}
        manifest = build_manifest(square, origin, files, reused, text, previous)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, final)
    summary = _summary(final, results, manifest, units)
    summary.depth = _depth(root)
    return summary


def _depth(tile: Tile) -> int:
    return 1 + max((_depth(child) for child in tile.children), default=0)


def _job(tile: Tile) -> content.TileJob:
    if tile.kind == "full":
        cell = None if tile.cell is None else (tile.cell.low, tile.cell.high, tile.cell.small_only)
        return content.TileJob(tile.address, "full", tile.objects, cell=cell)
    buildings = tuple(b for _, b in tile.units if b is not None)
    standalone = np.array([u for u, b in tile.units if b is None], dtype=np.int64)
    return content.TileJob(tile.address, tile.kind, standalone, buildings)


def _workers(options: TilingOptions, jobs: int, large_measures: int) -> int:
    if options.workers:
        return options.workers
    parallel = jobs >= _PARALLEL_FROM or (large_measures > 0 and jobs > 0)
    return (os.cpu_count() or 1) if parallel else 1


class _Runner:
    """Runs a function over jobs here (one worker) or in a process pool whose workers die
    with this process (:mod:`tiles.workers`)."""

    def __init__(self, settings: content.Settings, workers: int, preload_scipy: bool) -> None:
        self.settings, self.workers = settings, workers
        self.preload_scipy = preload_scipy
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Callable[[Callable[[_T], _R], Iterable[_T]], Iterator[_R]]:
        if self.workers > 1:
            if self.preload_scipy:
                kd_tree()  # imported once here rather than in every forked worker
            method = "fork" if threading.current_thread() is threading.main_thread() else "spawn"
            self.pool = ProcessPoolExecutor(
                self.workers, multiprocessing.get_context(method),
                initializer=_start_pool_worker, initargs=(self.settings, os.getpid()),
            )  # fmt: skip
        else:
            content.start_worker(self.settings)
        return self.run

    def run(self, function: Callable[[_T], _R], jobs: Iterable[_T]) -> Iterator[_R]:
        """The results of ``function`` over ``jobs``, in order; a pool queues every job at
        once, so that the jobs of two calls run side by side."""
        items = list(jobs)
        if self.pool is None:
            return map(function, items)
        chunk = max(1, min(16, len(items) // (self.workers * 8)))
        return self.pool.map(function, items, chunksize=chunk)

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        else:
            content.stop_worker()


def _start_pool_worker(settings: content.Settings, parent: int) -> None:
    """A pool worker's start: bound to its parent's life, then ready to draw."""
    die_with_parent(parent)
    content.start_worker(settings)


def _tileset_json(
    root: Tile,
    results: dict[str, content.TileResult],
    deviations: dict[str, dict[str, float]],
    origin: tuple[float, float, float],
    crs: str,
    options: TilingOptions,
) -> dict[str, Any]:
    root_json, _, _ = _tile_json(root, results, deviations)
    frame = LocalFrame(crs, origin)
    half_axes = np.asarray(root_json["boundingVolume"]["box"][3:]).reshape(3, 3)
    diagonal = 2 * float(np.linalg.norm(half_axes.sum(axis=0)))
    version = "1.0" if options.content_format == "b3dm" else "1.1"
    return {
        "asset": {"version": version, "generator": "CIMTwin"},
        # the error of not drawing the city at all: never less than its size
        "geometricError": max(root_json["geometricError"] * 2, diagonal),
        "root": {**root_json, "transform": frame.to_ecef_matrix().T.ravel().tolist()},
    }


def _tile_json(
    tile: Tile, results: dict[str, content.TileResult], deviations: dict[str, dict[str, float]]
) -> tuple[dict[str, Any], np.ndarray, float]:
    """The JSON of ``tile`` and its subtree, its bounds ``[[min], [max]]`` and error."""
    result = results[tile.address]
    children = [_tile_json(child, results, deviations) for child in tile.children]
    boxes = [bounds for _, bounds, _ in children]
    if result.low is not None and result.high is not None:
        boxes.append(np.array([result.low, result.high]))
    bounds = np.array(
        [np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)]
    )
    error = 0.0
    if tile.kind != "full":
        drawn = [deviations.get(b, {}).get(tile.kind, deviations.get(b, {}).get("LOD1", 0.0))
                 for b in result.buildings]  # fmt: skip
        error = max([result.deviation, tile.dropped_size, *drawn])
    if children:
        error = max(error, max(e for _, _, e in children) + _ERROR_STEP)
    entry: dict[str, Any] = {"boundingVolume": {"box": _box(bounds)}, "geometricError": error,
                             "refine": "REPLACE"}  # fmt: skip
    if result.uri:
        entry["content"] = {"uri": result.uri}
    if children:
        entry["children"] = [c for c, _, _ in children]
    return entry, bounds, error


def _files(results: dict[str, content.TileResult]) -> dict[str, dict[str, Any]]:
    return {
        r.uri: {
            "key": r.key,
            "bytes": r.bytes,
            "features": r.features,
            "triangles": r.triangles,
            "low": r.low,
            "high": r.high,
            "deviation": r.deviation,
        }
        for r in results.values()
        if r.uri
    }


def _summary(
    final: Path, results: dict[str, content.TileResult], manifest: dict[str, Any], units: int
) -> TilingSummary:
    with_content = [r for r in results.values() if r.uri]
    return TilingSummary(
        tileset=final / CityLayout.TILESET,
        tiles=len(results),
        content_files=len(with_content),
        buildings=units,
        features=sum(r.features for r in with_content),
        triangles=sum(r.triangles for r in with_content),
        bytes_written=sum(r.bytes for r in with_content if not r.reused),
        written=len(manifest["changes"]["written"]),
        reused=manifest["changes"]["kept"],
        removed=len(manifest["changes"]["removed"]),
    )


def _box(bounds: np.ndarray) -> list[float]:
    """A 3D Tiles box (centre and three half axes) around axis-aligned ``bounds``."""
    centre = (bounds[0] + bounds[1]) / 2
    half = np.maximum((bounds[1] - bounds[0]) / 2, 0.01)
    return [*centre.tolist(), half[0], 0.0, 0.0, 0.0, half[1], 0.0, 0.0, 0.0, half[2]]
