"""Generate a city of N LOD1 buildings into a new city store, streamed in batches.

Usage::

    .venv/bin/python bench/generate_city.py OUT_DIR --buildings 100000 [--seed 0]
        [--batch 20000] [--json FILE]

The city lies in EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E) around Guangzhou
Tianhe (E 430 000, N 2 557 000): a grid of street blocks (20 m streets, 40 m avenues every
fourth street), each block split into two rows of lots facing the streets, one building
per lot (some lots and blocks stay empty: squares, parks). Footprints are rectangles or
L shapes of 8 to 60 m; heights run from 3 to 150 m, log-normal around a median that falls
with the distance from the centre. Each building has the attributes ``use``
(residential, commercial, office, industrial, public), ``year`` (1950-2024), ``levels``,
``height`` and ``height_source``, like a GIS building of :mod:`cim.gis`: class
``building``, id ``buildings:<n>``, base 0, top its height, its footprint, and one LOD1
mesh part (a closed prism) of one material.

Blocks are visited in order of their distance from the centre and each block draws from
its own random stream (seeded by ``seed`` and its grid position), so a city of N buildings
is the centre of a city of more buildings with the same seed. Buildings are written in
separate transactions of ``--batch`` buildings, so memory stays bounded whatever N is.
It prints the time spent making the geometry, in the writer's ``add_object`` and
``add_mesh`` calls, and in the commits, and, last, one JSON line with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from cim.model import CityObject, Material, MeshPart
from cim.store import CityStore

CRS = "EPSG:4547"
ORIGIN = (430000.0, 2557000.0)
LAYER = "buildings"
SOURCE = f"generated-city#{LAYER}"
CLASS = "building"
MATERIAL = Material("gis-building", (0.80, 0.78, 0.74, 1.0))
USES = ("residential", "commercial", "office", "industrial", "public")
# shares of each use in the centre and far out; a block mixes them by its distance
USE_CENTRE = np.array([0.25, 0.30, 0.35, 0.03, 0.07])
USE_OUTSKIRTS = np.array([0.60, 0.10, 0.03, 0.20, 0.07])

BLOCK_W, BLOCK_D = 180.0, 130.0  # block size inside its streets (east, north)
STREET, AVENUE, AVENUE_EVERY = 20.0, 40.0, 4
ROW_DEPTH = BLOCK_D / 2  # two rows of lots per block, back to back
MIN_SIDE, MAX_SIDE = 8.0, 60.0
MIN_HEIGHT, MAX_HEIGHT = 3.0, 150.0
STOREY = 3.2
EMPTY_BLOCK, EMPTY_LOT, L_SHAPED = 0.03, 0.08, 0.3
EXPECTED_PER_BLOCK = 9.0  # a low guess: the block list grows when it runs out


@dataclass(frozen=True)
class Building:
    """One generated building: footprint ring (counter-clockwise) and attributes."""

    number: int
    ring: np.ndarray  # (n, 2), counter-clockwise; vertex 0 sees every other vertex
    height: float
    use: str
    year: int
    levels: int


@dataclass
class Timing:
    """Where the seconds of a generation went."""

    geometry: float = 0.0
    writer: float = 0.0
    commits: list[float] = field(default_factory=list)


def block_origin(bx: int, by: int) -> tuple[float, float]:
    """South-west corner of block ``(bx, by)`` relative to the city origin (metres)."""
    x = bx * (BLOCK_W + STREET) + (bx // AVENUE_EVERY) * (AVENUE - STREET)
    y = by * (BLOCK_D + STREET) + (by // AVENUE_EVERY) * (AVENUE - STREET)
    return x, y


def blocks(radius: int) -> Iterator[tuple[int, int]]:
    """Grid positions within ``radius`` blocks of the centre, nearest first (stable order)."""
    span = np.arange(-radius, radius + 1)
    bx, by = (a.ravel() for a in np.meshgrid(span, span))
    distance = np.hypot(bx * (BLOCK_W + STREET), by * (BLOCK_D + STREET))
    order = np.lexsort((by, bx, np.arctan2(by, bx), distance))
    for index in order:
        yield int(bx[index]), int(by[index])


def _ring(width: float, depth: float, cut: tuple[float, float] | None) -> np.ndarray:
    """A rectangle, or an L shape with its north-east corner cut, from ``(0, 0)``.

    The L's ring starts at its reflex corner, from which a fan covers the polygon.
    """
    if cut is None:
        return np.array([[0.0, 0.0], [width, 0.0], [width, depth], [0.0, depth]])
    cw, cd = cut
    return np.array(
        [[width - cw, depth - cd], [width - cw, depth], [0.0, depth], [0.0, 0.0],
         [width, 0.0], [width, depth - cd]]
    )  # fmt: skip


def block_buildings(seed: int, bx: int, by: int) -> Iterator[tuple[np.ndarray, float, str, int]]:
    """Footprint ring (city CRS), height, use and year of every building of one block."""
    rng = np.random.default_rng([seed, bx + 2**20, by + 2**20])
    if rng.random() < EMPTY_BLOCK:
        return
    x0, y0 = block_origin(bx, by)
    cx, cy = x0 + BLOCK_W / 2, y0 + BLOCK_D / 2
    distance = math.hypot(cx, cy)
    centre = math.exp(-distance / 3000.0)  # 1 in the centre, towards 0 far out
    median = 9.0 + 60.0 * centre
    shares = centre * USE_CENTRE + (1 - centre) * USE_OUTSKIRTS
    low_width, high_width = 16.0 + 10.0 * centre, 40.0 + 20.0 * centre  # lots widen centrally
    for row in (0, 1):
        widths = rng.uniform(low_width, high_width, 16)
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        lots = int(np.searchsorted(edges, BLOCK_W, side="right")) - 1
        if lots == 0:
            continue
        edges = edges[: lots + 1] * (BLOCK_W / edges[lots])  # stretch to fill the block
        draws = rng.random((lots, 10))
        normals = rng.standard_normal((lots, 2))
        heights = np.clip(median * np.exp(0.55 * normals[:, 0]), MIN_HEIGHT, MAX_HEIGHT).round(1)
        uses = np.searchsorted(np.cumsum(shares) / shares.sum(), draws[:, 8]).clip(0, 4)
        years = 1985 + 25 * centre + 10 * (heights > 60) + 15 * normals[:, 1]
        years = years.round().clip(1950, 2024).astype(int)
        for lot in range(lots):
            d = draws[lot]
            if d[0] < EMPTY_LOT:
                continue
            lot_w = edges[lot + 1] - edges[lot]
            setback = 2.0 + 4.0 * d[1]
            width = min(max(lot_w - 2 * setback, MIN_SIDE), MAX_SIDE)
            depth = MIN_SIDE + (min(ROW_DEPTH - 2 * setback, MAX_SIDE) - MIN_SIDE) * d[2]
            cut = None
            if d[3] < L_SHAPED and width >= 2 * MIN_SIDE and depth >= 2 * MIN_SIDE:
                cut = (width * (0.3 + 0.3 * d[4]), depth * (0.3 + 0.3 * d[5]))
            ring = _ring(width, depth, cut)
            if d[6] < 0.5:  # cut another corner: mirror east-west, keep counter-clockwise
                ring[:, 0] = width - ring[:, 0]
                ring = np.concatenate([ring[:1], ring[:0:-1]])
            x = ORIGIN[0] + x0 + edges[lot] + (lot_w - width) * (0.3 + 0.4 * d[7])
            y = ORIGIN[1] + (y0 + setback if row == 0 else y0 + BLOCK_D - setback - depth)
            ring += (x, y)
            yield ring, float(heights[lot]), USES[uses[lot]], int(years[lot])


def generate(count: int, seed: int) -> Iterator[Building]:
    """The first ``count`` buildings of the city of ``seed``, nearest blocks first."""
    number, radius, seen = 0, max(2, math.ceil(math.sqrt(count / EXPECTED_PER_BLOCK / 3))), set()
    while True:
        for position in blocks(radius):
            if position in seen:
                continue
            seen.add(position)
            for ring, height, use, year in block_buildings(seed, *position):
                if number == count:
                    return
                levels = max(1, round(height / STOREY))
                yield Building(number, ring, height, use, year, levels)
                number += 1
        radius *= 2  # rare: the guess of buildings per block was too high


def prism_faces(n: int) -> np.ndarray:
    """Faces of a closed prism over a ring of ``n`` vertices (bottom 0..n-1, top n..2n-1).

    Caps are fans from vertex 0, walls two triangles per edge, all facing outwards.
    """
    fan = np.array([[0, i, i + 1] for i in range(1, n - 1)])
    edge = np.arange(n)
    following = (edge + 1) % n
    walls = np.concatenate(
        [
            np.column_stack([edge, following, following + n]),
            np.column_stack([edge, following + n, edge + n]),
        ]
    )
    return np.concatenate([fan + n, fan[:, ::-1], walls]).astype(np.uint32)


_FACES = {4: prism_faces(4), 6: prism_faces(6)}


def lod1(building: Building) -> MeshPart:
    """The building's footprint extruded from 0 to its height."""
    n = len(building.ring)
    vertices = np.empty((2 * n, 3))
    vertices[:n, :2] = vertices[n:, :2] = building.ring
    vertices[:n, 2], vertices[n:, 2] = 0.0, building.height
    return MeshPart(MATERIAL, vertices, _FACES[n])


