"""Making accounts: the operations the command line (and the demo) call.

Each checks its input (roles, actions, password strength, jurisdiction code), hashes
what must be hashed, stores it, and records the change in the audit log as done by
``actor`` (for the command line, ``local:<login name>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from api.auth.apikeys import make_key
from api.auth.passwords import hash_password
from api.auth.roles import check_actions, check_roles
from api.errors import AccountInputError
from cim.ops import OpsDatabase, audit, keys, users
from cim.ops.audit import AuditEvent
from cim.ops.keys import KeyRecord
from cim.ops.users import UserRecord
from cim.scope import check_code
from simulation.incidents.codes import departments


def create_user(
    db: OpsDatabase,
    name: str,
    *,
    password: str,
    jurisdiction: str,
    roles: Iterable[str],
    now: datetime,
    actor: str,
    display_name: str | None = None,
    department: str | None = None,
) -> UserRecord:
    """Add a user whose password is ``password`` (checked for length, stored as argon2id),
    working for ``department`` (a code of the department list) when given."""
    check_code(jurisdiction)
    role_list = check_roles(roles)
    check_department(department)
    user = users.add_user(
        db,
        name,
        password_hash=hash_password(password),
        jurisdiction=jurisdiction,
        roles=role_list,
        now=now,
        display_name=display_name,
        department=department,
    )
    _record(db, now, actor, "user add", name)
    return user


def check_department(code: str | None) -> str | None:
    """``code`` when it names a department of the list (None: no department)."""
    if code is not None and code not in departments():
        raise AccountInputError(f"unknown department {code!r}: use {', '.join(departments())}")
    return code


def set_department(
    db: OpsDatabase, name: str, department: str | None, *, now: datetime, actor: str
) -> UserRecord:
    """Say which department a user works for (None: none)."""
    check_department(department)
    user = users.set_department(db, name, department, now)
    _record(db, now, actor, "user set-department", name)
    return user


def reset_password(
    db: OpsDatabase, name: str, *, password: str, now: datetime, actor: str
) -> UserRecord:
    """Give a user a new password; every session of theirs ends."""
    users.get_user(db, name)
    user = users.set_password_hash(db, name, hash_password(password), now)
    _record(db, now, actor, "user reset-password", name)
    return user


def set_disabled(
    db: OpsDatabase, name: str, disabled: bool, *, now: datetime, actor: str
) -> UserRecord:
    """Disable a user (ending their sessions) or enable them again."""
    user = users.set_disabled(db, name, disabled, now)
    _record(db, now, actor, "user disable" if disabled else "user enable", name)
    return user


def create_key(
    db: OpsDatabase,
    name: str,
    *,
    jurisdiction: str,
    actions: Iterable[str],
    now: datetime,
    actor: str,
) -> tuple[KeyRecord, str]:
    """A new API key: its record and the key itself, to hand out once (only a hash is kept)."""
    check_code(jurisdiction)
    action_list = check_actions(actions)
    new = make_key()
    record = keys.add_key(
        db,
        new.id,
        secret_hash=new.secret_hash,
        mqtt_hash=new.mqtt_hash,
        name=name,
        jurisdiction=jurisdiction,
        actions=action_list,
        now=now,
    )
    _record(db, now, actor, "key add", new.id)
    return record, new.key


def revoke_key(db: OpsDatabase, key_id: str, *, now: datetime, actor: str) -> KeyRecord:
    """Revoke an API key."""
    record = keys.revoke_key(db, key_id, now)
    _record(db, now, actor, "key revoke", key_id)
    return record


def _record(db: OpsDatabase, now: datetime, actor: str, action: str, target: str) -> None:
    client = "command line" if actor.startswith("local:") else None
    audit.append(
        db, AuditEvent(now, actor, "write", "ok", action=action, target=target, client=client)
    )
