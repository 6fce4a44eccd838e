"""The audit log: sign-ins, refusals and writes, read by admins within their scope."""

from __future__ import annotations

from typing import Any

from tests.api.auth.conftest import OTHER_TOWN, TOWN, AuthApp, bearer


def _audit(auth_app: AuthApp, admin: str, **params: Any) -> dict[str, Any]:
    answer = auth_app.client.get(
        "/api/audit", params=params, headers=bearer(auth_app.tokens(admin)["access_token"])
    )
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def test_sign_ins_refusals_and_writes_are_recorded(auth_app: AuthApp) -> None:
    auth_app.add_user("root", ("admin",), jurisdiction="440000000000")
    auth_app.add_user("viewer", ("viewer",), jurisdiction=TOWN)
    auth_app.add_user("operator", ("operator",), jurisdiction=TOWN)
    auth_app.sign_in("viewer", "wrong password!")
    viewer = auth_app.tokens("viewer")["access_token"]
    auth_app.client.post("/test/import", headers=bearer(viewer))
    auth_app.clock.advance(seconds=1)
    operator = auth_app.tokens("operator")["access_token"]
    assert auth_app.client.post("/test/import", headers=bearer(operator)).status_code == 200
    auth_app.clock.advance(seconds=1)

    entries = _audit(auth_app, "root")["entries"]
    seen = [(e["kind"], e["principal"], e["outcome"], e["action"]) for e in reversed(entries)]
    assert seen[:5] == [
        ("sign-in", "viewer", "failed", "sign-in"),
        ("sign-in", "viewer", "ok", "sign-in"),
        ("refused", "viewer", "forbidden", "import"),
        ("sign-in", "operator", "ok", "sign-in"),
        ("write", "operator", "ok", "import"),
    ]
    write = next(e for e in entries if e["kind"] == "write")
    assert write["target"] == "building:1" and write["client"] == "testclient"
    assert write["jurisdiction"] == TOWN
    assert write["details"] == {"method": "POST", "path": "/test/import"}


def test_audit_filters_and_pages(auth_app: AuthApp) -> None:
    auth_app.add_user("root", ("admin",), jurisdiction="440000000000")
    auth_app.add_user("li", ("viewer",), jurisdiction=TOWN)
    start = auth_app.clock().isoformat()
    for _ in range(3):
        auth_app.tokens("li")
        auth_app.clock.advance(minutes=1)
    page = _audit(auth_app, "root", principal="li", kind="sign-in", limit=2)
    assert page["total"] == 3 and len(page["entries"]) == 2 and page["next_offset"] == 2
    rest = _audit(auth_app, "root", principal="li", kind="sign-in", limit=2, offset=2)
    assert len(rest["entries"]) == 1 and rest["next_offset"] is None
    later = _audit(auth_app, "root", principal="li", since=start.replace("09:00", "09:01"))
    assert later["total"] == 2
    bad = auth_app.client.get(
        "/api/audit",
        params={"kind": "coffee"},
        headers=bearer(auth_app.tokens("root")["access_token"]),
    )
    assert bad.status_code == 422


def test_an_admin_reads_the_entries_of_their_subtree_only(auth_app: AuthApp) -> None:
    auth_app.add_user("town-admin", ("admin",), jurisdiction=TOWN)
    auth_app.add_user("li", ("viewer",), jurisdiction=TOWN)
    auth_app.add_user("wang", ("viewer",), jurisdiction=OTHER_TOWN)
    auth_app.tokens("li")
    auth_app.tokens("wang")
    auth_app.sign_in("nobody-known", "some password")
    principals = {e["principal"] for e in _audit(auth_app, "town-admin")["entries"]}
    assert principals == {"li", "town-admin"}


def test_only_admins_read_the_audit_log(auth_app: AuthApp) -> None:
    auth_app.add_user("manager", ("manager",))
    headers = bearer(auth_app.tokens("manager")["access_token"])
    assert auth_app.client.get("/api/audit", headers=headers).status_code == 403
    assert auth_app.client.get("/api/audit").status_code == 401
