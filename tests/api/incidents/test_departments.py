"""The department a user works for: given at `cimtwin user add --department`, changed with
`cimtwin user set-department`, checked against the department list, shown by /api/me."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import configure
from api.settings import get_settings
from cim.ops import OpsDatabase, audit, users
from cim.ops.audit import AuditQuery
from cim.ops.errors import OpsError
from cim.scope import Scope
from tests.api.auth.conftest import PASSWORD, TOWN
from tests.api.auth.test_cli_users import add, city, run
from tests.api.auth.test_cli_users import users as listed_users

__all__ = ["city"]  # the fixture


def _me(city: Path, name: str) -> dict[str, object]:
    served = create_app(city, worker=False)
    state = configure(served, secret="p0-" + "Zq8rT1vX3bN5mK7" * 3)
    try:
        client = TestClient(served)
        form = {"username": name, "password": PASSWORD}
        token = client.post("/api/auth/token", data=form).json()["access_token"]
        me: dict[str, object] = client.get(
            "/api/me", headers={"Authorization": f"Bearer {token}"}
        ).json()
        return me
    finally:
        state.close()


def test_a_user_works_for_a_department_given_and_changed_by_the_command_line(
    city: Path,
) -> None:
    code, err = add(city, "shuiwu", "--department", "water")
    assert code == 0 and "department water" in err
    assert add(city, "li")[0] == 0
    assert {u["name"]: u["department"] for u in listed_users(city)} == {
        "li": None,
        "shuiwu": "water",
    }
    assert _me(city, "shuiwu")["department"] == "water"
    assert _me(city, "li")["department"] is None

    code, _, err = run("user", "set-department", "li", "environment", "--city", str(city))
    assert code == 0 and "li works for environment" in err
    assert run("user", "set-department", "shuiwu", "none", "--city", str(city))[0] == 0
    assert {u["name"]: u["department"] for u in listed_users(city)} == {
        "li": "environment",
        "shuiwu": None,
    }
    with OpsDatabase.for_city(city, get_settings().database_url) as db:
        writes = audit.read(db, AuditQuery(Scope.everything(), kind="write")).entries
    assert ("user set-department", "li") in [(e.action, e.target) for e in writes]


def test_an_unknown_department_is_refused_and_nothing_is_stored(city: Path) -> None:
    code, err = add(city, "li", "--department", "police")
    assert code == 1 and "unknown department 'police': use water" in err
    assert listed_users(city) == []
    assert add(city, "li")[0] == 0
    code, _, err = run("user", "set-department", "li", "police", "--city", str(city))
    assert code == 1 and "unknown department 'police'" in err
    code, _, err = run("user", "set-department", "nobody", "water", "--city", str(city))
    assert code == 1 and "no user is called 'nobody'" in err


def test_the_store_refuses_what_cannot_be_a_department_code(tmp_path: Path) -> None:
    with OpsDatabase.open(f"sqlite:///{tmp_path / 'ops.sqlite'}") as db:
        with pytest.raises(OpsError, match="department 'Water Affairs'"):
            users.add_user(
                db, "li", password_hash="x", jurisdiction=TOWN, roles=["viewer"],
                now=datetime.now(UTC), department="Water Affairs",
            )  # fmt: skip
        assert users.list_users(db) == []
