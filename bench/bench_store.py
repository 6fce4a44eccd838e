"""City store benchmarks: the R-tree against a scan, bulk loads, reads during a write.

Usage::

    .venv/bin/python bench/bench_store.py [--objects 100000] [--queries 200] [--seed 0]

Each line is measured in this run beside its peer:

- *bulk load*: N footprints written with ``CityWriter.add_objects`` (the R-tree filled in
  one statement at the end) against the same rows added one by one through
  ``add_object`` (the R-tree's insert trigger, five Python ``ST_*`` calls per row).
- *bbox query*: random 200 m boxes through :meth:`CityStore.objects_in_box` (R-tree, then the
  exact envelope) against the scan the store did before the index (every object of the
  class read and its envelope tested in Python); both must find the same objects.
- *read during a write*: the time of a small read (one OGC page) while another connection
  holds a write transaction, against the same read with no writer (WAL: readers never
  wait).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from shapely.geometry import box

from cim import gpkg
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import Box

X0, Y0 = 430000.0, 2550000.0
SIDE = 20.0  # metres between building origins


def _objects(count: int, source: str) -> list[CityObject]:
    row = max(1, int(count**0.5))
    return [
        CityObject(f"{source}:{i}", "building", f"b{i}", source=source,
                   footprint=box(X0 + SIDE * (i % row), Y0 + SIDE * (i // row),
                                 X0 + SIDE * (i % row) + 12.0, Y0 + SIDE * (i // row) + 9.0),
                   attributes={"levels": i % 30})
        for i in range(count)
    ]  # fmt: skip


def _load(city: Path, count: int, bulk: bool) -> tuple[CityStore, float]:
    store = CityStore.create(city, "EPSG:4547")
    objects = _objects(count, "bench")
    started = time.perf_counter()
    with store.transaction() as writer:
        if bulk:
            writer.add_objects(objects)
        else:
            for obj in objects:
                writer.add_object(obj)
    return store, time.perf_counter() - started


def _scan(store: CityStore, query: Box) -> list[str]:
    """The store's bbox query before the index: every object of the class, envelope test."""
    found = []
    for obj in store.objects(cls="building", scope=Scope.everything()):
        blob = gpkg.encode_geometry(obj.footprint, store.srs_id)
        envelope = gpkg.envelope(blob)
        if envelope is None:
            continue
        if (envelope[0] <= query.max_x and query.min_x <= envelope[2]
                and envelope[1] <= query.max_y and query.min_y <= envelope[3]):  # fmt: skip
            found.append(obj.id)
    return found


def _boxes(count: int, objects: int, seed: int) -> list[Box]:
    generator = random.Random(seed)
    width = SIDE * max(1, int(objects**0.5))
    result = []
    for _ in range(count):
        x, y = X0 + generator.uniform(0, width), Y0 + generator.uniform(0, width)
        result.append(Box(x, y, x + 200.0, y + 200.0))
    return result


def _timed_reads(store: CityStore, count: int) -> list[float]:
    times = []
    for offset in range(count):
        started = time.perf_counter()
        store.feature_page("building", limit=10, offset=offset * 10, scope=Scope.everything())
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        work = Path(folder)
        store, bulk_s = _load(work / "bulk", args.objects, bulk=True)
        per_row, rows_s = _load(work / "rows", args.objects, bulk=False)
        per_row.close()
        print(f"bulk load of {args.objects} footprints: add_objects {bulk_s:.2f} s,"
              f" add_object one by one {rows_s:.2f} s, ratio {bulk_s / rows_s:.2f}")  # fmt: skip

        boxes = _boxes(args.queries, args.objects, args.seed)
        started = time.perf_counter()
        indexed = [
            sorted(o.id for o in store.objects_in_box("building", b, scope=Scope.everything()))
            for b in boxes
        ]
        index_s = (time.perf_counter() - started) / len(boxes)
        scanned_boxes = boxes[: max(1, min(len(boxes), 5))]  # the scan is slow: a few
        started = time.perf_counter()
        scanned = [sorted(_scan(store, b)) for b in scanned_boxes]
        scan_s = (time.perf_counter() - started) / len(scanned_boxes)
        assert scanned == indexed[: len(scanned)], "the index and the scan disagree"
        found = statistics.mean(len(ids) for ids in indexed)
        print(f"bbox query of 200 m over {args.objects} objects ({found:.0f} found on average):"
              f" R-tree {index_s * 1000:.2f} ms, scan {scan_s * 1000:.1f} ms,"
              f" ratio {index_s / scan_s:.4f}")  # fmt: skip

        quiet = _timed_reads(store, 200)
        holding, release = threading.Event(), threading.Event()

        def hold_write() -> None:
            with CityStore.open(work / "bulk") as writer_store, writer_store.transaction() as w:
                w.add_objects(_objects(1_000, "held"))
                holding.set()
                release.wait(timeout=600)

        writer = threading.Thread(target=hold_write)
        writer.start()
        holding.wait(timeout=600)
        busy = _timed_reads(store, 200)
        release.set()
        writer.join()
        store.close()
        for label, times in (("no writer", quiet), ("a write transaction open", busy)):
            ordered = sorted(times)
            p99 = ordered[int(len(ordered) * 0.99) - 1]
            print(f"read of one OGC page, {label}: median {statistics.median(times) * 1000:.2f}"
                  f" ms, p99 {p99 * 1000:.2f} ms")  # fmt: skip
        print(
            f"ratio of medians (write open / no writer):"
            f" {statistics.median(busy) / statistics.median(quiet):.2f}"
        )


if __name__ == "__main__":
    main()
