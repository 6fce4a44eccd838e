"""What authorization costs a read-heavy route: the same route without it and with a town
user's access token or API key (scoped reads), in one run.

Usage::

    .venv/bin/python bench/bench_auth.py [--buildings 5000] [--requests 1000] [--repeat 3]
                                         [--database-url URL]

It builds a temporary city of ``--buildings`` footprints spread over two towns of Tianhe
(its jurisdictions stored, every building coded), one viewer of the first town and one API
key of it (the operational database: the SQLite file of the city, or ``--database-url``),
and calls ``GET /api/objects?class=building&limit=100`` in this process (Starlette's test
client, one request at a time):

- ``no authorization``: the route with the caller's scope replaced by everything (no token
  read, no session query, no scope condition in the SQL): the peer;
- ``bearer``: a town viewer's access token (JWT check, one query for the session, the
  town's scope in the SQL);
- ``api key``: the town's key (one query, one SHA-256, the same scope);

and prints the best requests/s of ``--repeat`` rounds, the ratio to ``no authorization``,
and the milliseconds of one password sign-in (argon2id with its default parameters). The
test suite runs it once with small numbers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shapely.geometry import box

from api.app import create_app
from api.auth.apikeys import make_key
from api.auth.clock import utc_now
from api.auth.passwords import hash_password
from api.auth.state import configure
from api.deps import caller_scope
from cim.jurisdictions import Jurisdiction
from cim.model import CityObject
from cim.ops import database_url, keys, users
from cim.scope import Scope
from cim.store import CityStore

PASSWORD = "bench password 2026"
COUNTY = "440106000000"
TOWNS = ("440106001000", "440106002000")
ROUTE = "/api/objects?class=building&limit=100"
X0, Y0, SIDE = 430000.0, 2557000.0, 2000.0  # EPSG:4547, Tianhe


def build_city(folder: Path, buildings: int) -> None:
    """``buildings`` 10 m squares over two towns (west and east halves of a county)."""
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(X0 + 20, X0 + SIDE - 20, buildings), rng.uniform(Y0, Y0 + SIDE, buildings)
    with CityStore.create(folder, "EPSG:4547", "Bench town") as store:
        with store.transaction() as writer:
            for index, (x, y) in enumerate(zip(xs, ys, strict=True)):
                writer.add_object(CityObject(
                    f"b{index}", "building", f"Building {index}", None, "bench.gpkg",
                    footprint=box(x, y, x + 10, y + 10), base_height=0.0, top_height=12.0,
                ))  # fmt: skip
        with store.transaction() as writer:
            half = X0 + SIDE / 2
            writer.replace_jurisdictions([
                Jurisdiction.of("440000000000", "Guangdong", box(X0 - 1e4, Y0 - 1e4, X0 + 3e4,
                                                                 Y0 + 3e4)),
                Jurisdiction.of("440100000000", "Guangzhou", box(X0 - 5e3, Y0 - 5e3, X0 + 2e4,
                                                                 Y0 + 2e4)),
                Jurisdiction.of(COUNTY, "Tianhe", box(X0, Y0 - 10, X0 + SIDE, Y0 + SIDE + 20)),
                Jurisdiction.of(TOWNS[0], "West", box(X0, Y0 - 10, half, Y0 + SIDE + 20)),
                Jurisdiction.of(TOWNS[1], "East", box(half, Y0 - 10, X0 + SIDE, Y0 + SIDE + 20)),
            ])  # fmt: skip


def build_app(folder: Path, url: str | None) -> tuple[FastAPI, str]:
    """The app over the city with one town viewer and one town API key; the key."""
    app = create_app(folder, worker=False)
    state = configure(app, secret=secrets.token_urlsafe(48), url=database_url(folder, url))
    users.add_user(state.db, "bench", password_hash=hash_password(PASSWORD),
                   jurisdiction=TOWNS[0], roles=["viewer"], now=utc_now())  # fmt: skip
    new = make_key()
    keys.add_key(state.db, new.id, secret_hash=new.secret_hash, name="bench",
                 jurisdiction=TOWNS[0], actions=["read"], now=utc_now())  # fmt: skip
    return app, new.key


def rate(client: TestClient, headers: dict[str, str], requests: int) -> float:
    """Requests per second of ``requests`` calls of the route, one after the other."""
    started = time.perf_counter()
    for _ in range(requests):
        answer = client.get(ROUTE, headers=headers)
        assert answer.status_code == 200, answer.text
    return requests / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the bench; print a table and, last, one JSON line of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buildings", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cimtwin-bench-auth-") as tmp:
        folder = Path(tmp) / "city"
        build_city(folder, args.buildings)
        app, key = build_app(folder, args.database_url)
        client = TestClient(app)
        sign_ins = []
        for _ in range(max(args.repeat, 1)):
            started = time.perf_counter()
            form = {"username": "bench", "password": PASSWORD}
            answer = client.post("/api/auth/token", data=form)
            sign_ins.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        bare = create_app(folder, worker=False)
        bare.dependency_overrides[caller_scope] = Scope.everything
        cases = {
            "no authorization": (TestClient(bare), {}),
            "bearer": (client, {"Authorization": f"Bearer {token}"}),
            "api key": (client, {"X-API-Key": key}),
        }
        best = {name: 0.0 for name in cases}
        for _ in range(args.repeat):
            for name, (caller, headers) in cases.items():
                best[name] = max(best[name], rate(caller, headers, args.requests))
        app.state.auth.close()
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"GET {ROUTE} over {args.buildings} buildings in two towns ({backend} users)")
    print(f"{'case':<18}{'requests/s':>12}{'ratio':>8}   (best of {args.repeat})")
    for name, value in best.items():
        print(f"{name:<18}{value:>12.0f}{value / best['no authorization']:>8.2f}")
    print(f"sign-in (argon2id): {min(sign_ins) * 1000:.0f} ms")
    figures = {
        **{f"{name} rps": value for name, value in best.items()},
        "sign-in ms": min(sign_ins) * 1000,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
