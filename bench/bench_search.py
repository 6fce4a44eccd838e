"""The search as the viewer calls it (:func:`cim.search.search`), with and without the pinyin
pass, in a city of GIS buildings with Chinese names.

Usage::

    .venv/bin/python bench/bench_search.py [--buildings 20000] [--runs 20]

A temporary city holds ``--buildings`` GIS buildings named from a pool of Chinese place
words (天河, 珠江, 体育...) with a street address. The queries: a Chinese name part (the
store's LIKE finds it: no pinyin pass), its pinyin and its pinyin initials (the pinyin pass
reads every named place), and a plain ASCII word that matches nothing (the pinyin pass runs
and finds nothing). Median and worst milliseconds of ``--runs`` searches each after one
warm-up run, and the first (cold: pinyin readings not yet cached) run. The peer is the
Chinese query of the same city, measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from shapely.geometry import box

from cim import search
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore

WORDS = [
    "天河", "珠江", "体育", "花城", "中山", "越秀", "海珠", "白云", "黄埔",
    "番禺", "广州", "图书", "大厦", "广场", "中心", "公寓", "花园", "学校",
]  # fmt: skip
STREETS = ["天河路", "体育西路", "珠江东路", "中山大道", "黄埔大道"]


def build(folder: Path, count: int) -> Path:
    rng = random.Random(7)
    store = CityStore.create(folder / "city", "EPSG:4547", "Bench")
    with store, store.transaction() as writer:
        for i in range(count):
            x, y = 430_000 + (i % 200) * 25, 2_557_000 + (i // 200) * 25
            name = "".join(rng.sample(WORDS, 3))
            address = {"addr:street": rng.choice(STREETS), "addr:housenumber": f"{i}号"}
            writer.add_object(CityObject(f"b:{i}", "building", name, attributes=address,
                                         footprint=box(x, y, x + 20, y + 20),
                                         base_height=0.0, top_height=30.0))  # fmt: skip
        writer.record_source("bench", "", "", "synthetic", {})
    return folder / "city"


def timed(store: CityStore, text: str, runs: int) -> tuple[float, float, float, int]:
    search.pinyin_readings.cache_clear()
    start = time.perf_counter()
    hits = search.search(store, text, 20, scope=Scope.everything())
    cold = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        search.search(store, text, 20, scope=Scope.everything())
        times.append((time.perf_counter() - start) * 1000)
    return cold, statistics.median(times), max(times), len(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        city = build(Path(tmp), args.buildings)
        with CityStore.open(city) as store:
            print(f"{args.buildings} GIS buildings with Chinese names; ms per search")
            print(f"{'query':<16}{'cold':>9}{'median':>9}{'worst':>9}{'hits':>6}{'ratio':>8}")
            peer = None
            for text in ("天河", "tianhe", "thzx", "nothinghere"):
                cold, median, worst, hits = timed(store, text, args.runs)
                peer = peer or median
                print(f"{text:<16}{cold:>9.1f}{median:>9.1f}{worst:>9.1f}{hits:>6}"
                      f"{median / peer:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
