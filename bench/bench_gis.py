"""GIS import speed against ``ogr2ogr`` on the same layer, measured in one run.

Usage::

    .venv/bin/python bench/bench_gis.py [--buildings 100000] [--seed 0] [--keep DIR]

It writes a GeoPackage layer of generated building footprints (the layout of
``bench/generate_city.py``, stored in EPSG:4326 so both sides reproject) with sparse
attributes as OSM has them: ``height`` on 60 % of the buildings, ``building_levels`` on
half, one in a hundred footprints a self-intersecting "bow tie" to repair. Then it runs,
each as a fresh command, as a user would:

- ``ogr2ogr -f GPKG OUT LAYER -t_srs EPSG:4547 -makevalid`` (GDAL's copy, reprojected and
  made valid);
- ``cimtwin import gis LAYER --city CITY`` into a new city in EPSG:4547 that already
  holds a 30 m DEM of the area (``--no-dem``: none), so the import stores footprints,
  attributes, an LOD1 block per building set on the ground, and the source record;

and prints both wall times and their ratio, both CPU times (user + system, which a busy
shared machine inflates less) and their ratio, and the import's own seconds (its report,
without the interpreter's start and imports). Timings on a shared CPU are noisy:
``--repeat`` keeps the best wall time of each. The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from generate_city import CRS, generate
from rasterio.transform import from_origin

from cim.crs import transform_arrays
from cim.raster import import_dem
from cim.store import CityStore

LAYER = "buildings"
DEM_CELL = 30.0
HEIGHT_SHARE, LEVELS_SHARE, BOW_TIE_SHARE = 0.6, 0.5, 0.01


def write_layer(path: Path, count: int, seed: int) -> None:
    """A GeoPackage layer of ``count`` footprints in EPSG:4326 with sparse heights and levels."""
    buildings = list(generate(count, seed))
    rng = np.random.default_rng(seed)
    rings = []
    for building, bow_tie in zip(buildings, rng.random(count) < BOW_TIE_SHARE, strict=True):
        ring = building.ring
        rings.append(ring[[0, 2, 1, 3]] if bow_tie and len(ring) == 4 else ring)
    sizes = np.array([len(ring) for ring in rings])
    xy = np.concatenate(rings)
    lon, lat = transform_arrays(CRS, "EPSG:4326", xy[:, 0], xy[:, 1])
    coords = np.column_stack([lon, lat])
    ring_of = np.repeat(np.arange(count), sizes)
    closed = shapely.linearrings(coords, indices=ring_of)
    polygons = shapely.polygons(closed)
    heights = np.array([b.height for b in buildings])
    levels = np.array([b.levels for b in buildings], dtype=np.float64)
    heights[rng.random(count) >= HEIGHT_SHARE] = np.nan
    levels[rng.random(count) >= LEVELS_SHARE] = np.nan
    frame = gpd.GeoDataFrame(
        {
            "ref": [f"b{b.number}" for b in buildings],
            "height": heights,
            "building_levels": levels,
            "use": [b.use for b in buildings],
            "year": [b.year for b in buildings],
        },
        geometry=polygons,
        crs="EPSG:4326",
    )
    frame.to_file(path, layer=LAYER, driver="GPKG", engine="pyogrio")


@dataclass(frozen=True)
class Timing:
    """Wall seconds of one command and the CPU seconds (user + system) it used."""

    wall: float
    cpu: float


def timed(command: list[str]) -> Timing:
    """Time one command; its output is shown only when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Timing(seconds, cpu)


def run_ogr2ogr(layer: Path, work: Path) -> Timing:
    """``ogr2ogr`` copying the layer, reprojected into the city CRS and made valid."""
    out = work / "ogr2ogr.gpkg"
    out.unlink(missing_ok=True)
    command = ["ogr2ogr", "-f", "GPKG", str(out), str(layer), LAYER, "-t_srs", CRS,
               "-makevalid", "-nln", LAYER]  # fmt: skip
    return timed(command)


