"""How long the incident statistics take over many incidents: each grouping of
:func:`simulation.incidents.stats.incident_stats`, over a month and over a year.

Usage::

    .venv/bin/python bench/bench_incident_stats.py [--incidents 100000] [--repeat 3]
                                                   [--postgres]

It fills a temporary operational database (SQLite; ``--postgres``: a throwaway PostgreSQL
cluster too) with ``--incidents`` incidents spread over a year and the six towns and
villages of a county, each with the history of the workflow (about six steps: reported,
registered, dispatched, handling, handled, verified, closed; some stop on the way, some are
not accepted; durations drawn around each category's limits, a share of them late), written
in bulk. Then it times, best of ``--repeat``:

- the totals, and each grouping (category, status, jurisdiction, day) over the last 30 days;
- the totals, and week and month over the whole year;
- the peer of the percentiles: the same time spent per status over the year, with the
  durations fetched into Python and their median and 90th percentile taken by numpy
  (what computing them in SQL avoids), against the SQL of the statistics alone for it.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentStep
from cim.scope import Scope
from simulation.incidents.codes import categories
from simulation.incidents.stats import StatsQuery, _Counting, incident_stats
from simulation.incidents.stats_sql import distribution

COUNTY = "440106000000"
PLACES = ("440106001000", "440106001001", "440106001002",
          "440106002000", "440106002001", "440106002002")  # fmt: skip
MINUTE_US = 60_000_000
DAY_US = 1440 * MINUTE_US
# The loop's path, and the action that leads into each status.
PATH = (("report", "reported"), ("register", "registered"), ("dispatch", "dispatched"),
        ("accept", "handling"), ("handle", "handled"), ("verify", "verified"),
        ("close", "closed"))  # fmt: skip
CHUNK = 20_000


def fill(db: OpsDatabase, count: int, now_us: int, seed: int = 13) -> int:
    """Write ``count`` incidents of the last year with their histories; the steps written."""
    rng = random.Random(seed)
    codes = list(categories().values())
    incidents: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    written = 0
    for number in range(1, count + 1):
        kind = rng.choice(codes)
        at = now_us - rng.randrange(365 * DAY_US)
        history: list[tuple[str, str | None, str, int]] = []
        previous = None
        stop = rng.choices(range(1, 8), weights=(4, 2, 2, 3, 2, 2, 85))[0]
        for action, status in PATH[:stop]:
            history.append((action, previous, status, at))
            limit = kind.limits_minutes.get(status, 60) * MINUTE_US
            at += int(rng.expovariate(1.0) * 0.7 * limit) + MINUTE_US
            previous = status
        if stop == 1 and rng.random() < 0.5:
            history.append(("reject", "reported", "not_accepted", at))
        status, since = history[-1][2], history[-1][3]
        if since > now_us:  # still in its last status at the end of the year
            history = [h for h in history if h[3] <= now_us] or history[:1]
            status, since = history[-1][2], history[-1][3]
        final = status in ("closed", "not_accepted")
        limit_minutes = kind.limits_minutes.get(status)
        incidents.append({
            "id": number, "category": kind.code, "title": f"incident {number}",
            "description": "", "status": status, "priority": kind.priority,
            "source": "operator", "jurisdiction": rng.choice(PLACES), "escalation_level": 0,
            "alert_active": False, "reporter": "bench", "created_us": history[0][3],
            "updated_us": since, "status_since_us": since,
            "due_us": None if final or limit_minutes is None
            else since + limit_minutes * MINUTE_US,
            "closed_us": since if final else None, "version": len(history),
        })  # fmt: skip
        for action, before, after, moment in history:
            steps.append({"incident_id": number, "action": action, "from_status": before,
                          "to_status": after, "actor": "bench", "actor_kind": "user",
                          "at_us": moment, "note": ""})  # fmt: skip
        if len(incidents) >= CHUNK or number == count:
            with db.engine.begin() as connection:
                connection.execute(insert(Incident), incidents)
                connection.execute(insert(IncidentStep), steps)
            written += len(steps)
            incidents, steps = [], []
    return written


def best_ms(work: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def run(url: str, label: str, args: argparse.Namespace) -> dict[str, float]:
    """Fill the database at ``url`` and time the queries; the figures by name."""
    db = OpsDatabase.open(url)
    now_us = time.time_ns() // 1000
    started = time.perf_counter()
    steps = fill(db, args.incidents, now_us)
    print(f"[{label}] {args.incidents} incidents, {steps} steps written in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    scope = Scope.everything()
    month = (now_us - 30 * DAY_US, now_us)
    year = (now_us - 365 * DAY_US, now_us)
    cases: list[tuple[str, tuple[int, int], Any]] = [
        ("30 days, totals", month, None), ("30 days, by category", month, "category"),
        ("30 days, by status", month, "status"), ("30 days, by jurisdiction", month,
        "jurisdiction"), ("30 days, by day", month, "day"), ("year, totals", year, None),
        ("year, by week", year, "week"), ("year, by month", year, "month"),
    ]  # fmt: skip
    figures = {}
    for name, (start, end), group_by in cases:
        query = StatsQuery(start, end, COUNTY, group_by)

        def ask(query: StatsQuery = query) -> object:
            return incident_stats(db, scope, query, now_us=now_us, children=PLACES)

        figures[name] = best_ms(ask, args.repeat)
        print(f"[{label}] {name:28} {figures[name]:9.1f} ms")
    sql_ms, numpy_ms = _percentile_peer(db, year, now_us, args.repeat)
    figures["year, step times in SQL"] = sql_ms
    figures["year, step times in numpy"] = numpy_ms
    print(
        f"[{label}] time per status over the year: SQL percentiles {sql_ms:.1f} ms, "
        f"durations fetched and numpy {numpy_ms:.1f} ms (ratio {numpy_ms / sql_ms:.2f})"
    )
    db.close()
    return figures


def _percentile_peer(
    db: OpsDatabase, period: tuple[int, int], now_us: int, repeat: int
) -> tuple[float, float]:
    """The time per status over ``period``: by the statistics' SQL, and by numpy over the
    durations fetched (the peer); the milliseconds of each."""
    counting = _Counting(Scope.everything(), COUNTY, StatsQuery(*period, COUNTY), now_us)
    steps = counting._intervals()
    leaving = counting.in_period(steps.c.left_us)
    spent = steps.c.left_us - steps.c.entered_us
    source = select(steps.c.incident_id).select_from(steps).where(leaving)
    in_sql = distribution([steps.c.status], spent, source)
    fetched = select(steps.c.status, spent).select_from(steps).where(leaving)

    def by_sql() -> object:
        with db.engine.connect() as connection:
            return connection.execute(in_sql).all()

    def by_numpy() -> object:
        with db.engine.connect() as connection:
            rows = connection.execute(fetched).all()
        grouped: dict[str, list[int]] = {}
        for status, value in rows:
            grouped.setdefault(status, []).append(value)
        return {status: (len(values), float(np.mean(values)),
                         *np.percentile(np.array(values), [50, 90]))
                for status, values in grouped.items()}  # fmt: skip

    return best_ms(by_sql, repeat), best_ms(by_numpy, repeat)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = run(f"sqlite:///{folder}/ops.sqlite", "sqlite", args)
    if args.postgres:
        from bench_sensors import postgres_cluster

        with postgres_cluster() as url:
            run(url, "postgresql", args)
    return figures


if __name__ == "__main__":
    main()
