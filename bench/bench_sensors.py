"""The sensing core's speed: latest state, downsampling, ingest, on SQLite and PostgreSQL.

Usage::

    .venv/bin/python bench/bench_sensors.py [--datastreams 10000] [--minutes 525600]
        [--ingest 100000] [--batch 5000] [--repeat 20] [--postgres] [--settle PCT]

- latest state: :func:`simulation.sensors.state.latest_states` of N datastreams (on N/4
  things with a location each, thresholds in their properties), the whole city in one call
  and the datastreams of 100 city objects; mean and worst of ``--repeat`` calls.
- downsampling: :func:`simulation.sensors.series.downsampled` of a year of minute data
  (525 600 observations of one datastream, among others' observations) at 1 h and 1 d, and
  :func:`~simulation.sensors.series.raw_series` of one day.
- ingest: :func:`simulation.sensors.ingest.ingest` of ``--ingest`` observations over 100
  datastreams in batches of ``--batch`` (each batch one transaction), observations per
  second; then the same batches again (all already stored: the idempotent path).

Times are the median, best and worst of the repeats, with the CPU pressure (Linux PSI
avg10: the share of time runnable tasks waited for a CPU) when they were taken: on a shared
machine the best is the figure to compare. ``--settle PCT`` waits (at most a minute) for
the pressure to fall to PCT before each measure.

``--postgres`` runs the same on a throwaway PostgreSQL cluster (``initdb`` in a temporary
folder, a Unix socket only). The peers' published figures are printed beside ours: FROST
Server times out on the latest observation of every datastream (its issues #1107 and
#287); Hamburg's FROST ingests about 2 000 observations per second sustained.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import cpu_pressure, settle

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope

JURISDICTION = "440106001000"
START_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
FROST_INGEST = 2_000.0  # observations/s, Hamburg's FROST, sustained
STATE_AIM_MS, SERIES_AIM_MS = 200.0, 500.0  # the aims
LEVELS = ("normal", "warning", "alarm", "stale")


def seed_datastreams(db: OpsDatabase, count: int, now_us: int) -> list[int]:
    """``count`` datastreams on ``count // 4`` things (a point location and a city object
    each), with a latest value and thresholds; their ids."""
    things = max(1, count // 4)
    properties = ["water level", "pm2.5", "strain", "occupancy", "power"]
    with db.transaction() as session:
        sensor = session.execute(
            insert(t.Sensor).returning(t.Sensor.id),
            {"name": "gauge", "description": "", "encoding_type": "text/html",
             "sensor_metadata": "", "jurisdiction": JURISDICTION},
        ).scalar_one()  # fmt: skip
        kinds = [
            session.execute(
                insert(t.ObservedProperty).returning(t.ObservedProperty.id),
                {"name": name, "definition": "", "description": "", "jurisdiction": JURISDICTION},
            ).scalar_one()
            for name in properties
        ]
        session.execute(insert(t.Thing), [
            {"id": i + 1, "name": f"station {i}", "description": "", "jurisdiction": JURISDICTION,
             "city_object": f"b:{i}"} for i in range(things)
        ])  # fmt: skip
        session.execute(insert(t.Location), [
            {"id": i + 1, "name": "here", "description": "", "encoding_type":
             "application/geo+json", "jurisdiction": JURISDICTION,
             "location": {"type": "Point", "coordinates": [113.3 + i * 1e-5, 23.1, 12.0]},
             "lon_min": 113.3 + i * 1e-5, "lon_max": 113.3 + i * 1e-5, "lat_min": 23.1,
             "lat_max": 23.1} for i in range(things)
        ])  # fmt: skip
        session.execute(insert(t.ThingLocation), [
            {"thing_id": i + 1, "location_id": i + 1} for i in range(things)
        ])  # fmt: skip
        session.execute(insert(t.Datastream), [
            {"id": i + 1, "name": f"datastream {i}", "description": "",
             "observation_type": "OM_Measurement", "unit_of_measurement": {"symbol": "m"},
             "properties": {"thresholds": {"warning": 60, "alarm": 90}, "staleAfter": 600},
             "thing_id": i % things + 1, "sensor_id": sensor,
             "observed_property_id": kinds[i % len(kinds)], "jurisdiction": JURISDICTION,
             "latest_phenomenon_us": now_us - (i % 900) * 1_000_000,
             "latest_result_number": float(i % 100)} for i in range(count)
        ])  # fmt: skip
    return list(range(1, count + 1))


def seed_year(db: OpsDatabase, datastream_id: int, minutes: int) -> None:
    """A year of minute data (``minutes`` observations) for one datastream."""
    chunk = 50_000
    with db.transaction() as session:
        for first in range(0, minutes, chunk):
            session.execute(insert(t.Observation), [
                {"datastream_id": datastream_id, "phenomenon_us": START_US + m * MINUTE_US,
                 "result_number": 20.0 + (m % 1440) / 100.0}
                for m in range(first, min(minutes, first + chunk))
            ])  # fmt: skip
        session.execute(
            update(t.Datastream).where(t.Datastream.id == datastream_id).values(
                phenomenon_start_us=START_US,
                phenomenon_end_us=START_US + (minutes - 1) * MINUTE_US)
        )  # fmt: skip


SETTLE: float | None = None  # --settle


def timed(call: Callable[[], object], repeat: int) -> str:
    """Median, best and worst milliseconds of ``repeat`` calls (after one to warm the
    caches), and the CPU pressure meanwhile."""
    if SETTLE is not None:
        settle(SETTLE, longest=60.0)
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    pressure = cpu_pressure()
    return (
        f"median {statistics.median(times):.1f} ms, best {min(times):.1f} ms,"
        f" worst {max(times):.1f} ms (CPU pressure {pressure if pressure is not None else '?'}%)"
    )


def bench_state(db: OpsDatabase, count: int, repeat: int, label: str) -> None:
    """Latest state of every datastream, and of the datastreams of 100 city objects."""
    from simulation.sensors.state import latest_states

    now_us = START_US + 400 * 86_400_000_000
    seed_datastreams(db, count, now_us)
    scope = Scope.of(JURISDICTION)
    found = latest_states(db, scope, now_us=now_us)
    levels = {level: sum(s.level == level for s in found) for level in LEVELS}
    figures = timed(lambda: latest_states(db, scope, now_us=now_us), repeat)
    print(
        f"[{label}] latest state of {len(found)} datastreams {levels}: {figures}"
        f" | aim {STATE_AIM_MS:.0f} ms; FROST: times out (its issues #1107, #287)"
    )
    objects = [f"b:{i}" for i in range(0, count // 4, max(1, count // 400))][:100]
    picked = latest_states(db, scope, now_us=now_us, city_objects=objects)
    figures = timed(lambda: latest_states(db, scope, now_us=now_us, city_objects=objects), repeat)
    print(f"[{label}] latest state of {len(objects)} city objects ({len(picked)} datastreams):"
          f" {figures}")  # fmt: skip


def bench_series(db: OpsDatabase, minutes: int, repeat: int, label: str) -> None:
    """Downsampling a year of minute data at 1 h and 1 d; one day of raw values."""
    from simulation.sensors.series import downsampled, raw_series

    started = time.perf_counter()
    seed_year(db, 1, minutes)
    seed_year(db, 2, minutes // 4)  # another datastream's rows around it
    print(f"[{label}] stored {minutes + minutes // 4} observations (setup) in"
          f" {time.perf_counter() - started:.1f} s")  # fmt: skip
    scope = Scope.of(JURISDICTION)
    end = START_US + minutes * MINUTE_US
    for name, resolution in (("1h", HOUR_US), ("1d", 24 * HOUR_US)):

        def ask(resolution_us: int = resolution) -> list[Any]:
            return downsampled(db, 1, scope, start_us=START_US, end_us=end,
                               resolution_us=resolution_us)  # fmt: skip

        buckets = ask()
        assert sum(b.count for b in buckets) == minutes
        print(f"[{label}] downsampled {minutes} minute values at {name} ({len(buckets)}"
              f" buckets): {timed(ask, repeat)} | aim {SERIES_AIM_MS:.0f} ms")  # fmt: skip
    day_end = START_US + 200 * 24 * HOUR_US
    figures = timed(lambda: raw_series(db, 1, scope, start_us=day_end - 24 * HOUR_US,
                                       end_us=day_end, limit=10_000), repeat)  # fmt: skip
    print(f"[{label}] raw series of one day (1 440 values): {figures}")


def bench_ingest(db: OpsDatabase, total: int, batch: int, label: str) -> None:
    """:func:`ingest` of ``total`` new observations over 100 datastreams, then again."""
    from simulation.sensors.ingest import ingest
    from simulation.sensors.records import ObservationIn

    streams = 100
    first = START_US + 500 * 86_400_000_000
    rows = [
        ObservationIn(datastream_id=3 + i % streams, phenomenon_us=first + (i // streams)
                      * 1_000_000, result=float(i % 97))
        for i in range(total)
    ]  # fmt: skip
    scope = Scope.of(JURISDICTION)
    for name in ("new", "again (already stored)"):
        if SETTLE is not None:
            settle(SETTLE, longest=60.0)
        started = time.perf_counter()
        rejected = 0
        for start in range(0, total, batch):
            rejected += len(ingest(db, rows[start : start + batch], scope).rejected)
        rate = total / (time.perf_counter() - started)
        print(f"[{label}] ingest {total} observations in batches of {batch}, {name}:"
              f" {rate:,.0f} obs/s ({rejected} rejected; CPU pressure {cpu_pressure()}%)"
              f" | Hamburg's FROST ~{FROST_INGEST:,.0f}/s sustained,"
              f" ratio {rate / FROST_INGEST:.1f}")  # fmt: skip


def run_all(url: str, args: argparse.Namespace, label: str) -> None:
    """Every measure on the database ``url``."""
    with OpsDatabase.open(url) as db:
        bench_state(db, args.datastreams, args.repeat, label)
        bench_series(db, args.minutes, max(3, args.repeat // 4), label)
        bench_ingest(db, args.ingest, args.batch, label)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a Unix socket in a temporary folder; a database URL."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-sensors-pg-"))
    data = folder / "data"

    def run(*args: str) -> None:
        command = [str(bins[0] / args[0]) if bins else args[0], *args[1:]]
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    run("pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-o",
        f"-k {folder} -c listen_addresses=''", "-w", "start")  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datastreams", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=525_600)
    parser.add_argument("--ingest", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too")
    parser.add_argument("--settle", type=float, default=None, metavar="PCT",
                        help="before each measure, wait for CPU pressure <= PCT %%")  # fmt: skip
    args = parser.parse_args()
    global SETTLE
    SETTLE = args.settle
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-sensors-") as folder:
        run_all(f"sqlite:///{Path(folder) / 'ops.sqlite'}", args, "SQLite")
    if args.postgres:
        with postgres_cluster() as url:
            run_all(url, args, "PostgreSQL")


if __name__ == "__main__":
    main()
