"""Sun hours at every sill point of 1 000 residential buildings over the Major Cold day.

Usage::

    .venv/bin/python bench/bench_sunlight.py [--buildings 1000] [--step 1] [--spacing 1]
        [--latitude 39.9] [--longitude 116.4] [--all-floors] [--seed 15]

A seeded grid of blocks (rows of slab buildings, 10-14 m deep, 30-60 m long, 3 to 18
storeys of 3 m, 20-50 m apart north to south), every building residential; sill points
1 m apart along each face, 0.9 m above the ground floor (``--all-floors``: every floor);
the Major Cold day's window (8:00-16:00 true solar time) at ``--step``-minute steps; every
building an obstacle. It prints one JSON line: seconds (the sun's path, the points and the
shading apart), sill points (all, and those on faces the rule is read at: the others
never face the sun long enough), steps, checked point-steps per second, the homes failing
2 h, and the process's peak memory. The aim is under 60 s at 1-minute steps. No peer
exists in Python to measure beside it (the commercial planning tools publish no figures).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulation.models.sun_hours import prism_edges
from simulation.models.sun_position import rule_sun_path
from simulation.models.sun_rule import FAIL, RuleSettings, assess
from simulation.models.sun_sills import Home

STOREY = 3.0


def synthetic_homes(count: int, seed: int) -> list[Home]:
    """``count`` slab buildings in rows, seeded: varied lengths, depths, gaps and heights."""
    rng = np.random.default_rng(seed)
    per_row = max(1, int(np.sqrt(count)))
    homes: list[Home] = []
    y = 0.0
    while len(homes) < count:
        x = 0.0
        depth = float(rng.uniform(10.0, 14.0))
        for _ in range(min(per_row, count - len(homes))):
            length = float(rng.uniform(30.0, 60.0))
            floors = int(rng.integers(3, 19))
            homes.append(Home(box(x, y, x + length, y + depth), 0.0, floors, STOREY))
            x += length + float(rng.uniform(12.0, 25.0))
        y += depth + float(rng.uniform(20.0, 50.0))
    return homes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--spacing", type=float, default=1.0)
    parser.add_argument("--latitude", type=float, default=39.9)
    parser.add_argument("--longitude", type=float, default=116.4)
    parser.add_argument("--all-floors", action="store_true")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    started = time.perf_counter()
    date, _, path = rule_sun_path("major_cold", 2026, args.latitude, args.longitude, args.step)
    sun_seconds = time.perf_counter() - started
    homes = synthetic_homes(args.buildings, args.seed)
    edges = prism_edges(
        [home.footprint for home in homes], [home.base + home.floors * STOREY for home in homes]
    )
    empty = prism_edges([], [])
    settings = RuleSettings(required_hours=2.0, spacing=args.spacing, all_floors=args.all_floors)
    began = time.perf_counter()
    assessment = assess(homes, edges, empty, path, settings)
    assess_seconds = time.perf_counter() - began
    verdicts = assessment.verdicts(range(len(homes)), len(homes))
    points = assessment.points.size
    checked = int(assessment.checked[assessment.points.face].sum())
    print(
        json.dumps(
            {
                "buildings": len(homes),
                "date": date.isoformat(),
                "sill_points": points,
                "checked_points": checked,
                "steps": path.size,
                "step_minutes": round(path.step_minutes, 4),
                "sun_path_s": round(sun_seconds, 3),
                "hours_s": round(assess_seconds, 2),
                "total_s": round(time.perf_counter() - started, 2),
                "checked_point_steps_per_s": round(checked * path.size / assess_seconds),
                "failing_homes": verdicts.count(FAIL),
                "checked_homes": sum(v is not None for v in verdicts),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "aim_s": 60,
                "peer": None,
            }
        )
    )


if __name__ == "__main__":
    main()
