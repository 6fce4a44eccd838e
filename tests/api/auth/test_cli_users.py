"""`cimtwin user` and `cimtwin key`: passwords from standard input, keys shown once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from typer.testing import CliRunner

from api.app import create_app
from api.auth.state import configure
from api.cli import app
from api.settings import get_settings
from cim.jurisdictions import Jurisdiction
from cim.ops import OpsDatabase, audit
from cim.ops.audit import AuditQuery
from cim.scope import Scope
from cim.store import CityStore
from tests.api.auth.conftest import PASSWORD, TIANHE, TOWN

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def city(tmp_path: Path, ops_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A city whose operational database is the SQLite file in it, or PostgreSQL by URL."""
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    if ops_url.startswith("postgresql"):
        monkeypatch.setenv("CIMTWIN_DATABASE_URL", ops_url)
    get_settings.cache_clear()
    yield tmp_path / "city"
    get_settings.cache_clear()


def sign_in(city: Path, name: str, password: str) -> int:
    served = create_app(city, worker=False)
    state = configure(served, secret="p0-" + "Zq8rT1vX3bN5mK7" * 3)
    try:
        form = {"username": name, "password": password}
        return TestClient(served).post("/api/auth/token", data=form).status_code
    finally:
        state.close()


def add(city: Path, name: str, *extra: str, stdin: str = PASSWORD + "\n") -> tuple[int, str]:
    code, _, err = run(
        "user",
        "add",
        name,
        "--city",
        str(city),
        "--jurisdiction",
        TOWN,
        "--role",
        "operator",
        *extra,
        stdin=stdin,
    )
    return code, err


def users(city: Path) -> list[dict[str, object]]:
    code, out, err = run("user", "list", "--city", str(city))
    assert code == 0, err
    listed: list[dict[str, object]] = json.loads(out)
    return listed


def test_user_add_reads_the_password_from_stdin_and_can_sign_in(city: Path) -> None:
    code, err = add(city, "li", "--role", "viewer", "--display-name", "Li Wei")
    assert code == 0, err
    assert "added user li (operator, viewer) in 440106001000" in err
    (listed,) = users(city)
    assert listed["display_name"] == "Li Wei" and listed["roles"] == ["operator", "viewer"]
    assert "hash" not in json.dumps(listed) and PASSWORD not in json.dumps(listed)
    assert sign_in(city, "li", PASSWORD) == 200
    assert sign_in(city, "li", "wrong password") == 401
    with OpsDatabase.for_city(city, get_settings().database_url) as db:
        writes = audit.read(db, AuditQuery(Scope.everything(), kind="write")).entries
    assert [(e.action, e.target, e.client) for e in writes] == [("user add", "li", "command line")]
    assert writes[0].principal.startswith("local:")


def test_the_password_is_never_an_argument(city: Path) -> None:
    code, _, _ = run(
        "user",
        "add",
        "li",
        "--city",
        str(city),
        "--jurisdiction",
        TOWN,
        "--role",
        "viewer",
        "--password",
        PASSWORD,
    )
    assert code == 2
    assert users(city) == []


@pytest.mark.parametrize(
    ("extra", "stdin", "message"),
    [
        ((), "short\n", "at least 10 characters"),
        ((), "", "no password on standard input"),
        (("--role", "emperor"), PASSWORD + "\n", "unknown role 'emperor'"),
        (("--jurisdiction", "4401"), PASSWORD + "\n", "not 12 digits"),
    ],
)
def test_bad_user_details_are_refused_and_nothing_is_stored(
    city: Path, extra: tuple[str, ...], stdin: str, message: str
) -> None:
    code, err = add(city, "li", *extra, stdin=stdin)
    assert code == 1 and message in err
    assert users(city) == []


def test_a_user_name_is_taken_once(city: Path) -> None:
    assert add(city, "li")[0] == 0
    code, err = add(city, "li")
    assert code == 1 and "already exists" in err


def test_disable_and_reset_password(city: Path) -> None:
    assert add(city, "li")[0] == 0
    assert run("user", "disable", "li", "--city", str(city))[0] == 0
    assert users(city)[0]["disabled"] is True
    assert sign_in(city, "li", PASSWORD) == 401
    assert run("user", "enable", "li", "--city", str(city))[0] == 0
    new = "a brand new passphrase"
    assert run("user", "reset-password", "li", "--city", str(city), stdin=new + "\n")[0] == 0
    assert sign_in(city, "li", PASSWORD) == 401
    assert sign_in(city, "li", new) == 200
    code, _, err = run("user", "disable", "nobody", "--city", str(city))
    assert code == 1 and "no user is called 'nobody'" in err


def test_key_add_prints_the_key_once_list_hides_it_revoke_ends_it(city: Path) -> None:
    code, out, err = run(
        "key",
        "add",
        "gauge-17",
        "--city",
        str(city),
        "--jurisdiction",
        TOWN,
        "--action",
        "import",
        "--action",
        "read",
    )
    assert code == 0, err
    key = out.strip()
    assert key.startswith("ck_") and "not shown again" in err
    code, out, _ = run("key", "list", "--city", str(city))
    (listed,) = json.loads(out)
    assert listed["actions"] == ["import", "read"] and listed["revoked_at"] is None
    assert key.split("_", 2)[2] not in out
    assert run("key", "revoke", listed["id"], "--city", str(city))[0] == 0
    assert json.loads(run("key", "list", "--city", str(city))[1])[0]["revoked_at"] is not None


def test_key_add_refuses_unknown_actions(city: Path) -> None:
    code, _, err = run(
        "key", "add", "x", "--city", str(city), "--jurisdiction", TOWN, "--action", "launch"
    )
    assert code == 1 and "unknown action 'launch'" in err


def test_commands_need_a_city(tmp_path: Path) -> None:
    code, _, err = run("user", "list", "--city", str(tmp_path / "nowhere"))
    assert code == 1 and "no city" in err


def test_at_a_terminal_the_password_is_typed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass
    import io
    import sys

    from api.cli_users import read_new_password
    from api.errors import AccountInputError

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    typed = iter(["a long passphrase", "a long passphrase", "a long passphrase", "a typo"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(typed))
    assert read_new_password() == "a long passphrase"
    with pytest.raises(AccountInputError, match="differ"):
        read_new_password()


def test_a_jurisdiction_the_city_does_not_hold_is_refused(city: Path) -> None:
    with CityStore.open(city) as store, store.transaction() as writer:
        writer.replace_jurisdictions(
            [Jurisdiction.of(code, code, box(0, 0, 10, 10)) for code in (TIANHE, TOWN)]
        )
    code, err = add(city, "ok")  # TOWN is there
    assert code == 0, err
    code, _, err = run("user", "add", "lost", "--city", str(city), "--jurisdiction",
                       "440106009000", "--role", "viewer", stdin=PASSWORD + "\n")  # fmt: skip
    assert code != 0 and "holds no jurisdiction 440106009000" in err
    assert [u["name"] for u in users(city)] == ["ok"]
    code, _, err = run("key", "add", "gauge", "--city", str(city), "--jurisdiction",
                       "440106009000", "--action", "import")  # fmt: skip
    assert code != 0 and "holds no jurisdiction" in err
