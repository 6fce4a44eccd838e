"""The repositories of the operational database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from cim.errors import JurisdictionCodeError
from cim.ops import OpsDatabase, audit, keys, sessions, throttle, users
from cim.ops.audit import AuditEvent, AuditQuery
from cim.ops.errors import AccountExistsError, AccountNotFoundError, OpsError
from cim.scope import Scope

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _user(db: OpsDatabase, name: str, jurisdiction: str = "440106001000") -> users.UserRecord:
    return users.add_user(
        db,
        name,
        password_hash="$argon2id$fake",
        jurisdiction=jurisdiction,
        roles=["viewer", "operator", "viewer"],
        now=NOW,
    )


def test_users_are_stored_with_their_roles_and_listed_by_scope(ops_db: OpsDatabase) -> None:
    li = _user(ops_db, "li")
    _user(ops_db, "wang", "440106002000")
    _user(ops_db, "zhao", "440000000000")
    assert li.roles == ("operator", "viewer") and li.created_at == NOW
    assert "fake" not in repr(li)
    assert users.get_user(ops_db, "li") == li
    assert [u.name for u in users.list_users(ops_db)] == ["li", "wang", "zhao"]
    assert [u.name for u in users.list_users(ops_db, Scope.of("440106000000"))] == ["li", "wang"]
    assert [u.name for u in users.list_users(ops_db, Scope.of("440106001000"))] == ["li"]
    with pytest.raises(AccountExistsError):
        _user(ops_db, "li")
    with pytest.raises(AccountNotFoundError):
        users.get_user(ops_db, "nobody")


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "x" * 65, "名字"])
def test_bad_user_names_are_refused(ops_db: OpsDatabase, name: str) -> None:
    with pytest.raises(OpsError, match="user name"):
        _user(ops_db, name)


def test_bad_jurisdiction_and_no_roles_are_refused(ops_db: OpsDatabase) -> None:
    with pytest.raises(JurisdictionCodeError):
        _user(ops_db, "li", "4401")
    with pytest.raises(OpsError, match="at least one role"):
        users.add_user(
            ops_db, "li", password_hash="h", jurisdiction="440106000000", roles=[], now=NOW
        )
    assert users.list_users(ops_db) == []


def test_refresh_tokens_rotate_once_and_reuse_revokes_the_session(ops_db: OpsDatabase) -> None:
    li = _user(ops_db, "li")
    sessions.start_session(
        ops_db,
        session_id="s1",
        user_id=li.id,
        token_hash="t1",
        client="10.0.0.1",
        now=NOW,
        expires_at=NOW + DAY,
    )
    assert sessions.session_user(ops_db, "s1") == li
    first = sessions.rotate(ops_db, "t1", "t2", now=NOW, expires_at=NOW + DAY)
    assert (first.status, first.session_id, first.user) == ("rotated", "s1", li)
    assert sessions.rotate(ops_db, "nope", "t9", now=NOW, expires_at=NOW + DAY).status == "unknown"
    assert sessions.rotate(ops_db, "t1", "t3", now=NOW, expires_at=NOW + DAY).status == "reused"
    assert sessions.session_user(ops_db, "s1") is None
    assert sessions.rotate(ops_db, "t2", "t4", now=NOW, expires_at=NOW + DAY).status == "ended"


def test_expired_refresh_token_and_ended_sessions(ops_db: OpsDatabase) -> None:
    li = _user(ops_db, "li")
    for sid in ("s1", "s2"):
        sessions.start_session(
            ops_db,
            session_id=sid,
            user_id=li.id,
            token_hash=f"{sid}t",
            client=None,
            now=NOW,
            expires_at=NOW + DAY,
        )
    late = NOW + DAY
    assert sessions.rotate(ops_db, "s1t", "x", now=late, expires_at=late + DAY).status == "expired"
    assert sessions.revoke_session(ops_db, "s1", NOW) is True
    assert sessions.revoke_session(ops_db, "s1", NOW) is False
    users.set_password_hash(ops_db, "li", "$argon2id$new", NOW)  # ends every session
    assert sessions.session_user(ops_db, "s2") is None


def test_keys_are_stored_hashed_and_revoked_once(ops_db: OpsDatabase) -> None:
    key = keys.add_key(
        ops_db,
        "abc123abc123",
        secret_hash="f" * 64,
        name="gauge",
        jurisdiction="440106001000",
        actions=["read", "import"],
        now=NOW,
    )
    assert key.actions == ("import", "read") and not key.revoked
    assert keys.find_key(ops_db, "abc123abc123") == key
    assert keys.find_key(ops_db, "zzz") is None
    revoked = keys.revoke_key(ops_db, "abc123abc123", NOW + DAY)
    again = keys.revoke_key(ops_db, "abc123abc123", NOW + 2 * DAY)
    assert revoked.revoked_at == again.revoked_at == NOW + DAY
    assert [k.id for k in keys.list_keys(ops_db)] == ["abc123abc123"]
    with pytest.raises(AccountNotFoundError):
        keys.revoke_key(ops_db, "nope", NOW)
    with pytest.raises(OpsError, match="at least one action"):
        keys.add_key(
            ops_db,
            "k2",
            secret_hash="f",
            name="n",
            jurisdiction="440106001000",
            actions=[],
            now=NOW,
        )


def test_failures_are_counted_in_the_window_and_forgotten(ops_db: OpsDatabase) -> None:
    for minute in range(4):
        throttle.record_failure(ops_db, "li", "10.0.0.1", NOW + timedelta(minutes=minute))
    throttle.record_failure(ops_db, "wang", "10.0.0.1", NOW)
    recent = throttle.recent_failures(ops_db, "li", "10.0.0.1", NOW + timedelta(minutes=2))
    assert recent.by_username == (NOW + timedelta(minutes=2), NOW + timedelta(minutes=3))
    assert len(recent.by_client) == 2
    throttle.forget_failures(ops_db, "li", before=NOW + timedelta(minutes=1))
    after = throttle.recent_failures(ops_db, "wang", "10.0.0.1", NOW - DAY)
    assert after.by_username == () and after.by_client == ()


def test_audit_reads_by_time_principal_kind_and_scope(ops_db: OpsDatabase) -> None:
    events = [
        AuditEvent(NOW, "li", "sign-in", "ok", jurisdiction="440106001000"),
        AuditEvent(
            NOW + DAY,
            "li",
            "write",
            "ok",
            jurisdiction="440106001000",
            action="import",
            target="b1",
            details={"files": ["a.ifc"]},
        ),
        AuditEvent(NOW + DAY, "wang", "refused", "forbidden", jurisdiction="440106002000"),
        AuditEvent(NOW + 2 * DAY, "someone", "sign-in", "failed"),
    ]
    ids = [audit.append(ops_db, event) for event in events]
    assert ids == sorted(ids)
    everything = audit.read(ops_db, AuditQuery(Scope.everything()))
    assert [e.principal for e in everything.entries] == ["someone", "wang", "li", "li"]
    assert everything.entries[2].details == {"files": ["a.ifc"]}
    town = audit.read(ops_db, AuditQuery(Scope.of("440106001000")))
    assert [e.kind for e in town.entries] == ["write", "sign-in"]
    county = audit.read(ops_db, AuditQuery(Scope.of("440106000000"), since=NOW + DAY))
    assert county.total == 2
    by_kind = audit.read(ops_db, AuditQuery(Scope.everything(), kind="sign-in", until=NOW + DAY))
    assert [e.principal for e in by_kind.entries] == ["li"]
    with pytest.raises(OpsError):
        audit.read(ops_db, AuditQuery(Scope.everything(), limit=0))


def test_naive_times_are_refused(ops_db: OpsDatabase) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        audit.append(ops_db, AuditEvent(datetime(2026, 1, 1), "li", "sign-in", "ok"))
