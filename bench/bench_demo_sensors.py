"""The demo sensors' costs: generating their series, backfilling a day, one replay step.

Usage::

    .venv/bin/python bench/bench_demo_sensors.py [--city DEMO_CITY] [--steps 40] [--no-city]

- generation: :func:`simulation.sensors.replay.generate` of every planned datastream over a
  day at the replay's step (5 s), values per second.
- backfill: :func:`api.demo_sensors.backfill` of the plan's day at its grid (5 min) into a
  copy of the demo city's operational database, observations per second.
- replay step: :meth:`api.demo_sensors.DemoReplay.step` (one value per datastream: generate,
  ingest in one transaction, publish), median and worst of ``--steps`` steps, and the share
  of the replay's interval that a step takes.

Without ``--city`` the demo is built into a temporary folder first (about 15 s); with
``--no-city`` only the generation runs. No peer publishes these figures: the aim is a step
far shorter than the interval, so the demo's values arrive on time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

US = 1_000_000


def bench_generation() -> None:
    from api.demo_plan import sensor_plan
    from simulation.sensors.replay import generate, sample_times

    plan = sensor_plan()
    end = time.time_ns() // 1000
    times = sample_times(end - 24 * 3600 * US, end, plan.replay_step_s)
    started = time.perf_counter()
    values = sum(
        len(generate(s.series, times, seed=plan.seed, anchor_us=end))
        for s in plan.datastreams().values()
    )
    took = time.perf_counter() - started
    streams, step = len(plan.datastreams()), plan.replay_step_s
    print(f"generation: {values} values ({streams} datastreams x a day at {step:g} s)"
          f" in {took:.2f} s = {values / took:,.0f} values/s")  # fmt: skip


def bench_city(city: Path, steps: int) -> None:
    from fastapi import FastAPI

    from api.demo_plan import sensor_plan
    from api.demo_sensors import backfill, demo_replay_of, demo_streams
    from cim.ops.database import OpsDatabase

    plan = sensor_plan()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "city"
        shutil.copytree(city, copy)
        with OpsDatabase.for_city(copy) as db:
            streams = demo_streams(db, plan)
            if not streams:
                raise SystemExit(f"{city} has no demo sensors: run `cimtwin demo` first")
            later = max(s.newest_us or 0 for s in streams) + 24 * 3600 * US
            started = time.perf_counter()
            stored = backfill(db, plan, streams, later)
            took = time.perf_counter() - started
            print(f"backfill: {stored} observations of {len(streams)} datastreams in"
                  f" {took:.2f} s = {stored / took:,.0f} observations/s")  # fmt: skip
            replay = demo_replay_of(FastAPI(), db, later + US)
            assert replay is not None
            durations = []
            for step in range(steps):
                started = time.perf_counter()
                replay.step(later + (step + 1) * int(plan.replay_step_s * US))
                durations.append(time.perf_counter() - started)
    median, worst = statistics.median(durations) * 1000, max(durations) * 1000
    interval = plan.replay_step_s
    share = median / (interval * 1000) * 100
    print(f"replay step ({len(streams)} values): median {median:.1f} ms, worst {worst:.1f}"
          f" ms over {steps} steps = {share:.1f}% of the {interval:g} s interval")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--city", type=Path, help="a built demo city (default: build one)")
    parser.add_argument("--steps", type=int, default=40, help="replay steps to time")
    parser.add_argument("--no-city", action="store_true", help="only time the generation")
    args = parser.parse_args()
    np.seterr(all="ignore")
    bench_generation()
    if args.no_city:
        return
    if args.city is not None:
        bench_city(args.city, args.steps)
        return
    from api.demo import build_demo
    from api.demo_sensors import city_demo_sensors

    with tempfile.TemporaryDirectory() as scratch:
        city = Path(scratch) / "demo-city"
        build_demo(city, log=lambda _: None)
        city_demo_sensors(city, log=lambda _: None)
        bench_city(city, args.steps)


if __name__ == "__main__":
    main()
