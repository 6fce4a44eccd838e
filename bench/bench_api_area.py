"""Cost of a request area: clipped to the city first (``cim.area``) against reprojecting it whole.

Usage::

    .venv/bin/python bench/bench_api_area.py [--sizes 0.01 1 10 90] [--timeout 120]

A box of ``size`` degrees on each side around a 2 km city in Guangzhou (EPSG:4547), clamped
to the CRS84 range, is carried into the city CRS in a fresh child process per measurement
(so each peak RSS is its own), two ways:

- ``whole``: what the objects query and the statistics did before ``cim.area``: densify the
  whole box every 0.0005 degrees, reproject every vertex, then use it;
- ``clipped``: :func:`cim.area.bbox_area`: check, clip to the city's extent in degrees,
  densify and reproject what is left, clip exactly in metres.

Both then test the same 1 000 building centres against the area (prepared), as the
statistics do. Prints one line per size: seconds and peak MiB of each, and the ratio
whole/clipped measured in the same run. The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import measure, own_peak_mb

CRS = "EPSG:4547"
CENTRE = (430_800.0, 2_557_900.0)
HALF_SIDE = 1_000.0  # metres
CENTRES = 1_000


def _run_one(method: str, size: float) -> None:
    import numpy as np
    import shapely

    from cim.area import CityExtent, bbox_area
    from cim.crs import transform_arrays

    x, y = CENTRE
    city = CityExtent(CRS, (x - HALF_SIDE, y - HALF_SIDE, x + HALF_SIDE, y + HALF_SIDE))
    lon, lat = (
        float(v[0]) for v in transform_arrays(CRS, "EPSG:4326", np.array([x]), np.array([y]))
    )
    half = size / 2
    box = [
        max(-180.0, lon - half),
        max(-90.0, lat - half),
        min(180.0, lon + half),
        min(90.0, lat + half),
    ]
    rng = np.random.default_rng(1)
    points = shapely.points(rng.uniform(x - HALF_SIDE, x + HALF_SIDE, (CENTRES, 2)))
    transform_arrays("EPSG:4326", CRS, np.array([lon]), np.array([lat]))  # transformers built
    started = time.perf_counter()
    if method == "whole":
        dense = shapely.segmentize(shapely.box(*box), 0.0005)

        def move(p: np.ndarray) -> np.ndarray:
            return np.column_stack(transform_arrays("EPSG:4326", CRS, p[:, 0], p[:, 1]))

        area = shapely.transform(dense, move)
    else:
        area = bbox_area(box, city)
    shapely.prepare(area)
    inside = int(shapely.contains(area, points).sum())
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "vertices": int(shapely.get_num_coordinates(area)),
                      "inside": inside, "peak_mb": own_peak_mb()}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.01, 1.0, 10.0, 90.0, 360.0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _run_one(args.one[0], float(args.one[1]))
        return
    print(
        f"{'size deg':>9} {'whole s':>9} {'whole MB':>9} {'clip s':>9} {'clip MB':>8} {'ratio':>7}"
    )
    for size in args.sizes:
        found = {}
        for method in ("whole", "clipped"):
            command = [sys.executable, __file__, "--one", method, str(size)]
            result = measure(command, timeout=args.timeout)
            found[method] = result.get("output") or {}
        whole, clipped = found["whole"], found["clipped"]
        if not whole or not clipped:
            print(f"{size:>9} failed: {found}")
            continue
        ratio = whole["seconds"] / max(clipped["seconds"], 1e-9)
        print(f"{size:>9g} {whole['seconds']:>9.3f} {whole['peak_mb']:>9.0f}"
              f" {clipped['seconds']:>9.4f} {clipped['peak_mb']:>8.0f} {ratio:>7.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
