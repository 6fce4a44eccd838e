"""How fast the flood core fills a large DEM, to a level and to a volume, and its memory.

Usage::

    .venv/bin/python bench/bench_flood.py [--size 4000] [--repeat 1] [--seed 7]

It makes a seeded synthetic DEM of ``--size`` x ``--size`` cells of 2 m (rolling hills
with hollows over a regional slope: many basins, so connectivity matters) and times, best
of ``--repeat``:

- level mode: :func:`simulation.models.flood_fill.flood_at_level` at the median height,
  from the lowest edge cell (depth raster, flooded and low masks, areas, volumes);
- volume mode: :func:`simulation.models.flood_fill.level_for_volume` for the volume that
  level stores (the level found, the iterations it took);

then the peak memory of each (``tracemalloc``, in a second, untimed call) and the process's
peak RSS. The peer, when pyflwdir is installed (``pip install cimtwin[bench]``), is its
priority-flood ``fill_depressions`` from the same outlet (the lowest level at which each
cell joins the water) thresholded at the level, and for the volume the filled surface's
cells sorted by that level; its flooded cells must equal ours. Its JIT is warmed up on a
small grid first.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import own_peak_mb

from simulation.models.flood_fill import (
    edge_source,
    flood_at_level,
    level_for_volume,
    row_areas,
)

CELL = 2.0


def synthetic_dem(size: int, seed: int) -> np.ndarray:
    """Hills and hollows (about 40 across the grid) over a slope falling to the south-west."""
    rng = np.random.default_rng(seed)
    coarse = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 1.5) * 40.0
    hills = ndimage.zoom(coarse, size / 64, order=1)[:size, :size]
    rows, cols = np.mgrid[0:size, 0:size] / size
    return (100.0 + 30.0 * (1 - rows) + 30.0 * cols + hills).astype(np.float64)


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """The fastest of ``repeat`` calls: wall and CPU seconds, and its result.

    The CPU seconds (this process's) say how much of the wall time was the work's own on
    a machine shared with other jobs.
    """
    best, cpu, result = float("inf"), 0.0, None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work()
        wall = time.perf_counter() - started
        if wall < best:
            best, cpu = wall, time.process_time() - started_cpu
    return best, cpu, result


def peak_mib(work: Callable[[], Any]) -> float:
    """The peak of memory traced while ``work`` runs, in MiB."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def peer(
    dem: np.ndarray, source: np.ndarray
) -> tuple[Callable[[float], np.ndarray], Callable[[float], float]]:
    """pyflwdir's equivalent: the filled surface from the same outlet, thresholded at a
    level, or its cells sorted by the level at which they join the water for a volume."""
    from pyflwdir.dem import fill_depressions

    outlet = np.flatnonzero(source.ravel())
    fill_depressions(dem[:8, :8].copy(), idxs_pit=np.array([0]), nodata=np.nan)  # JIT warm-up

    def flooded(level: float) -> np.ndarray:
        filled: np.ndarray = fill_depressions(dem, idxs_pit=outlet, nodata=np.nan)[0]
        return filled < level

    def level_for(volume: float) -> float:
        filled = fill_depressions(dem, idxs_pit=outlet, nodata=np.nan)[0]
        joins = np.sort(filled, axis=None)
        heights = dem.ravel()[np.argsort(filled, axis=None)]
        stored = (np.arange(1, joins.size + 1) * joins - np.cumsum(heights)) * CELL * CELL
        count = max(int(np.searchsorted(stored, volume)), 1)
        return float((volume / (CELL * CELL) + heights[:count].sum()) / count)

    return flooded, level_for


def timed(label: str, wall: float, cpu: float, what: str) -> str:
    """One line of the report: a step, its wall and CPU seconds, what it found."""
    return f"{label:44} {wall:7.2f} s (CPU {cpu:6.2f} s)  {what}"


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; return its figures (seconds, MiB) by name."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    dem = synthetic_dem(args.size, args.seed)
    areas = row_areas(args.size, CELL, CELL)
    source = edge_source(dem)
    level = float(np.median(dem))
    print(
        f"DEM {args.size} x {args.size} cells of {CELL:g} m (seed {args.seed}),"
        f" heights {dem.min():.1f}..{dem.max():.1f} m, level {level:.2f} m"
    )
    figures: dict[str, float] = {}
    wall, cpu, flood = best_of(args.repeat, lambda: flood_at_level(dem, level, source, areas))
    figures["level s"], figures["level CPU s"] = wall, cpu
    found_text = (
        f"flooded {flood.area_m2 / 1e6:.3f} km², {flood.volume_m3:.4g} m³,"
        f" low areas apart {flood.low_area_m2 / 1e6:.3f} km²"
    )
    print(timed("level mode (flood_at_level)", wall, cpu, found_text))
    target = flood.volume_m3
    wall, cpu, found = best_of(args.repeat, lambda: level_for_volume(dem, target, source, areas))
    figures["volume s"], figures["volume CPU s"] = wall, cpu
    found_text = f"level {found.level:.4f} m, stored {found.volume_m3 / target - 1:+.1e} off"
    print(timed("volume mode (level_for_volume)", wall, cpu, found_text))
    figures["level MiB"] = peak_mib(lambda: flood_at_level(dem, level, source, areas))
    figures["volume MiB"] = peak_mib(lambda: level_for_volume(dem, target, source, areas))
    print(
        f"memory traced: level {figures['level MiB']:.0f} MiB, volume"
        f" {figures['volume MiB']:.0f} MiB (the DEM itself: {dem.nbytes / 2**20:.0f} MiB)"
    )
    if importlib.util.find_spec("pyflwdir") is None:
        print("peer: none, pyflwdir is not installed (pip install cimtwin[bench])")
    else:
        peer_flooded, peer_level_for = peer(dem, source)
        wall, cpu, mask = best_of(args.repeat, lambda: peer_flooded(level))
        figures["peer level s"], figures["peer level CPU s"] = wall, cpu
        same = bool(np.array_equal(mask, flood.flooded))
        ratio = figures["level s"] / wall
        print(timed("peer pyflwdir fill_depressions + threshold", wall, cpu,
                    f"ours x{ratio:.2f} its time; same flooded cells: {same}"))  # fmt: skip
        wall, cpu, peer_level = best_of(args.repeat, lambda: peer_level_for(target))
        figures["peer volume s"], figures["peer volume CPU s"] = wall, cpu
        ratio = figures["volume s"] / wall
        print(timed("peer pyflwdir fill_depressions + sorted", wall, cpu,
                    f"ours x{ratio:.2f} its time; level {peer_level:.4f} m"))  # fmt: skip
    figures["peak RSS MiB"] = own_peak_mb()
    print(f"process peak RSS {figures['peak RSS MiB']:.0f} MiB")
    return figures


if __name__ == "__main__":
    main()
