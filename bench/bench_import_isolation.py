"""Cost of parsing an import in a limited child process (``api.isolation``) against in-process.

Usage::

    .venv/bin/python bench/bench_import_isolation.py [--elements 200 2000] [--repeat 3]

For each size, a generated IFC of ``elements`` building elements (``generate_ifc.py``)
is imported into a fresh city ``repeat`` times each way, alternating, after one warm-up:
``in-process`` (:func:`bim.importer.import_ifc` here) and ``limited child`` (the same call
under :func:`api.isolation.run_limited` with the default limits, as the job worker runs
it). Prints the median seconds of each and their ratio, measured in the same run. The
test suite never runs this file.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate_ifc import generate

from api.isolation import Limits, run_limited
from bim.importer import import_ifc
from cim.store import CityStore


def _import(city: Path, ifc: Path) -> int:
    with CityStore.open(city) as store:
        return sum(import_ifc(store, ifc).objects_by_class.values())


def _timed(folder: Path, ifc: Path, isolated: bool) -> float:
    city = folder / "city"
    shutil.rmtree(city, ignore_errors=True)
    CityStore.create(city, "EPSG:4547").close()
    started = time.perf_counter()
    if isolated:
        run_limited(lambda: _import(city, ifc), Limits(4096, 1800))
    else:
        _import(city, ifc)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elements", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for elements in args.elements:
            ifc = generate(folder / f"e{elements}.ifc", elements)
            _timed(folder, ifc, False)  # warm-up: caches, lazy imports
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeat):
                for isolated in (False, True):
                    times[isolated].append(_timed(folder, ifc, isolated))
            plain, child = (statistics.median(times[k]) for k in (False, True))
            size = ifc.stat().st_size / 2**20
            print(f"{elements:5d} elements ({size:.1f} MiB): in-process {plain:.3f} s,"
                  f" limited child {child:.3f} s, ratio {child / plain:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
