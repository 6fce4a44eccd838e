"""Alert rules at ingest: the ingest rate with 1 000 rules against without, and rules
evaluated per second.

Usage::

    .venv/bin/python bench/bench_rules.py [--datastreams 1000] [--rules 1000]
        [--observations 20000] [--batch 1000] [--repeat 2] [--sweep 1] [--postgres] [--http]

Two operational databases, each with ``--datastreams`` datastreams (seeded as
bench_sensors.py does, five observed properties): one without rules, one with ``--rules``
rules — nine in ten on one datastream each (above, below and rate, some with a minimum
duration, a tenth with an incident category), the rest silent rules on datastreams, plus two
rules per observed property. The same ``--observations`` (values sweeping 0..100 and back by
``--sweep`` a second, so alerts raise and clear and incidents open and get steps; 7 makes
an alert change every few values) go in batches of ``--batch``:

- without rules: :func:`simulation.sensors.ingest.ingest` per batch (what the server does
  when no rule is enabled: the alert engine does not even listen);
- with rules: the same ingest, then the ``"observation"`` events of what it stored
  (:func:`api.sta.publish.observation_events`: the server makes them once the engine
  listens) and :meth:`simulation.incidents.alerting.AlertEvaluator.evaluate` of their
  observations (one transaction per batch), serially here: in the server the engine's
  thread evaluates beside ingest.

``--http`` does the same over HTTP: data arrays (as bench_sta_ingest.py sends them) to
``cimtwin serve`` of a city without rules and of one with the rules, the acknowledged rate
of each, and when the alert engine (its own thread in the server) has evaluated every row.

It prints observations/s of both and their ratio (best of ``--repeat`` runs, alternating,
each on fresh observation times), the evaluation alone (rule evaluations per second: one per
rule applying to an observation) and how many alerts and incidents the run made. No peer
publishes this figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_sensors import JURISDICTION, postgres_cluster, seed_datastreams
from common import cpu_pressure

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Alert, AlertRule, Incident
from cim.scope import Scope

START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SECOND_US = 1_000_000


def seed_rules(db: OpsDatabase, streams: list[int], count: int) -> None:
    """``count`` rules over ``streams`` (see the module's docstring)."""
    with db.transaction() as session:
        kinds = session.scalars(select(t.ObservedProperty.id)).all()
    per_property = [(kind, n) for kind in kinds for n in range(2)][: max(0, count // 100)]
    silent = count // 10
    single = count - silent - len(per_property)
    rows: list[dict[str, Any]] = []
    for i in range(single):
        condition = ("above", "below", "rate_above")[i % 3]
        raise_value, clear_value = {"above": (90.0, 80.0), "below": (5.0, 10.0),
                                    "rate_above": (5.0, 0.0)}[condition]  # fmt: skip
        rows.append(_rule(f"rule {i}", condition, raise_value, clear_value,
                          duration_s=(0, 0, 30)[i % 3] if condition != "rate_above" else 0,
                          datastream_id=streams[i % len(streams)],
                          category="waterlogging" if i % 10 == 0 else None))  # fmt: skip
    for i in range(silent):
        rows.append(_rule(f"silent {i}", "silent", None, None, duration_s=900,
                          datastream_id=streams[(single + i) % len(streams)]))  # fmt: skip
    for kind, n in per_property:
        rows.append(_rule(f"property {kind}.{n}", "above", 95.0 + n, 85.0,
                          observed_property_id=kind))  # fmt: skip
    with db.transaction() as session:
        session.execute(insert(AlertRule), rows)


def _rule(
    name: str, condition: str, raise_value: float | None, clear_value: float | None, **more: Any
) -> dict[str, Any]:
    row = {
        "name": name, "jurisdiction": JURISDICTION, "condition": condition,
        "raise_value": raise_value, "clear_value": clear_value, "duration_s": 0,
        "datastream_id": None, "observed_property_id": None, "object_class": None,
        "category": None, "priority": 3, "enabled": True, "created_by": "bench",
        "created_us": START_US, "updated_us": START_US,
    }  # fmt: skip
    row.update(more)
    return row


def observations(streams: list[int], total: int, start_us: int, sweep: int) -> list[Any]:
    """``total`` rows over ``streams``, one second apart per datastream, values sweeping
    0..100 and back by ``sweep`` a second, with a phase per datastream."""
    from simulation.sensors.records import ObservationIn

    rows = []
    for i in range(total):
        stream = streams[i % len(streams)]
        step = i // len(streams)
        phase = (step * sweep + stream * 13) % 200
        value = float(phase if phase <= 100 else 200 - phase)
        rows.append(ObservationIn(stream, start_us + step * SECOND_US, value))
    return rows


def run(
    db: OpsDatabase, rows: list[Any], batch: int, evaluator: Any | None
) -> tuple[float, float, float, int]:
    """Ingest ``rows`` (with an evaluator: make their hub events and evaluate them too);
    (seconds in all, seconds making events, seconds evaluating, alerts raised or cleared)."""
    from api.sta.publish import observation_events
    from simulation.sensors.ingest import ingest

    scope = Scope.of(JURISDICTION)
    making = evaluating = 0.0
    outcomes = 0
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        created = ingest(db, rows[first : first + batch], scope).created
        if evaluator is not None:
            began = time.perf_counter()
            events = observation_events(db, created, "http://bench")
            made = time.perf_counter()
            outcomes += len(evaluator.evaluate([e.source for e in events], START_US))
            making += made - began
            evaluating += time.perf_counter() - made
    return time.perf_counter() - started, making, evaluating, outcomes


def evaluations(evaluator: Any, rows: list[Any]) -> int:
    """Rule evaluations ``rows`` cause: one per rule applying to an observation."""
    applying = evaluator.applying({row.datastream_id for row in rows})
    return sum(len(applying[row.datastream_id][1]) for row in rows if row.datastream_id in applying)


def bench(url_of: Any, args: argparse.Namespace, label: str) -> None:
    from simulation.incidents.alerting import AlertEvaluator

    with url_of("plain") as plain_url, url_of("rules") as rules_url:
        plain, ruled = OpsDatabase.open(plain_url), OpsDatabase.open(rules_url)
        try:
            streams = seed_datastreams(plain, args.datastreams, START_US)
            seed_datastreams(ruled, args.datastreams, START_US)
            seed_rules(ruled, streams, args.rules)
            evaluator = AlertEvaluator(ruled)
            best_plain = best_ruled = best_eval = best_events = float("inf")
            count = 0
            for attempt in range(args.repeat):
                start = START_US + attempt * 10**6 * (args.observations // len(streams) + 1)
                rows = observations(streams, args.observations, start, args.sweep)
                best_plain = min(best_plain, run(plain, rows, args.batch, None)[0])
                spent, making, evaluating, outcomes = run(ruled, rows, args.batch, evaluator)
                best_ruled, best_eval = min(best_ruled, spent), min(best_eval, evaluating)
                best_events = min(best_events, making)
                count += outcomes
            per_obs = evaluations(evaluator, rows)
            with ruled.transaction() as session:
                alerts = session.scalar(select(func.count()).select_from(Alert))
                incidents = session.scalar(select(func.count()).select_from(Incident))
                rules = session.scalar(select(func.count()).select_from(AlertRule))
        finally:
            plain.close()
            ruled.close()
    n = args.observations
    without, with_rules = n / best_plain, n / best_ruled
    print(f"[{label}] {args.datastreams} datastreams, {n} observations in batches of"
          f" {args.batch}, best of {args.repeat} (CPU pressure {cpu_pressure()}%):")  # fmt: skip
    print(f"[{label}]   ingest without rules: {without:,.0f} obs/s")
    print(f"[{label}]   ingest + hub events + evaluation with {rules} rules:"
          f" {with_rules:,.0f} obs/s, ratio {with_rules / without:.2f} of the rate without"
          f" (making the events alone: {n / best_events:,.0f} obs/s)")  # fmt: skip
    print(f"[{label}]   evaluation alone: {per_obs} rule evaluations per {n} observations in"
          f" {best_eval:.3f} s: {per_obs / best_eval:,.0f} evaluations/s,"
          f" {n / best_eval:,.0f} obs/s; {count} alerts raised or cleared"
          f" ({alerts} alerts, {incidents} incidents stored)")  # fmt: skip


def bench_http(args: argparse.Namespace) -> None:
    """The same comparison over HTTP: data arrays to ``cimtwin serve`` (as
    bench_sta_ingest.py sends them) of a city without rules and of one with ``--rules``;
    the acknowledged rate, and when the alert engine has evaluated every row."""
    import bench_sta_ingest as http
    from sqlalchemy import text

    from cim.store import CityStore
    from simulation.incidents.alerting import AlertEvaluator

    # states whose last value alone moved are written on the engine's silence tick: a
    # short one, so that the database shows when every row was evaluated (within 0.5 s)
    os.environ.update({"CIMTWIN_MQTT": "off", "CIMTWIN_WRITE_RATE": "",
                       "CIMTWIN_SILENCE_CHECK_SECONDS": "0.5"})  # fmt: skip
    figures: dict[str, tuple[float, float | None]] = {}
    for label, rules in (("without rules", 0), (f"with {args.rules} rules", args.rules)):
        with tempfile.TemporaryDirectory(prefix="bench-rules-http-") as folder:
            city = Path(folder) / "city"
            CityStore.create(city, "EPSG:4547", "rules").close()
            streams, key = http.seed(city, args.datastreams)
            pairs = 0
            if rules:
                with OpsDatabase.for_city(city) as db:
                    seed_rules(db, streams, rules)
                    applying = AlertEvaluator(db).applying(streams)
                    pairs = sum(len(found[1]) for found in applying.values())
            requests = http.bodies(streams, args.observations, args.batch)
            last_us = (http.START_S + args.observations // len(streams) - 1) * SECOND_US
            with http.serving(city) as (url, _server):
                started = time.perf_counter()
                seconds, refused = http.send(url, key, requests, 1)
                assert not refused, f"{refused} rows refused"
                evaluated = None
                if pairs:
                    with OpsDatabase.for_city(city) as db, db.engine.connect() as conn:
                        count = text("SELECT COUNT(*) FROM alert_states WHERE last_us >= :t")
                        deadline = time.monotonic() + 300
                        while conn.execute(count, {"t": last_us}).scalar_one() < pairs:
                            assert time.monotonic() < deadline, "the engine did not catch up"
                            time.sleep(0.05)
                            conn.rollback()
                        evaluated = time.perf_counter() - started
            figures[label] = (args.observations / seconds, evaluated)
    (plain, _), (ruled, evaluated) = figures.values()
    print(f"[HTTP] {args.observations} observations in data arrays of {args.batch} to"
          f" `cimtwin serve` (SQLite, MQTT off), {args.datastreams} datastreams:")  # fmt: skip
    print(f"[HTTP]   acknowledged without rules: {plain:,.0f} obs/s")
    print(f"[HTTP]   acknowledged with {args.rules} rules: {ruled:,.0f} obs/s, ratio"
          f" {ruled / plain:.2f}; every row evaluated after"
          f" {evaluated or float('nan'):.2f} s: {args.observations / (evaluated or 1):,.0f} obs/s"
          f" end to end")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datastreams", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--observations", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sweep", type=int, default=1,
                        help="value change per second (7: an alert every few values)")  # fmt: skip
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too")
    parser.add_argument("--http", action="store_true", help="over HTTP to `cimtwin serve` too")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    if args.http:
        bench_http(args)
    from contextlib import contextmanager

    with tempfile.TemporaryDirectory(prefix="bench-rules-") as folder:

        @contextmanager
        def sqlite_url(name: str) -> Any:
            yield f"sqlite:///{Path(folder) / f'{name}.sqlite'}"

        bench(sqlite_url, args, "SQLite")
    if args.postgres:
        with postgres_cluster() as server_url:

            @contextmanager
            def postgres_url(name: str) -> Any:
                from sqlalchemy import create_engine, text
                from sqlalchemy.engine import make_url

                admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE bench_{name}"))
                admin.dispose()
                yield make_url(server_url).set(database=f"bench_{name}").render_as_string(False)

            bench(postgres_url, args, "PostgreSQL")


if __name__ == "__main__":
    main()
