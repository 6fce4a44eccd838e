"""Open311 GeoReport v2 costs: listing service requests (JSON and XML) and posting them
form-encoded, beside the platform's own incident API doing the same work.

Usage::

    .venv/bin/python bench/bench_open311.py [--incidents 1000] [--posts 200] [--repeat 5]

A new city (a county and two towns) gets ``--incidents`` citizens' incidents through the
domain; the app runs in-process (ASGI, no network) without a write rate limit. Printed:

- list: ``GET /open311/v2/requests.json`` and ``.xml`` of the (at most 1 000) requests,
  median of ``--repeat`` calls, beside ``GET /api/incidents?limit=1000`` (the incident
  API's JSON of the same incidents) and the ratio to it;
- report: ``--posts`` form-encoded ``POST /open311/v2/requests.json`` with an API key,
  requests per second, beside as many JSON ``POST /api/incidents`` by a signed-in
  operator and the ratio to it.

The peer is the platform's own incident API: the Open311 layer's cost is the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["CIMTWIN_WRITE_RATE"] = ""  # no write limit for the measured clients
os.environ.setdefault("CIMTWIN_SECRET_KEY", "bench-secret-" + "x" * 40)

from fastapi.testclient import TestClient  # noqa: E402
from shapely.geometry import Polygon, box  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth.apikeys import make_key  # noqa: E402
from api.auth.state import auth_state_of  # noqa: E402
from cim.crs import transformer  # noqa: E402
from cim.jurisdictions import Jurisdiction  # noqa: E402
from cim.ops import keys  # noqa: E402
from cim.scope import Scope  # noqa: E402
from cim.store import CityStore  # noqa: E402
from simulation.incidents.actors import Actor  # noqa: E402
from simulation.incidents.incidents import IncidentReport, report_incident  # noqa: E402
from tests.signin import signed_in  # noqa: E402

CRS = "EPSG:4547"
COUNTY, TOWN = "440106000000", "440106001000"
X0, Y0 = 432700.0, 2557900.0


def build_city(folder: Path) -> Path:
    """A city whose only content is its jurisdiction tree: a county and a town in it."""
    city = folder / "city"
    with CityStore.create(city, CRS, "Open311 bench") as store, store.transaction() as writer:
        writer.replace_jurisdictions([
            Jurisdiction.of(code, name, _square(half))
            for code, name, half in (("440000000000", "Guangdong", 5000),
                                     ("440100000000", "Guangzhou", 4000),
                                     (COUNTY, "Tianhe", 3000), (TOWN, "Town", 1000))
        ])  # fmt: skip
    return city


def _square(half: float) -> Polygon:
    return box(X0 - half, Y0 - half, X0 + half, Y0 + half)


def seed(client: TestClient, count: int, lon: float, lat: float) -> None:
    """``count`` citizens' waterlogging reports in the town, through the domain."""
    db = auth_state_of(client.app).db  # type: ignore[arg-type]
    reporter = Actor("key:bench", "key", TOWN, Scope.of(TOWN), frozenset({"report"}))
    now = int(time.time() * 1_000_000)
    for number in range(count):
        report = IncidentReport(
            category="waterlogging", title=f"Water {number}", description="At the gate",
            source="citizen", jurisdiction=TOWN, lon=lon, lat=lat, address=f"{number} Road",
            contact={"email": "li@example.cn"}, attributes={"depth": "knee"},
        )  # fmt: skip
        report_incident(db, report, reporter, now_us=now - number * 1_000_000)


def median_seconds(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_lists(client: TestClient, key: str, staff: dict[str, str], repeat: int) -> None:
    def get(url: str, **options: object) -> None:
        answer = client.get(url, **options)  # type: ignore[arg-type]
        assert answer.status_code == 200, answer.text[:200]

    peer = median_seconds(lambda: get("/api/incidents?limit=1000", headers=staff), repeat)
    print(f"list peer  GET /api/incidents?limit=1000: {peer * 1000:.1f} ms")
    for fmt in ("json", "xml"):
        took = median_seconds(
            lambda fmt=fmt: get(f"/open311/v2/requests.{fmt}", params={"api_key": key}), repeat
        )
        print(f"list open311 GET requests.{fmt}: {took * 1000:.1f} ms"
              f" ({took / peer:.2f} x the incident API)")  # fmt: skip


def bench_posts(
    client: TestClient, key: str, staff: dict[str, str], posts: int, lon: float, lat: float
) -> None:
    def open311() -> None:
        answer = client.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "waterlogging", "lat": str(lat), "long": str(lon),
            "description": "Water at the gate", "email": "li@example.cn",
            "attribute[depth]": "knee",
        })  # fmt: skip
        assert answer.status_code == 201, answer.text[:200]

    def incident_api() -> None:
        answer = client.post("/api/incidents", headers=staff, json={
            "category": "waterlogging", "title": "Water at the gate", "lon": lon, "lat": lat,
            "description": "Water at the gate", "attributes": {"depth": "knee"},
        })  # fmt: skip
        assert answer.status_code == 201, answer.text[:200]

    rates = {}
    for name, call in (("peer  POST /api/incidents (JSON)", incident_api),
                       ("open311 POST requests.json (form)", open311)):  # fmt: skip
        started = time.perf_counter()
        for _ in range(posts):
            call()
        rates[name] = posts / (time.perf_counter() - started)
    peer, ours = rates.values()
    for name, rate in rates.items():
        print(f"report {name}: {rate:,.0f} requests/s")
    print(f"report open311 / incident API: {ours / peer:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        city = build_city(Path(scratch))
        app = create_app(city, worker=False)
        with TestClient(app) as client:
            lon, lat = transformer(CRS, "EPSG:4326").transform(X0 + 10, Y0 + 10)
            new = make_key()
            state = auth_state_of(app)
            keys.add_key(state.db, new.id, secret_hash=new.secret_hash, name="bench app",
                         jurisdiction=TOWN, actions=("report",), now=state.clock())  # fmt: skip
            staff = signed_in(app, roles=("operator",), jurisdiction=TOWN)
            started = time.perf_counter()
            seed(client, args.incidents, lon, lat)
            print(f"seeded {args.incidents} incidents in {time.perf_counter() - started:.1f} s")
            bench_lists(client, new.key, staff, args.repeat)
            bench_posts(client, new.key, staff, args.posts, lon, lat)


if __name__ == "__main__":
    main()
