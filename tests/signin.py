"""Signed-in test clients: a user made in the app's operational database, signed in through
the same service the sign-in route calls, its bearer token on every request."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import service
from api.auth.state import AuthState, auth_state_of, state_from_settings
from api.settings import Settings
from cim.ops import users

PROVINCE = "440000000000"  # a province admin sees everything, inside a jurisdiction or not
PASSWORD = "test password, long enough"
# Hashed once with cheap argon2 parameters: verifying reads them from the hash.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)


def signed_in(
    app: FastAPI,
    *,
    roles: tuple[str, ...] = ("admin",),
    jurisdiction: str = PROVINCE,
    name: str | None = None,
    department: str | None = None,
) -> dict[str, str]:
    """The Authorization header of a new user of ``app`` with ``roles`` at ``jurisdiction``
    (working for ``department`` when given)."""
    return _sign_in(
        auth_state_of(app), roles=roles, jurisdiction=jurisdiction, name=name, department=department
    )


def _sign_in(
    state: AuthState,
    *,
    roles: tuple[str, ...] = ("admin",),
    jurisdiction: str = PROVINCE,
    name: str | None = None,
    department: str | None = None,
) -> dict[str, str]:
    name = name or f"tester-{secrets.token_hex(4)}"
    users.add_user(
        state.db,
        name,
        password_hash=PASSWORD_HASH,
        jurisdiction=jurisdiction,
        roles=roles,
        now=state.clock(),
        department=department,
    )
    pair = service.sign_in(state, name, PASSWORD, "testclient")
    return {"Authorization": f"Bearer {pair.access_token}"}


def admin_client(app: FastAPI, **options: Any) -> TestClient:
    """A test client of ``app`` signed in as an admin of the province (sees everything)."""
    client = TestClient(app, **options)
    client.headers.update(signed_in(app))
    return client


def city_headers(city: Path, **account: Any) -> dict[str, str]:
    """The Authorization header of a new user of the city in ``city``, for a server of it in
    another process (`cimtwin serve`): the account goes into the city's operational
    database, the token is signed with the secret of the settings, which that process shares."""
    state = state_from_settings(city, Settings())
    try:
        return _sign_in(state, **account)
    finally:
        state.close()
