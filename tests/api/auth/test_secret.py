"""The token-signing secret: `cimtwin serve` refuses a missing or default one; the demo
makes its own and keeps it in the city folder."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from api.app import create_app
from api.auth.secret import check_secret, demo_secret
from api.cli import app
from api.cli_serve import _serve
from api.errors import InsecureSecretError
from api.settings import get_settings
from cim.layout import CityLayout
from cim.store import CityStore

GOOD = "k4Jd9-Qz7LmW2xTbV8nRc5YpHs3FgA6u"


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What uvicorn would have served (the server is not started); fresh settings."""
    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: apps.append(app))
    get_settings.cache_clear()
    yield apps
    get_settings.cache_clear()


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "no secret key"),
        ("", "no secret key"),
        ("changeme", "well-known default"),
        ("x" * 40, "well-known default"),
        ("short-but-random-9f3k", "fewer than 32"),
    ],
)
def test_weak_secrets_are_refused(secret: str | None, reason: str) -> None:
    with pytest.raises(InsecureSecretError, match=reason):
        check_secret(secret)
    assert check_secret(GOOD) == GOOD


@pytest.mark.parametrize("secret", [None, "change-me"])
def test_serve_refuses_to_start_without_a_good_secret(
    served: list[Any], city: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    if secret is None:
        monkeypatch.delenv("CIMTWIN_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("CIMTWIN_SECRET_KEY", secret)
    result = CliRunner().invoke(app, ["serve", "--city", str(city)])
    assert result.exit_code == 1 and not served
    assert "CIMTWIN_SECRET_KEY" in result.stderr


def test_serve_starts_with_a_good_secret(
    served: list[Any], city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIMTWIN_SECRET_KEY", GOOD)
    result = CliRunner().invoke(app, ["serve", "--city", str(city)])
    assert result.exit_code == 0, result.stderr
    assert served[0].state.auth.secret == GOOD


def test_an_app_refuses_a_default_secret_from_the_settings(
    served: list[Any], city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIMTWIN_SECRET_KEY", "secret")
    with pytest.raises(InsecureSecretError):
        create_app(city, worker=False)


def test_demo_serves_with_its_own_stored_secret(
    served: list[Any], city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIMTWIN_SECRET_KEY", raising=False)
    _serve(city, None, None, demo=True)
    _serve(city, None, None, demo=True)
    path = CityLayout(city).demo_secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first, second = (app.state.auth.secret for app in served)
    assert first == second == path.read_text().strip() == demo_secret(city)
    check_secret(first)


def test_an_app_without_a_secret_refuses_to_sign_in_and_changes_nothing(
    served: list[Any], city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from api.auth.passwords import hash_password
    from cim.ops import audit, users
    from cim.ops.audit import AuditQuery
    from cim.scope import Scope

    monkeypatch.delenv("CIMTWIN_SECRET_KEY", raising=False)
    bare = create_app(city, worker=False)
    state = bare.state.auth
    users.add_user(
        state.db,
        "li",
        password_hash=hash_password("a long password"),
        jurisdiction="440106000000",
        roles=["viewer"],
        now=state.clock(),
    )
    client = TestClient(bare, raise_server_exceptions=False)
    answer = client.post("/api/auth/token", data={"username": "li", "password": "a long password"})
    assert answer.status_code == 500 and "CIMTWIN_SECRET_KEY" in answer.json()["detail"]
    assert audit.read(state.db, AuditQuery(Scope.everything())).total == 0
    state.close()
