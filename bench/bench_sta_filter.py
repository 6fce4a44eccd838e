"""Cost of SensorThings ``$filter`` queries translated to SQL, on the embedded database.

Usage::

    .venv/bin/python bench/bench_sta_filter.py [--locations 50000] [--observations 200000]
                                              [--repeat 5]

An SQLite operational database in a temporary folder gets ``locations`` point locations
spread over 1 degree around Guangzhou and ``observations`` observations in 100 datastreams
of 100 things. Each case runs the query :func:`simulation.sensors.filter.filter_condition`
makes, and a peer measured in the same run:

- ``st_within``: a box of 0.1 degree; peers: the exact shapely test in SQL on every row
  (no bbox prefilter), and fetching every row to test it in Python (what evaluating the
  filter row by row costs);
- ``time and result``: ``phenomenonTime ge ... and result gt ...``; peer: fetching every
  row and testing it in Python;
- ``navigation``: ``Datastream/Thing/name eq '...'`` (an EXISTS); peer: the same ids by
  an explicit join written by hand.

Prints one line per case: the median milliseconds of ``repeat`` runs of each, the ratio
peer/ours, and the number of rows matched (the same for both, checked). The test suite
runs it only tiny.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CODE = "440106000000"
START_US = 1_577_836_800_000_000  # 2020-01-01T00:00:00Z
MINUTE_US = 60_000_000
BOX = (113.30, 23.10, 113.40, 23.20)
Query = Callable[[], set[int]]


def _fill(db: Any, locations: int, observations: int) -> None:
    import sqlalchemy as sa

    from cim.ops import sensor_tables as t

    rng = random.Random(7)
    location_rows = []
    for number in range(1, locations + 1):
        lon, lat = rng.uniform(112.9, 113.9), rng.uniform(22.7, 23.7)
        location_rows.append(
            {
                "id": number,
                "name": f"L{number}",
                "description": "",
                "encoding_type": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "jurisdiction": CODE,
                "lon_min": lon,
                "lat_min": lat,
                "lon_max": lon,
                "lat_max": lat,
            }
        )
    streams = 100
    with db.transaction() as session:
        session.execute(sa.insert(t.Location), location_rows)
        session.execute(
            sa.insert(t.Thing),
            [
                {"id": n, "name": f"thing {n}", "description": "", "jurisdiction": CODE}
                for n in range(1, streams + 1)
            ],
        )
        session.execute(
            sa.insert(t.Sensor),
            [{"id": 1, "name": "s", "description": "", "encoding_type": "x",
              "sensor_metadata": "", "jurisdiction": CODE}],
        )  # fmt: skip
        session.execute(
            sa.insert(t.ObservedProperty),
            [{"id": 1, "name": "p", "definition": "", "description": "", "jurisdiction": CODE}],
        )
        session.execute(
            sa.insert(t.Datastream),
            [
                {"id": n, "name": f"d{n}", "description": "", "observation_type": "m",
                 "unit_of_measurement": {}, "thing_id": n, "sensor_id": 1,
                 "observed_property_id": 1, "jurisdiction": CODE}
                for n in range(1, streams + 1)
            ],
        )  # fmt: skip
        session.execute(
            sa.insert(t.Observation),
            [
                {"id": n, "datastream_id": n % streams + 1,
                 "phenomenon_us": START_US + (n // streams) * MINUTE_US,
                 "result_number": rng.uniform(0, 100)}
                for n in range(1, observations + 1)
            ],
        )  # fmt: skip


def _median_ms(run: Callable[[], set[int]], repeat: int) -> tuple[float, set[int]]:
    times, found = [], set()
    for _ in range(repeat):
        began = time.perf_counter()
        found = run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), found


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run the cases; their figures by case name."""
    import shapely
    import sqlalchemy as sa

    from cim.ops import OpsDatabase
    from cim.ops import sensor_tables as t
    from simulation.sensors.entities import entity_type
    from simulation.sensors.filter import filter_condition, register_sqlite_functions

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=50_000)
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cimtwin-bench-filter-") as folder:
        db = OpsDatabase.open(f"sqlite:///{Path(folder) / 'ops.sqlite'}")
        register_sqlite_functions(db.engine)
        _fill(db, args.locations, args.observations)
        x0, y0, x1, y1 = BOX
        wkt = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"

        def ids(entity: str, text: str) -> Callable[[], set[int]]:
            etype = entity_type(entity)
            condition = filter_condition(etype, text, "sqlite")
            statement = sa.select(etype.model.id).where(condition)

            def run() -> set[int]:
                with db.engine.connect() as connection:
                    return set(connection.scalars(statement))

            return run

        def sql(statement: Any) -> Callable[[], set[int]]:
            def run() -> set[int]:
                with db.engine.connect() as connection:
                    return set(connection.scalars(statement))

            return run

        def python_within() -> set[int]:
            area = shapely.from_wkt(wkt)
            with db.engine.connect() as connection:
                rows = connection.execute(sa.select(t.Location.id, t.Location.location))
                return {
                    number
                    for number, geometry in rows
                    if shapely.within(shapely.geometry.shape(geometry), area)
                }

        since = START_US + (args.observations // 200) * MINUTE_US

        def python_time() -> set[int]:
            with db.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(t.Observation.id, t.Observation.phenomenon_us,
                              t.Observation.result_number)
                )  # fmt: skip
                return {n for n, at, value in rows if at >= since and (value or 0) > 90}

        thing = sa.orm.aliased(t.Thing)
        stream = sa.orm.aliased(t.Datastream)
        joined = (
            sa.select(t.Observation.id)
            .join(stream, stream.id == t.Observation.datastream_id)
            .join(thing, thing.id == stream.thing_id)
            .where(thing.name == "thing 7")
        )
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since // 1_000_000))
        cases: list[tuple[str, Query, list[tuple[str, Query]]]] = [
            (
                "st_within",
                ids("Locations", f"st_within(location, geography'{wkt}')"),
                [
                    ("exact on every row",
                     sql(sa.select(t.Location.id).where(
                         sa.func.sta_geo("within", t.Location.location, wkt) == 1))),
                    ("python row by row", python_within),
                ],
            ),
            (
                "time and result",
                ids("Observations", f"phenomenonTime ge {iso} and result gt 90"),
                [("python row by row", python_time)],
            ),
            (
                "navigation",
                ids("Observations", "Datastream/Thing/name eq 'thing 7'"),
                [("hand-written join", sql(joined))],
            ),
        ]  # fmt: skip
        figures: dict[str, dict[str, float]] = {}
        print(f"{args.locations} locations, {args.observations} observations, SQLite")
        for name, ours, peers in cases:
            ours_ms, expected = _median_ms(ours, args.repeat)
            figures[name] = {"ours ms": ours_ms, "rows": len(expected)}
            line = f"{name:16} ours {ours_ms:9.2f} ms ({len(expected)} rows)"
            for peer_name, peer in peers:
                peer_ms, found = _median_ms(peer, args.repeat)
                if found != expected:
                    raise SystemExit(f"{name}: {peer_name} found other rows than the filter")
                figures[name][f"{peer_name} ms"] = peer_ms
                line += f" | {peer_name} {peer_ms:9.2f} ms, ratio {peer_ms / ours_ms:6.1f}"
            print(line)
        db.close()
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