def write_dem(path: Path, layer: Path) -> None:
    """A rolling 30 m DEM in the city CRS over the layer's extent (plus a margin)."""
    west, south, east, north = gpd.read_file(layer, engine="pyogrio").to_crs(CRS).total_bounds
    west, south, east, north = west - 500, south - 500, east + 500, north + 500
    width, height = int((east - west) / DEM_CELL) + 1, int((north - south) / DEM_CELL) + 1
    x = west + DEM_CELL * (np.arange(width) + 0.5)
    y = north - DEM_CELL * (np.arange(height) + 0.5)
    grid = 20 + 8 * np.sin(x[None, :] / 900) + 6 * np.cos(y[:, None] / 700)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1,
               "dtype": "float32", "crs": CRS, "nodata": -9999.0,
               "transform": from_origin(west, north, DEM_CELL, DEM_CELL)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as out:
        out.write(grid.astype(np.float32), 1)


def run_import(layer: Path, work: Path, dem: Path | None) -> tuple[Timing, dict[str, Any]]:
    """``cimtwin import gis`` into a new city (with the DEM, if any); time and report."""
    city = work / "city"
    shutil.rmtree(city, ignore_errors=True)
    with CityStore.create(city, CRS) as store:
        if dem is not None:
            import_dem(store, dem)  # setup, not timed: the import then grounds every block
    cli = [sys.executable, "-c", "from api.cli import main; main()"]
    seconds = timed([*cli, "import", "gis", str(layer), "--city", str(city), "--layer", LAYER])
    with sqlite3.connect(city / "city.gpkg") as conn:
        (report,) = conn.execute("SELECT report FROM sources WHERE kind = 'gis'").fetchone()
    result: dict[str, Any] = json.loads(report)
    return seconds, result


def main(argv: list[str]) -> None:
    """Write the layer, run both, print the figures and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000, help="number of footprints")
    parser.add_argument("--seed", type=int, default=0, help="seed of the layout")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    parser.add_argument("--no-dem", action="store_true", help="a city without a DEM")
    args = parser.parse_args(argv)
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is not installed (Debian: gdal-bin)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-gis-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        layer = work / "footprints.gpkg"
        started = time.perf_counter()
        write_layer(layer, args.buildings, args.seed)
        dem = None if args.no_dem else work / "dem.tif"
        if dem is not None:
            write_dem(dem, layer)
        print(f"layer: {args.buildings} footprints in {time.perf_counter() - started:.1f} s")
        ogr = min((run_ogr2ogr(layer, work) for _ in range(max(args.repeat, 1))),
                  key=lambda timing: timing.wall)  # fmt: skip
        runs = [run_import(layer, work, dem) for _ in range(max(args.repeat, 1))]
        ours, report = min(runs, key=lambda run: run[0].wall)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    figures = {
        "buildings": args.buildings,
        "ogr2ogr_s": round(ogr.wall, 3),
        "import_s": round(ours.wall, 3),
        "ratio": round(ours.wall / ogr.wall, 2),
        "ogr2ogr_cpu_s": round(ogr.cpu, 3),
        "import_cpu_s": round(ours.cpu, 3),
        "cpu_ratio": round(ours.cpu / ogr.cpu, 2),
        "import_in_process_s": report["seconds"],
        "imported": report["imported"],
        "grounded": report["grounded"],
        "repaired": report["repaired"],
        "heights": report["heights"],
        "buildings_per_s": round(report["imported"] / ours.wall, 1),
    }
    print(
        f"ogr2ogr {ogr.wall:.2f} s (CPU {ogr.cpu:.2f} s); cimtwin import gis {ours.wall:.2f} s"
        f" (CPU {ours.cpu:.2f} s, {report['seconds']:.2f} s inside the import once Python"
        f" has started): {ours.wall / ogr.wall:.1f}x ogr2ogr in wall time,"
        f" {ours.cpu / ogr.cpu:.1f}x in CPU time; {report['imported']} buildings,"
        f" {report['repaired']} repaired, {report['grounded']} set on the DEM, heights from"
        f" {', '.join(f'{k} {v}' for k, v in report['heights'].items())}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