def city_object(building: Building) -> CityObject:
    """The city object of a building, as :mod:`cim.gis` writes a GIS building."""
    attributes: dict[str, Any] = {
        "use": building.use,
        "year": building.year,
        "levels": building.levels,
        "height": building.height,
        "height_source": "height",
    }
    return CityObject(
        id=f"{LAYER}:{building.number}", cls=CLASS, source=SOURCE, attributes=attributes,
        footprint=shapely.Polygon(building.ring), base_height=0.0, top_height=building.height,
    )  # fmt: skip


def own_peak_mb() -> float:
    """Peak RSS of this process (``VmHWM``), in MiB; NaN off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def write_city(
    out: Path, count: int, seed: int = 0, batch: int = 20_000, verbose: bool = False
) -> dict[str, Any]:
    """Create a city in ``out`` holding ``count`` generated buildings; return the figures."""
    if count < 1 or batch < 1:
        raise ValueError("buildings and batch must be >= 1")
    started = time.perf_counter()
    timing, triangles, written = Timing(), 0, 0
    store = CityStore.create(out, CRS)
    buildings = generate(count, seed)
    try:
        while written < count:
            with store.transaction() as writer:
                for _ in range(min(batch, count - written)):
                    tick = time.perf_counter()
                    building = next(buildings)
                    obj, part = city_object(building), lod1(building)
                    tock = time.perf_counter()
                    writer.add_object(obj)
                    writer.add_mesh(obj.id, [part])
                    timing.geometry += tock - tick
                    timing.writer += time.perf_counter() - tock
                    triangles += len(part.faces)
                    written += 1
                if written == count:
                    report = {"buildings": count, "seed": seed, "generator": "generate_city.py"}
                    writer.record_source(SOURCE, "", "", "generated", report)
                commit = time.perf_counter()
            timing.commits.append(time.perf_counter() - commit)
            if verbose:
                print(
                    f"{written:9d} buildings  {time.perf_counter() - started:8.1f} s"
                    f"  commit {timing.commits[-1]:6.2f} s  peak {own_peak_mb():6.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        store.close()
    seconds = time.perf_counter() - started
    return {
        "buildings": count,
        "triangles": triangles,
        "seconds": round(seconds, 3),
        "buildings_per_s": round(count / seconds, 1),
        "geometry_s": round(timing.geometry, 3),
        "writer_s": round(timing.writer, 3),
        "writer_us_per_building": round(1e6 * timing.writer / count, 1),
        "commit_s": round(sum(timing.commits), 3),
        "last_commit_s": round(timing.commits[-1], 3),
        "batches": len(timing.commits),
        "peak_mb": round(own_peak_mb(), 1),
        "store_bytes": (out / "city.gpkg").stat().st_size,
    }


def main(argv: list[str]) -> None:
    """Parse the command line, write the city, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a new city folder")
    parser.add_argument("--buildings", type=int, default=100_000, help="number of buildings")
    parser.add_argument("--seed", type=int, default=0, help="seed of the layout")
    parser.add_argument("--batch", type=int, default=20_000, help="buildings per transaction")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    figures = write_city(args.out, args.buildings, args.seed, args.batch, not args.quiet)
    figures |= {"seed": args.seed, "batch": args.batch}
    print(
        f"{figures['buildings']} buildings, {figures['triangles']} triangles in"
        f" {figures['seconds']:.1f} s ({figures['buildings_per_s']:.0f}/s): geometry"
        f" {figures['geometry_s']:.1f} s, writer {figures['writer_s']:.1f} s"
        f" ({figures['writer_us_per_building']:.0f} us/building), commits"
        f" {figures['commit_s']:.1f} s (last {figures['last_commit_s']:.2f} s);"
        f" peak {figures['peak_mb']:.0f} MB, store {figures['store_bytes'] / 1e6:.0f} MB"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
