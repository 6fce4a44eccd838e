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
- the percentiles of the time spent per status over the year, from the statuses left in
  it (the temporary table the statistics fill), the statistics' way against its peer:
  on PostgreSQL ``percentile_cont`` against the durations fetched and numpy; on SQLite
  (no percentile function) the durations fetched and numpy against ranking them with
  window functions in SQL.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Float, Select, case, cast, func, insert, select

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentStep
from cim.scope import Scope
from simulation.incidents.codes import categories

# the statistics' internals, for the peer of its percentiles
from simulation.incidents.stats import _INTERVALS, StatsQuery, _Counting, incident_stats

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
    ours_ms, peer_ms = _percentile_peer(db, year, now_us, args.repeat)
    figures["year, step times"] = ours_ms
    figures["year, step times, peer"] = peer_ms
    ours, peer = (("percentile_cont", "fetched + numpy") if label == "postgresql"
                  else ("fetched + numpy", "window functions"))  # fmt: skip
    print(
        f"[{label}] time per status over the year: {ours} {ours_ms:.1f} ms, peer "
        f"{peer} {peer_ms:.1f} ms (peer / ours {peer_ms / ours_ms:.2f})"
    )
    db.close()
    return figures


def _percentile_peer(
    db: OpsDatabase, period: tuple[int, int], now_us: int, repeat: int
) -> tuple[float, float]:
    """The time per status over ``period``, from the statuses left in it (the temporary
    table the statistics fill), the way the statistics take it (PostgreSQL:
    ``percentile_cont``; SQLite: the durations fetched, numpy) and the other way (its
    peer: PostgreSQL fetched and numpy; SQLite ranked by window functions in SQL); the
    milliseconds of each."""
    native = db.engine.dialect.name == "postgresql"
    query = StatsQuery(*period, COUNTY)
    counting = _Counting(Scope.everything(), COUNTY, query, now_us, native)
    left = _INTERVALS.c
    keys, source = [left.status], select(left.incident_id)
    windowed = _windowed_percentiles(keys, left.spent_us, source)
    fetched = select(left.status, left.spent_us)

    with db.engine.connect() as connection:
        if not native:
            connection.exec_driver_sql("PRAGMA temp_store = MEMORY")  # as the statistics
        _INTERVALS.create(connection)
        counting.fill_intervals(connection)

        def as_the_statistics() -> object:
            return list(counting._measured(connection, keys, left.spent_us, source, left.late))

        def by_numpy() -> object:
            grouped: dict[str, list[int]] = {}
            for status, value in connection.execute(fetched):
                grouped.setdefault(status, []).append(value)
            return {status: (len(values), float(np.mean(values)),
                             *np.percentile(np.array(values), [50, 90]))
                    for status, values in grouped.items()}  # fmt: skip

        def by_windows() -> object:
            return connection.execute(windowed).all()

        ours = best_ms(as_the_statistics, repeat)
        peer = best_ms(by_numpy if native else by_windows, repeat)
        connection.rollback()
        _INTERVALS.drop(connection, checkfirst=True)
        connection.commit()
    return ours, peer


def _windowed_percentiles(keys: list[Any], value: Any, source: Select[Any]) -> Select[Any]:
    """Count, mean, median and p90 of ``value`` per group of ``keys`` by window functions
    (what SQLite can do in SQL): each value ranked in its group, the percentile
    interpolated between the two values around ``p * (n - 1)`` with whole-number weights."""
    ranked = source.with_only_columns(
        *(key.label(f"k{i}") for i, key in enumerate(keys)),
        value.label("v"),
        (func.row_number().over(partition_by=keys, order_by=value) - 1).label("rn"),
        func.count().over(partition_by=keys).label("n"),
    ).subquery("ranked")
    groups = [ranked.c[f"k{i}"] for i in range(len(keys))]

    def percentile(num: int, den: int) -> Any:
        position = cast(ranked.c.n - 1, BigInteger) * num
        low, rest = position // den, position % den
        weight = case((ranked.c.rn == low, den - rest), else_=0) + case(
            (ranked.c.rn == low + 1, rest), else_=0
        )
        return func.sum(cast(ranked.c.v, Float) * weight) / float(den)

    return (
        select(*groups, func.count(), func.avg(cast(ranked.c.v, Float)), percentile(1, 2),
               percentile(9, 10))
        .select_from(ranked)
        .group_by(*groups)
    )  # fmt: skip


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
