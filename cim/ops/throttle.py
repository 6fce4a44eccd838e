"""Failed sign-ins, counted per user name and per client address to slow password guessing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from cim.ops.database import OpsDatabase
from cim.ops.models import SignInFailure

# Longest user name and address kept (longer ones cannot be real, and are cut to fit).
NAME_CHARS = 200
CLIENT_CHARS = 64


@dataclass(frozen=True)
class RecentFailures:
    """The times of the failures since some moment, oldest first."""

    by_username: tuple[datetime, ...]
    by_client: tuple[datetime, ...]


def record_failure(db: OpsDatabase, username: str, client: str | None, now: datetime) -> None:
    """Count one failed sign-in."""
    with db.transaction() as session:
        session.add(SignInFailure(at=now, username=username[:NAME_CHARS], client=_cut(client)))


def recent_failures(
    db: OpsDatabase, username: str, client: str | None, since: datetime
) -> RecentFailures:
    """The failures for ``username`` and those from ``client`` at or after ``since``."""
    username, client = username[:NAME_CHARS], _cut(client)
    recent = select(SignInFailure.at).where(SignInFailure.at >= since).order_by(SignInFailure.at)
    with db.transaction() as session:
        by_username = tuple(session.scalars(recent.where(SignInFailure.username == username)))
        by_client = (
            tuple(session.scalars(recent.where(SignInFailure.client == client)))
            if client is not None
            else ()
        )
    return RecentFailures(by_username, by_client)


def forget_failures(db: OpsDatabase, username: str, before: datetime) -> None:
    """Drop ``username``'s failures (after a successful sign-in) and everyone's older ones."""
    with db.transaction() as session:
        session.execute(
            delete(SignInFailure).where(SignInFailure.username == username[:NAME_CHARS])
        )
        session.execute(delete(SignInFailure).where(SignInFailure.at < before))


def _cut(client: str | None) -> str | None:
    return None if client is None else client[:CLIENT_CHARS]
