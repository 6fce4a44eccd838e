"""Roles and API keys against a route that needs the ``import`` action."""

from __future__ import annotations

from api.auth.principal import Principal
from api.auth.roles import ROLE_ACTIONS, actions_of
from cim.ops import keys
from cim.scope import Scope
from tests.api.auth.conftest import TOWN, AuthApp, bearer


def test_roles_include_the_actions_of_the_roles_below() -> None:
    assert ROLE_ACTIONS["viewer"] == {"read"}
    assert ROLE_ACTIONS["operator"] == {
        "read", "import", "observe", "report", "handle", "verify", "simulate"
    }  # fmt: skip
    assert ROLE_ACTIONS["manager"] == ROLE_ACTIONS["operator"] | {
        "tile",
        "jurisdictions",
        "sensors",
        "dispatch",
        "rules",
        "runs",
    }
    assert ROLE_ACTIONS["admin"] == ROLE_ACTIONS["manager"] | {"users", "keys", "audit"}
    assert actions_of(["viewer", "no-such-role"]) == {"read"}
    principal = Principal.user("li", TOWN, frozenset({"operator"}))
    assert principal.may("import") and not principal.may("tile")
    assert principal.scope == Scope.of(TOWN)


def test_a_write_needs_a_role_that_allows_it(auth_app: AuthApp) -> None:
    auth_app.add_user("viewer", ("viewer",))
    auth_app.add_user("operator", ("operator",))
    assert auth_app.client.post("/test/import").status_code == 401
    refused = auth_app.client.post(
        "/test/import", headers=bearer(auth_app.tokens("viewer")["access_token"])
    )
    assert refused.status_code == 403 and "may not import" in refused.json()["detail"]
    done = auth_app.client.post(
        "/test/import", headers=bearer(auth_app.tokens("operator")["access_token"])
    )
    assert done.status_code == 200 and done.json() == {"done": "operator"}


def test_api_key_with_the_action_may_write_in_either_header(auth_app: AuthApp) -> None:
    key = auth_app.add_key(("import",))
    key_id = key.split("_")[1]
    for headers in ({"X-API-Key": key}, bearer(key)):
        answer = auth_app.client.post("/test/import", headers=headers)
        assert answer.status_code == 200 and answer.json() == {"done": f"key:{key_id}"}
    scope = auth_app.client.get("/test/scope", headers={"X-API-Key": key})
    assert scope.json() == {"prefix": "440106001"}
    me = auth_app.client.get("/api/me", headers={"X-API-Key": key}).json()
    assert me["username"] == f"key:{key_id}" and me["display_name"] == "gauge"
    assert me["actions"] == ["import"] and me["roles"] == []


def test_api_key_without_the_action_is_refused(auth_app: AuthApp) -> None:
    key = auth_app.add_key(("read",))
    assert auth_app.client.post("/test/import", headers={"X-API-Key": key}).status_code == 403


def test_revoked_wrong_or_malformed_keys_are_refused(auth_app: AuthApp) -> None:
    key = auth_app.add_key(("import",))
    _, key_id, secret = key.split("_", 2)
    wrong_secret = f"ck_{key_id}_{'A' * len(secret)}"
    for bad in (wrong_secret, "ck_000000000000_" + secret, "ck_short", "ck_" + "x" * 300):
        assert auth_app.client.post("/test/import", headers={"X-API-Key": bad}).status_code == 401
    keys.revoke_key(auth_app.state.db, key_id, auth_app.clock())
    revoked = auth_app.client.post("/test/import", headers={"X-API-Key": key})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
