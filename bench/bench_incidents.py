"""Incidents at scale: a page of a town's list, a step, and an escalation run over many
overdue incidents, on SQLite (default) or PostgreSQL (``--url``).

Usage::

    .venv/bin/python bench/bench_incidents.py [--incidents 5000] [--url postgresql://...]

Stores ``--incidents`` waterlogging incidents spread over 20 villages of two towns (written
in bulk through the same ``enter_status``/``append_step`` as the domain), then prints:

- the median time of a page of 100 newest incidents of one town, unfiltered, with a text
  filter, and overdue ones ordered by due time (and the same page for the whole province:
  the scope's cost is the ratio);
- steps taken per second (``comment`` steps, each its own transaction with its lock);
- the seconds of escalating every incident (all an hour late: four levels each, up to the
  province, in runs of 500 as the lifespan task makes them) and of a run at the same time
  after that, which changes nothing.

The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cim.ops import OpsDatabase
from cim.ops.incident_tables import Incident
from cim.scope import Scope
from simulation.incidents.actors import Actor
from simulation.incidents.escalation import BATCH, escalate_overdue
from simulation.incidents.incidents import list_incidents, take_step
from simulation.incidents.records import IncidentQuery
from simulation.incidents.steps import append_step, enter_status

T0 = 1_796_000_000_000_000
TOWNS = ("440106001000", "440106002000")
VILLAGES = [town[:9] + f"{v:03d}" for town in TOWNS for v in range(1, 11)]


def fill(db: OpsDatabase, count: int) -> None:
    """Store ``count`` reported incidents, one microsecond apart."""
    with db.transaction() as session:
        for index in range(count):
            incident = Incident(
                category="waterlogging", title=f"Water {index}", description="deep",
                priority=1, source="inspector", jurisdiction=VILLAGES[index % len(VILLAGES)],
                alert_active=False, reporter="bench", created_us=T0 + index,
                escalation_level=0, lon=113.3 + (index % 100) * 1e-4, lat=23.1,
            )  # fmt: skip
            enter_status(incident, "reported", T0 + index)
            session.add(incident)
            session.flush()
            append_step(session, incident, "report", from_status=None, actor="bench",
                        actor_kind="user", actor_jurisdiction=TOWNS[0],
                        now_us=T0 + index)  # fmt: skip


def median_ms(run: object, repeat: int = 15) -> float:
    """The median milliseconds of ``run()``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=5_000)
    parser.add_argument("--url", default=None, help="an empty PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'ops.sqlite'}"
        with OpsDatabase.open(url) as db:
            start = time.perf_counter()
            fill(db, args.incidents)
            print(f"stored {args.incidents} incidents in {time.perf_counter() - start:.1f} s")
            town, province = Scope.of(TOWNS[0]), Scope.of("440000000000")
            late = T0 + 3_600_000_000
            pages = {
                "newest": IncidentQuery(),
                "text": IncidentQuery(text="Water 19"),
                "overdue by due": IncidentQuery(overdue_at_us=late, order="due"),
            }
            for name, query in pages.items():
                mine = median_ms(lambda q=query: list_incidents(db, town, q))
                every = median_ms(lambda q=query: list_incidents(db, province, q))
                print(f"page of 100, {name:15s} town {mine:7.1f} ms   province {every:7.1f} ms"
                      f"   province/town {every / mine:.2f}")  # fmt: skip
            actor = Actor("bench", "user", TOWNS[0], town, frozenset({"report"}))
            ids = [r.id for r in list_incidents(db, town, IncidentQuery(limit=200))[0]]
            start = time.perf_counter()
            for incident_id in ids:
                take_step(db, incident_id, "comment", actor, now_us=late, note="still there")
            seconds = time.perf_counter() - start
            print(f"steps: {len(ids) / seconds:.0f} per second ({len(ids)} comment steps)")
            runs, escalated, start = 0, 0, time.perf_counter()
            while True:  # a run takes BATCH incidents; the lifespan task runs it repeatedly
                done = escalate_overdue(db, late)
                runs, escalated = runs + 1, escalated + len(done)
                if len(done) < BATCH:
                    break
            print(f"escalation: {escalated} incidents in {runs} runs,"
                  f" {time.perf_counter() - start:.2f} s")  # fmt: skip
            start = time.perf_counter()
            again = escalate_overdue(db, late)
            print(f"escalation again at the same time: {len(again)} changed,"
                  f" {time.perf_counter() - start:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
