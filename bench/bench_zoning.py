"""The zoning checks over a generated district: seconds and peak memory.

Usage::

    .venv/bin/python bench/bench_zoning.py [--blocks 20]

A grid of ``--blocks`` x ``--blocks`` blocks of four 50 m parcels, one building per parcel
(a random footprint, height and storeys) and a lawn along its edge, streets between the
blocks and four zones (one per quadrant, with limits some objects break) go straight to
:func:`simulation.models.zoning.check_all` and
:func:`~simulation.models.zoning.build_result` (no store: the store's reads are the GIS
benchmarks' business). Prints one JSON line: objects checked, violations, seconds of the
checks and of the result, peak RSS. No peer publishes this figure.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from shapely.geometry import LineString, box

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import resource

from cim.model import CityObject
from cim.results import no_progress
from simulation.models.zoning import CityFacts, ZoningParameters, build_result, check_all
from simulation.models.zoning_checks import Building, Zone

BLOCK, STREET = 120.0, 20.0


def district(blocks: int, seed: int = 7) -> CityFacts:
    """The generated district's zones, buildings, parcels and roads."""
    rng = random.Random(seed)
    size = blocks * BLOCK
    half = size / 2
    inner = (BLOCK - STREET) / 2
    parcels: list[CityObject] = []
    buildings: list[Building] = []
    greens = []
    for i in range(blocks):
        for j in range(blocks):
            for dx in (0.0, inner):
                for dy in (0.0, inner):
                    x, y = i * BLOCK + STREET / 2 + dx, j * BLOCK + STREET / 2 + dy
                    number = len(parcels)
                    footprint = box(x, y, x + inner, y + inner)
                    parcels.append(CityObject(f"parcels:{number}", "parcel", footprint=footprint))
                    greens.append(box(x, y, x + inner, y + rng.uniform(2, 20)))  # a lawn
                    w, d = rng.uniform(14, 34), rng.uniform(12, 30)
                    bx, by = (
                        rng.uniform(x + 2, x + inner - 2 - w),
                        rng.uniform(y + 2, y + inner - 2 - d),
                    )
                    storeys = rng.choice([3, 5, 8, 12, 18, 25, 32])
                    buildings.append(Building(f"buildings:{number}", box(bx, by, bx + w, by + d),
                                              storeys * 3.0, w * d * storeys))  # fmt: skip
    lines = [i * BLOCK for i in range(blocks + 1)]
    roads = [LineString([(v, 0), (v, size)]).buffer(3) for v in lines]
    roads += [LineString([(0, v), (size, v)]).buffer(3) for v in lines]
    zones = [
        Zone(f"zones:{k}", box(x0, y0, x0 + half, y0 + half), f"Z{k}", 60.0 + 20 * k, 6.0 + k,
             0.4, 0.3, 3.0)
        for k, (x0, y0) in enumerate(((0, 0), (half, 0), (0, half), (half, half)))
    ]  # fmt: skip
    return CityFacts(zones, buildings, {}, parcels, roads, greens)


def main() -> None:
    """Run the checks once on the generated district and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()
    facts = district(args.blocks)
    params = ZoningParameters.model_validate({})
    started = time.perf_counter()
    checks = check_all(facts, params, no_progress)
    checked = time.perf_counter()
    result = build_result(facts, checks, params, "EPSG:4547")
    done = time.perf_counter()
    print(json.dumps({
        "buildings": len(facts.buildings), "parcels": len(facts.parcels),
        "checks": len(checks), "violations": result.summary["violations"],
        "checks_seconds": round(checked - started, 3), "result_seconds": round(done - checked, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
