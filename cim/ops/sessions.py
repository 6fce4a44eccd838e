"""Sign-in sessions and their refresh tokens: rotated on use, a reused one ends the session.

A session starts at a password sign-in with one refresh token. Each refresh marks the
token used and stores its successor; presenting a used token again means it was copied,
so the whole session is revoked. Tokens are stored as hashes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from cim.ops.database import OpsDatabase
from cim.ops.models import RefreshToken, SignInSession, User
from cim.ops.users import UserRecord, record_from_row, record_of

RotationStatus = Literal["rotated", "unknown", "expired", "reused", "ended"]


@dataclass(frozen=True)
class Rotation:
    """What became of a refresh token presented for rotation.

    ``rotated``: the new token replaces it; ``unknown``: no such token; ``expired``: too
    old; ``reused``: used before, so the session is now revoked; ``ended``: its session was
    revoked or its user disabled.
    """

    status: RotationStatus
    session_id: str | None = None
    user: UserRecord | None = None


def start_session(
    db: OpsDatabase,
    *,
    session_id: str,
    user_id: int,
    token_hash: str,
    client: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Open a session for a user with its first refresh token."""
    with db.transaction() as session:
        session.add(
            SignInSession(
                id=session_id, user_id=user_id, client=client, created_at=now, revoked_at=None
            )
        )
        session.flush()
        session.add(
            RefreshToken(
                token_hash=token_hash,
                session_id=session_id,
                created_at=now,
                expires_at=expires_at,
                used_at=None,
            )
        )


def rotate(
    db: OpsDatabase, token_hash: str, new_hash: str, *, now: datetime, expires_at: datetime
) -> Rotation:
    """Replace the refresh token ``token_hash`` by ``new_hash`` if it may still be used."""
    with db.transaction() as session:
        token = session.get(RefreshToken, token_hash, with_for_update=True)
        if token is None:
            return Rotation("unknown")
        signed_in = session.get(SignInSession, token.session_id, with_for_update=True)
        assert signed_in is not None
        user = session.get(User, signed_in.user_id)
        assert user is not None
        if signed_in.revoked_at is not None or user.disabled:
            return Rotation("ended", signed_in.id, record_of(user))
        if token.used_at is not None:
            signed_in.revoked_at = now
            return Rotation("reused", signed_in.id, record_of(user))
        if token.expires_at <= now:
            return Rotation("expired", signed_in.id, record_of(user))
        token.used_at = now
        session.add(
            RefreshToken(
                token_hash=new_hash,
                session_id=signed_in.id,
                created_at=now,
                expires_at=expires_at,
                used_at=None,
            )
        )
        return Rotation("rotated", signed_in.id, record_of(user))


def revoke_session(db: OpsDatabase, session_id: str, now: datetime) -> bool:
    """End a session (its tokens stop working); False when there was none to end."""
    with db.transaction() as session:
        signed_in = session.get(SignInSession, session_id)
        if signed_in is None or signed_in.revoked_at is not None:
            return False
        signed_in.revoked_at = now
        return True


def session_user(db: OpsDatabase, session_id: str) -> UserRecord | None:
    """The user of a session that is still open and whose user is enabled, else None.

    Asked on every request bearing an access token: one Core query, no ORM session.
    """
    query = (
        select(*User.__table__.columns)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
        .where(User.disabled.is_(False))
    )
    with db.engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return None if row is None else record_from_row(row)
