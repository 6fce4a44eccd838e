"""The cost of scoped reads: the same store reads with an unlimited scope and with a town's.

Usage::

    .venv/bin/python bench/bench_scope.py [--objects 100000] [--towns 10] [--repeat 50]

A city of N buildings on a grid, split into towns by column bands (codes set through
``CityWriter.set_jurisdictions``), is read with :meth:`Scope.everything` (no condition), with
one town's scope (a prefix range on the indexed ``jurisdiction`` column, 1/towns of the
city) and with the county's (every town: the condition holds for every row). Each line
prints the mean time of one read under each scope and the ratio of the scoped reads to
the unlimited one, measured in this run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shapely.geometry import box

from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import Box

X0, Y0 = 430000.0, 2550000.0
SIDE = 20.0
COUNTY = "440106000000"


def _town(index: int) -> str:
    return f"440106{index + 1:03d}000"


def _build(city: Path, count: int, towns: int) -> tuple[CityStore, float]:
    row = max(1, int(count**0.5))
    objects = [
        CityObject(f"b:{i}", "building", f"hall {i}", source="bench",
                   footprint=box(X0 + SIDE * (i % row), Y0 + SIDE * (i // row),
                                 X0 + SIDE * (i % row) + 12.0, Y0 + SIDE * (i // row) + 9.0),
                   attributes={"use": "office" if i % 3 else "residential"})
        for i in range(count)
    ]  # fmt: skip
    codes = {o.id: _town(int(i % row) * towns // row) for i, o in enumerate(objects)}
    store = CityStore.create(city, "EPSG:4547")
    with store.transaction() as writer:
        writer.add_objects(objects)
    started = time.perf_counter()
    with store.transaction() as writer:
        writer.set_jurisdictions(codes)
    return store, time.perf_counter() - started


def _mean(read: Callable[[], object], repeat: int) -> float:
    read()  # warm the page cache
    started = time.perf_counter()
    for _ in range(repeat):
        read()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--towns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scope-") as folder:
        store, assign_s = _build(Path(folder) / "city", args.objects, args.towns)
        print(f"set_jurisdictions of {args.objects} objects: {assign_s:.2f} s")
        width = SIDE * int(args.objects**0.5)
        # a 400 m box in the first town's band, and the first page of an attribute filter
        corner = Box(X0 + 10.0, Y0 + width / 2, X0 + 410.0, Y0 + width / 2 + 400.0)
        reads: dict[str, Callable[[Scope], object]] = {
            "objects_in_box (400 m)": lambda s: store.objects_in_box("building", corner, scope=s),
            "feature_page (10, use=office)": lambda s: store.feature_page(
                "building", None, {"use": "office"}, 10, 0, scope=s
            ),
            "count_objects": lambda s: store.count_objects(cls="building", scope=s),
            "counts_by_class": lambda s: store.counts_by_class(scope=s),
            "get_object": lambda s: store.get_object("b:0", scope=s),
        }
        scopes = {"all": Scope.everything(), "town": Scope.of(_town(0)),
                  "county": Scope.of(COUNTY)}  # fmt: skip
        for name, read in reads.items():
            times = {key: _mean(lambda r=read, s=scope: r(s), args.repeat)  # type: ignore[misc]
                     for key, scope in scopes.items()}  # fmt: skip
            print(f"{name} over {args.objects} objects: unlimited {times['all'] * 1000:.3f} ms,"
                  f" town {times['town'] * 1000:.3f} ms (ratio {times['town'] / times['all']:.2f}),"
                  f" county {times['county'] * 1000:.3f} ms"
                  f" (ratio {times['county'] / times['all']:.2f})")  # fmt: skip
        store.close()


if __name__ == "__main__":
    main()
