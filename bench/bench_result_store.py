"""Storing and drawing a simulation run: the result store's save and read-back, and the
coloured PNG overlay the viewer drapes, against GDAL's own tools on the same raster.

Usage::

    .venv/bin/python bench/bench_result_store.py [--size 2000] [--features 5000] [--runs 3]

A run holds one ``--size`` x ``--size`` float32 raster (a third NaN) in EPSG:4547 and a
vector layer of ``--features`` squares. Printed: the median milliseconds of ``--runs``
saves (GeoTIFF + GeoPackage + JSON, renamed into place), raster and vector read-backs, and
the overlay (reprojection to EPSG:4326 + colouring + PNG). The peer of the overlay is
``gdalwarp`` to EPSG:4326 then ``gdaldem color-relief -alpha`` to PNG on the same GeoTIFF,
run as commands in the same session (skipped when GDAL's tools are not installed).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box

from api.raster_colours import overlay, stops_for
from cim.result_store import ResultStore
from cim.results import Feature, RasterLayer, SimulationResult, VectorLayer
from cim.scope import Scope

CRS = "EPSG:4547"
ORIGIN = (430000.0, 2558000.0)


def result(size: int, features: int) -> SimulationResult:
    """A run with one raster and one vector layer."""
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float32)
    depth = np.where(rows > size / 3, (rows + columns) / size, np.nan).astype(np.float32)
    raster = RasterLayer("depth", "Depth", "m", depth, (ORIGIN[0], 1.0, 0, ORIGIN[1], 0, -1.0), CRS)
    squares = [Feature(box(ORIGIN[0] + i % 100 * 10, ORIGIN[1] - i // 100 * 10,
                           ORIGIN[0] + i % 100 * 10 + 8, ORIGIN[1] - i // 100 * 10 + 8),
                       {"index": i, "depth_m": i / 10}) for i in range(features)]  # fmt: skip
    vector = VectorLayer("extent", "Extent", squares, CRS)
    return SimulationResult("bench", {}, {}, [raster], [vector])


def median_ms(work: Callable[[], Any], runs: int) -> float:
    """The median milliseconds of ``runs`` calls of ``work``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def gdal_overlay(tif: Path, folder: Path, stops: list[tuple[float, str]]) -> None:
    """The peer: gdalwarp to EPSG:4326, then gdaldem color-relief to an RGBA PNG."""
    colours = folder / "colours.txt"
    lines = [f"{v} {int(c[1:3], 16)} {int(c[3:5], 16)} {int(c[5:7], 16)} 255" for v, c in stops]
    colours.write_text("\n".join([*lines, "nv 0 0 0 0"]) + "\n")
    warped = folder / "warped.tif"
    warped.unlink(missing_ok=True)
    subprocess.run(["gdalwarp", "-q", "-t_srs", "EPSG:4326", "-r", "near", "-dstnodata", "nan",
                    str(tif), str(warped)], check=True)  # fmt: skip
    subprocess.run(["gdaldem", "color-relief", "-q", "-alpha", "-of", "PNG", str(warped),
                    str(colours), str(folder / "peer.png")], check=True)  # fmt: skip


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--features", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run = result(args.size, args.features)
    everything = Scope.everything()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        results = ResultStore(folder)
        saved = []

        def save() -> None:
            saved.append(results.save(run, jurisdiction=None, trigger=None,
                                      started=datetime.now(UTC)))  # fmt: skip

        save_ms = median_ms(save, args.runs)
        run_id = saved[-1].id
        raster_ms = median_ms(lambda: results.raster(run_id, "depth", everything), args.runs)
        vector_ms = median_ms(lambda: results.vector(run_id, "extent", everything), args.runs)
        layer = results.raster(run_id, "depth", everything)
        overlay_ms = median_ms(lambda: overlay(layer, {}), args.runs)
        print(f"raster {args.size}x{args.size}, {args.features} features, median of {args.runs}")
        print(f"save (GeoTIFF + GeoPackage + JSON, atomic): {save_ms:8.1f} ms")
        print(f"read raster back:                           {raster_ms:8.1f} ms")
        print(f"read vector layer back:                     {vector_ms:8.1f} ms")
        print(f"overlay (warp to 4326, colour, PNG):        {overlay_ms:8.1f} ms")
        if shutil.which("gdalwarp") and shutil.which("gdaldem"):
            tif = results.raster_path(run_id, "depth", everything)
            stops = stops_for("m", *_range(layer.array), {})
            peer_ms = median_ms(lambda: gdal_overlay(tif, folder, stops), args.runs)
            print(f"peer gdalwarp + gdaldem color-relief PNG:   {peer_ms:8.1f} ms"
                  f"  (ours / peer: {overlay_ms / peer_ms:.2f})")  # fmt: skip
        else:
            print("peer skipped: gdalwarp and gdaldem are not installed")


def _range(array: np.ndarray) -> tuple[float, float]:
    finite = array[np.isfinite(array)]
    return float(finite.min()), float(finite.max())


if __name__ == "__main__":
    main()
