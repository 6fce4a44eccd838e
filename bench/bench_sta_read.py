"""Reading SensorThings pages: a 1 000-row page of observations, and an expanded level read
for all its parents at once against reading each parent's collection in turn (the N+1 way).

Usage::

    .venv/bin/python bench/bench_sta_read.py [--datastreams 20] [--observations 1000]
        [--repeat 10] [--postgres]

An operational database (SQLite, in a temporary folder) gets D datastreams of N minute
observations each, in one town. Each line prints the median over ``--repeat`` runs of:

- ``GET /sta/v1.1/Observations?$top=1000`` through the app (a test client: routing,
  authentication, SQL, JSON), and the same page as a data array;
- the page's SQL alone (:func:`simulation.sensors.read.read_collection`) and its JSON alone;
- ``Datastreams?$expand=Observations($top=50)`` as the server reads it (the level at once:
  one prepared statement run per parent on SQLite), and the same observations read as
  ``Datastreams(i)/Observations?$top=50`` for each datastream in turn, with the ratio;
- the latest observation of every datastream through ``$expand`` (``$top=1`` ordered by
  phenomenon time, newest first).

``--postgres`` runs the same on a throwaway PostgreSQL cluster (that of
``bench_sensors.py``). The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import insert

from api.app import create_app
from api.auth.state import configure
from api.sta.serialize import collection_json
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.entities import DATASTREAM, OBSERVATION
from simulation.sensors.read import MAX_TOP, Expansion, Query, Step, read_collection
from tests.signin import signed_in

TOWN = "440106001000"
T0 = 1_796_284_800_000_000
MINUTE = 60_000_000


def fill(db: OpsDatabase, datastreams: int, observations: int) -> None:
    """One thing, sensor and property; ``datastreams`` datastreams of ``observations`` rows."""
    with db.transaction() as session:
        session.add(t.Thing(id=1, name="Station", description="d", jurisdiction=TOWN))
        session.add(t.Sensor(id=1, name="S", description="d", encoding_type="text/html",
                             sensor_metadata="m", jurisdiction=TOWN))  # fmt: skip
        session.add(t.ObservedProperty(id=1, name="P", description="d", definition="x",
                                       jurisdiction=TOWN))  # fmt: skip
        session.flush()
        streams = [
            t.Datastream(id=i, name=f"Stream {i}", description="d", observation_type="m",
                         unit_of_measurement={"symbol": "degC"}, thing_id=1, sensor_id=1,
                         observed_property_id=1, jurisdiction=TOWN)
            for i in range(1, datastreams + 1)
        ]  # fmt: skip
        session.add_all(streams)
        session.flush()
    rows = [
        {"datastream_id": d, "phenomenon_us": T0 + i * MINUTE, "result_number": 20.0 + i % 50 / 4}
        for d in range(1, datastreams + 1)
        for i in range(observations)
    ]
    with db.engine.begin() as connection:
        connection.execute(insert(t.Observation), rows)


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``action`` in milliseconds (after one warm-up run)."""
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(url: str, label: str, args: argparse.Namespace) -> None:
    """Fill the database at ``url`` (empty) and print the figures, each line led by ``label``."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Path(folder), viewer_dir=Path(folder) / "none", worker=False)
        state = configure(app, url=url, secret=secrets.token_urlsafe(48))
        db = state.db
        fill(db, args.datastreams, args.observations)
        client = TestClient(app, headers=signed_in(app, roles=("viewer",), jurisdiction=TOWN))
        scope = Scope.of(TOWN)
        base = "http://testserver"
        total = args.datastreams * args.observations
        print(f"[{label}] {args.datastreams} datastreams x {args.observations} observations"
              f" = {total} rows")  # fmt: skip

        def page(params: dict[str, Any]) -> None:
            response = client.get("/sta/v1.1/Observations", params=params)
            assert response.status_code == 200 and response.json()["value"], response.text

        http = median_ms(lambda: page({"$top": 1000}), args.repeat)
        array = median_ms(lambda: page({"$top": 1000, "$resultFormat": "dataArray"}), args.repeat)
        steps = [Step(OBSERVATION)]
        query = Query(top=1000)
        sql = median_ms(lambda: read_collection(db, steps, query, scope), args.repeat)
        read = read_collection(db, steps, query, scope)
        as_json = median_ms(lambda: collection_json(read, base, query, None), args.repeat)
        print(f"[{label}] page of 1000 observations: HTTP {http:.1f} ms (SQL {sql:.1f} ms,"
              f" JSON {as_json:.1f} ms); as a data array {array:.1f} ms")  # fmt: skip

        nested = Query(top=50)
        parents = min(args.datastreams, MAX_TOP)
        expanded = Query(top=parents, expand=(Expansion("Observations", nested),))
        one_level = median_ms(
            lambda: read_collection(db, [Step(DATASTREAM)], expanded, scope), args.repeat
        )

        def per_parent() -> None:
            streams = read_collection(db, [Step(DATASTREAM)], Query(top=parents), scope)
            for stream in streams.entities:
                link = DATASTREAM.link("Observations")
                path = [Step(DATASTREAM, stream.id), Step(OBSERVATION, None, link)]
                read_collection(db, path, nested, scope)

        n_plus_one = median_ms(per_parent, args.repeat)
        print(f"[{label}] expand 50 observations of each of {parents} datastreams: the level at"
              f" once {one_level:.1f} ms, each datastream's collection in turn"
              f" {n_plus_one:.1f} ms (ratio {n_plus_one / one_level:.2f})")  # fmt: skip
        newest = Query(top=1, orderby="phenomenonTime desc")
        latest = Query(top=parents, expand=(Expansion("Observations", newest),))
        each = median_ms(
            lambda: read_collection(db, [Step(DATASTREAM)], latest, scope), args.repeat
        )
        print(f"[{label}] latest observation of each of {parents} datastreams ($expand="
              f"Observations($top=1;$orderby=phenomenonTime desc)): {each:.1f} ms")  # fmt: skip
        state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datastreams", type=int, default=20)
    parser.add_argument("--observations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/ops.sqlite", "sqlite", args)
    if args.postgres:
        from bench_sensors import postgres_cluster

        with postgres_cluster() as url:
            run(url, "postgresql", args)


if __name__ == "__main__":
    main()
