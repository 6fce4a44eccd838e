"""Signing in, tokens, refresh rotation, logout, disabled users, /api/me."""

from __future__ import annotations

import jwt

from api.auth.principal import Principal
from cim.ops import users
from tests.api.auth.conftest import PASSWORD, TIANHE, AuthApp, bearer


def test_sign_in_gives_a_short_lived_token_with_the_claims(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("operator",), display_name="Li Wei")
    tokens = auth_app.tokens("li")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 15 * 60
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "li" and claims["jurisdiction"] == TIANHE
    assert claims["roles"] == ["operator"] and claims["exp"] - claims["iat"] == 15 * 60
    assert {"sid", "jti"} <= claims.keys()
    me = auth_app.client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "username": "li",
        "display_name": "Li Wei",
        "roles": ["operator"],
        "actions": ["handle", "import", "observe", "read", "report", "simulate", "verify"],
        "jurisdiction": {"code": TIANHE, "name": None, "level": "county"},
        "department": None,
    }


def test_wrong_password_and_unknown_user_get_the_same_401(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    wrong = auth_app.sign_in("li", "not the password")
    unknown = auth_app.sign_in("nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong user name or password"}
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


def test_disabled_user_cannot_sign_in_and_loses_their_session(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    access = auth_app.tokens("li")["access_token"]
    users.set_disabled(auth_app.state.db, "li", True, auth_app.clock())
    assert auth_app.client.get("/api/me", headers=bearer(access)).status_code == 401
    refused = auth_app.sign_in("li")
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]


def test_expired_access_token_is_refused(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    access = auth_app.tokens("li")["access_token"]
    auth_app.clock.advance(minutes=14)
    assert auth_app.client.get("/api/me", headers=bearer(access)).status_code == 200
    auth_app.clock.advance(minutes=1)
    expired = auth_app.client.get("/api/me", headers=bearer(access))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_forged_or_malformed_tokens_are_refused(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("admin",))
    claims = jwt.decode(auth_app.tokens("li")["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another secret of more than thirty-two chars", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned, "not.a.jwt", "x" * 5000):
        assert auth_app.client.get("/api/me", headers=bearer(token)).status_code == 401
    basic = auth_app.client.get("/api/me", headers={"Authorization": "Basic bGk6cHc="})
    assert basic.status_code == 401


def test_logout_revokes_the_access_and_refresh_tokens(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    tokens = auth_app.tokens("li")
    out = auth_app.client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204
    assert auth_app.client.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401
    again = auth_app.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    first = auth_app.tokens("li")
    auth_app.clock.advance(minutes=10)
    second = auth_app.client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    assert auth_app.client.get("/api/me", headers=bearer(second_tokens["access_token"])).is_success

    stolen = auth_app.client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert stolen.status_code == 401 and "already used" in stolen.json()["detail"]
    # the whole session is gone: the legitimate holder's tokens stop working too
    assert (
        auth_app.client.get("/api/me", headers=bearer(second_tokens["access_token"])).status_code
        == 401
    )
    after = {"refresh_token": second_tokens["refresh_token"]}
    assert auth_app.client.post("/api/auth/refresh", json=after).status_code == 401


def test_refresh_token_expires(auth_app: AuthApp) -> None:
    auth_app.add_user("li", ("viewer",))
    tokens = auth_app.tokens("li")
    auth_app.clock.advance(days=7, seconds=1)
    late = auth_app.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert late.status_code == 401 and "expired" in late.json()["detail"]
    unknown = auth_app.client.post("/api/auth/refresh", json={"refresh_token": "made-up"})
    assert unknown.status_code == 401


def test_without_credentials_the_caller_is_anonymous_and_has_no_scope(auth_app: AuthApp) -> None:
    assert auth_app.client.get("/test/whoami").json() == {
        "subject": "anonymous",
        "kind": "anonymous",
    }
    refused = auth_app.client.get("/test/scope")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert auth_app.client.get("/api/me").status_code == 401
    assert not Principal.nobody().scope.contains(TIANHE)


def test_scope_is_the_users_subtree_and_everything_for_a_province_admin(auth_app: AuthApp) -> None:
    auth_app.add_user("county", ("manager",))
    auth_app.add_user("root", ("admin",), jurisdiction="440000000000")
    auth_app.add_user("province-viewer", ("viewer",), jurisdiction="440000000000")
    for name, prefix in (("county", "440106"), ("root", ""), ("province-viewer", "44")):
        access = auth_app.tokens(name)["access_token"]
        assert auth_app.client.get("/test/scope", headers=bearer(access)).json() == {
            "prefix": prefix
        }
