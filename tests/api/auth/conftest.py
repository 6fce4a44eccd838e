"""An app with authentication on a settable clock, its database on each backend in turn.

The app serves an empty city folder (the auth routes need no city model) plus three test
routes: one reading the caller's scope, one writing (``import``) that records the write
in the audit log, one open to anyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import passwords
from api.auth.apikeys import make_key
from api.auth.audit import record_write
from api.auth.deps import PrincipalDep, ScopeDep, require
from api.auth.passwords import hash_password
from api.auth.principal import Principal
from api.auth.state import AuthConfig, AuthState, configure
from cim.ops import keys, users

PASSWORD = "correct horse battery"
TIANHE = "440106000000"
TOWN = "440106001000"
OTHER_TOWN = "440106002000"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 3, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class AuthApp:
    """The app, a client, its clock and its auth state, and helpers to make accounts."""

    app: FastAPI
    client: TestClient
    clock: Clock
    state: AuthState

    def add_user(
        self, name: str, roles: tuple[str, ...], jurisdiction: str = TIANHE, **extra: Any
    ) -> None:
        users.add_user(
            self.state.db,
            name,
            password_hash=hash_password(PASSWORD),
            jurisdiction=jurisdiction,
            roles=roles,
            now=self.clock(),
            **extra,
        )

    def add_key(self, actions: tuple[str, ...], jurisdiction: str = TOWN) -> str:
        new = make_key()
        keys.add_key(
            self.state.db,
            new.id,
            secret_hash=new.secret_hash,
            name="gauge",
            jurisdiction=jurisdiction,
            actions=actions,
            now=self.clock(),
        )
        return new.key

    def sign_in(self, name: str, password: str = PASSWORD) -> Any:
        return self.client.post("/api/auth/token", data={"username": name, "password": password})

    def tokens(self, name: str) -> dict[str, Any]:
        answer = self.sign_in(name)
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens


@pytest.fixture(autouse=True)
def light_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper argon2 parameters, so tests do not spend seconds hashing (same code path)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _test_routes(app: FastAPI) -> None:
    """Add the test routes ahead of the viewer's files, mounted at ``/`` when built."""
    before = len(app.router.routes)

    @app.get("/test/scope")
    def scope(scope: ScopeDep) -> dict[str, str]:
        return {"prefix": scope.prefix}

    @app.get("/test/whoami")
    def whoami(principal: PrincipalDep) -> dict[str, str]:
        return {"subject": principal.subject, "kind": principal.kind}

    @app.post("/test/import")
    def write(
        request: Request, principal: Annotated[Principal, Depends(require("import"))]
    ) -> dict[str, str]:
        record_write(request, principal, "import", "building:1")
        return {"done": principal.subject}

    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[:0] = added


@pytest.fixture()
def auth_app(tmp_path: Path, ops_url: str) -> Iterator[AuthApp]:
    app = create_app(tmp_path, viewer_dir=tmp_path / "no-viewer", worker=False)
    _test_routes(app)
    clock = Clock()
    config = AuthConfig(
        max_failures=3, max_failures_per_client=6, failure_window=timedelta(minutes=5)
    )
    state = configure(
        app, secret=secrets.token_urlsafe(48), clock=clock, config=config, url=ops_url
    )
    try:
        yield AuthApp(app, TestClient(app), clock, state)
    finally:
        state.close()
