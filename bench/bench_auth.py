"""What authentication costs a request: a route without it against the same route reading
the caller from an access token or an API key, in one run.

Usage::

    .venv/bin/python bench/bench_auth.py [--requests 2000] [--repeat 3] [--database-url URL]

It builds an app on an empty temporary city (the operational database: the SQLite file
there, or ``--database-url``), adds one user and one API key, and calls in this process
(Starlette's test client, one request at a time):

- ``open``: a route with no dependency;
- ``bearer``: the same route with ``PrincipalDep``, an access token in the header (JWT
  check, then one query: session open, user enabled);
- ``api key``: the same with an API key (one query, one SHA-256);

and prints the best requests/s of ``--repeat`` rounds for each, the ratio to ``open``, and
the milliseconds of one password sign-in (argon2id with its default parameters, the
throttling query, the session and audit writes). Compare ratios of one run; the test
suite runs it once with small numbers.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.apikeys import make_key
from api.auth.deps import PrincipalDep
from api.auth.passwords import hash_password
from api.auth.state import configure, utc_now
from cim.ops import database_url, keys, users

PASSWORD = "bench password 2026"
JURISDICTION = "440106000000"


def build(folder: Path, url: str | None) -> tuple[FastAPI, str]:
    """An app with the two bench routes, one user and one key; the key."""
    app = create_app(folder, viewer_dir=folder / "no-viewer", worker=False)

    @app.get("/bench/open")
    def open_route() -> dict[str, str]:
        return {"who": "anyone"}

    @app.get("/bench/principal")
    def principal_route(principal: PrincipalDep) -> dict[str, str]:
        return {"who": principal.subject}

    state = configure(app, secret=secrets.token_urlsafe(48), url=database_url(folder, url))
    users.add_user(
        state.db,
        "bench",
        password_hash=hash_password(PASSWORD),
        jurisdiction=JURISDICTION,
        roles=["viewer"],
        now=utc_now(),
    )
    new = make_key()
    keys.add_key(
        state.db,
        new.id,
        secret_hash=new.secret_hash,
        name="bench",
        jurisdiction=JURISDICTION,
        actions=["read"],
        now=utc_now(),
    )
    return app, new.key


def rate(client: TestClient, path: str, headers: dict[str, str], requests: int) -> float:
    """Requests per second of ``requests`` calls, one after the other."""
    started = time.perf_counter()
    for _ in range(requests):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
    return requests / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the bench; print a table and, last, one JSON line of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cimtwin-bench-auth-") as tmp:
        app, key = build(Path(tmp), args.database_url)
        client = TestClient(app)
        sign_ins = []
        for _ in range(max(args.repeat, 1)):
            started = time.perf_counter()
            answer = client.post(
                "/api/auth/token", data={"username": "bench", "password": PASSWORD}
            )
            sign_ins.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        cases = {
            "open": ("/bench/open", {}),
            "bearer": ("/bench/principal", {"Authorization": f"Bearer {token}"}),
            "api key": ("/bench/principal", {"X-API-Key": key}),
        }
        best = {name: 0.0 for name in cases}
        for _ in range(args.repeat):
            for name, (path, headers) in cases.items():
                best[name] = max(best[name], rate(client, path, headers, args.requests))
        app.state.auth.close()
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"{'case':<10}{'requests/s':>12}{'ratio to open':>16}   ({backend}, best of {args.repeat})"
    )
    for name, value in best.items():
        print(f"{name:<10}{value:>12.0f}{value / best['open']:>16.2f}")
    print(f"sign-in (argon2id default parameters): {min(sign_ins) * 1000:.0f} ms")
    figures = {
        **{f"{name} rps": value for name, value in best.items()},
        "sign-in ms": min(sign_ins) * 1000,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
