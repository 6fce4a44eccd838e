"""Users: a name, a display name, a password hash, one jurisdiction node, some roles, and
the department they work for (a code of the closed loop's department list, checked by the
callers: ``cim`` does not know the list)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cim.ops.database import OpsDatabase
from cim.ops.errors import AccountExistsError, AccountNotFoundError, OpsError
from cim.ops.models import SignInSession, User
from cim.ops.scoping import within
from cim.scope import Scope, check_code

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
DEPARTMENT = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class UserRecord:
    """A stored user (``password_hash`` is left out of its repr)."""

    id: int
    name: str
    display_name: str
    jurisdiction: str
    roles: tuple[str, ...]
    disabled: bool
    created_at: datetime
    updated_at: datetime
    password_hash: str = field(repr=False)
    department: str | None = None


def check_name(name: str) -> str:
    """``name`` when it can name a user: 1 to 64 letters, digits and ``_ . @ -``."""
    if not NAME.fullmatch(name):
        raise OpsError(
            f"user name {name!r}: use 1 to 64 letters, digits, '_', '.', '@' or '-',"
            " starting with a letter or digit"
        )
    return name


def add_user(
    db: OpsDatabase,
    name: str,
    *,
    password_hash: str,
    jurisdiction: str,
    roles: Iterable[str],
    now: datetime,
    display_name: str | None = None,
    department: str | None = None,
) -> UserRecord:
    """Store a new user; an existing name is refused."""
    check_name(name)
    check_code(jurisdiction)
    role_list = sorted(set(roles))
    if not role_list:
        raise OpsError(f"user {name!r} needs at least one role")
    with db.transaction() as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AccountExistsError(f"user {name!r} already exists")
        user = User(
            name=name,
            display_name=display_name or name,
            password_hash=password_hash,
            jurisdiction=jurisdiction,
            roles=role_list,
            department=check_department_code(department),
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
        return record_of(user)


def find_user(db: OpsDatabase, name: str) -> UserRecord | None:
    """The user called ``name``, or None."""
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.name == name))
        return None if user is None else record_of(user)


def get_user(db: OpsDatabase, name: str) -> UserRecord:
    """The user called ``name``; an unknown name is an error."""
    user = find_user(db, name)
    if user is None:
        raise AccountNotFoundError(f"no user is called {name!r}")
    return user


def list_users(db: OpsDatabase, scope: Scope | None = None) -> list[UserRecord]:
    """Every user (of ``scope``'s jurisdictions when given), by name."""
    query = select(User).order_by(User.name)
    if scope is not None:
        query = query.where(within(User.jurisdiction, scope))
    with db.transaction() as session:
        return [record_of(user) for user in session.scalars(query)]


def set_disabled(db: OpsDatabase, name: str, disabled: bool, now: datetime) -> UserRecord:
    """Disable a user (ending every session of theirs) or enable them again."""
    with db.transaction() as session:
        user = _user(session, name)
        user.disabled = disabled
        user.updated_at = now
        if disabled:
            _end_sessions(session, user.id, now)
        return record_of(user)


def set_department(db: OpsDatabase, name: str, department: str | None, now: datetime) -> UserRecord:
    """Set the department a user works for (None: none)."""
    check_department_code(department)
    with db.transaction() as session:
        user = _user(session, name)
        user.department = department
        user.updated_at = now
        return record_of(user)


def check_department_code(code: str | None) -> str | None:
    """``code`` when it can be a department code (1 to 40 lower-case letters, digits and
    ``_``); whether the department exists is for the caller to check."""
    if code is not None and not DEPARTMENT.fullmatch(code):
        raise OpsError(f"department {code!r}: use a code of lower-case letters, digits and '_'")
    return code


def set_password_hash(db: OpsDatabase, name: str, password_hash: str, now: datetime) -> UserRecord:
    """Replace a user's password hash and end every session of theirs."""
    with db.transaction() as session:
        user = _user(session, name)
        user.password_hash = password_hash
        user.updated_at = now
        _end_sessions(session, user.id, now)
        return record_of(user)


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountNotFoundError(f"no user is called {name!r}")
    return user


def _end_sessions(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def record_from_row(row: Mapping[Any, Any]) -> UserRecord:
    """The plain record of a row of the users table read without the ORM."""
    fields = (
        "id",
        "name",
        "display_name",
        "jurisdiction",
        "disabled",
        "created_at",
        "updated_at",
        "password_hash",
    )
    return UserRecord(
        **{name: row[name] for name in fields},
        roles=tuple(row["roles"]),
        department=row.get("department"),
    )


def record_of(user: User) -> UserRecord:
    """The plain record of a user row."""
    return UserRecord(
        id=user.id,
        name=user.name,
        display_name=user.display_name,
        jurisdiction=user.jurisdiction,
        roles=tuple(user.roles),
        disabled=user.disabled,
        created_at=user.created_at,
        updated_at=user.updated_at,
        password_hash=user.password_hash,
        department=user.department,
    )
