"""The audit log: sign-ins, refusals and writes (who, when, what, from where), append-only.

This module only appends and reads; the database itself refuses UPDATE and DELETE on the
table (a trigger on both backends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select

from cim.ops.database import OpsDatabase
from cim.ops.errors import OpsError
from cim.ops.models import AuditEntry
from cim.ops.scoping import within
from cim.scope import Scope

Kind = Literal["sign-in", "refused", "write"]
KINDS: tuple[Kind, ...] = ("sign-in", "refused", "write")
MAX_PAGE = 1000


@dataclass(frozen=True)
class AuditEvent:
    """Something to record: who (``principal`` and its ``jurisdiction``) did what, when."""

    at: datetime
    principal: str
    kind: Kind
    outcome: str
    jurisdiction: str | None = None
    action: str | None = None
    target: str | None = None
    client: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord(AuditEvent):
    """A recorded event with its sequence number."""

    id: int = 0


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: a time range, a principal, a kind, a scope of jurisdictions."""

    scope: Scope
    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    kind: Kind | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class AuditPage:
    """A page of entries, newest first, and how many match in all."""

    entries: list[AuditRecord]
    total: int


def append(db: OpsDatabase, event: AuditEvent) -> int:
    """Record ``event``; its sequence number."""
    if event.kind not in KINDS:
        raise OpsError(f"audit event kind {event.kind!r} is not one of {', '.join(KINDS)}")
    with db.transaction() as session:
        entry = AuditEntry(
            at=event.at,
            principal=event.principal[:200],
            jurisdiction=event.jurisdiction,
            kind=event.kind,
            action=event.action,
            target=_clip(event.target, 500),
            outcome=event.outcome,
            client=_clip(event.client, 64),
            details=dict(event.details),
        )
        session.add(entry)
        session.flush()
        return entry.id


def read(db: OpsDatabase, query: AuditQuery) -> AuditPage:
    """The entries matching ``query``, newest first, paged by ``limit`` and ``offset``."""
    if not 1 <= query.limit <= MAX_PAGE or query.offset < 0:
        raise OpsError(f"an audit page holds 1 to {MAX_PAGE} entries from an offset >= 0")
    conditions = [within(AuditEntry.jurisdiction, query.scope)]
    if query.since is not None:
        conditions.append(AuditEntry.at >= query.since)
    if query.until is not None:
        conditions.append(AuditEntry.at < query.until)
    if query.principal is not None:
        conditions.append(AuditEntry.principal == query.principal)
    if query.kind is not None:
        conditions.append(AuditEntry.kind == query.kind)
    rows = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    with db.transaction() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
        entries = [_record(entry) for entry in session.scalars(rows)]
    return AuditPage(entries, total or 0)


def _clip(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        principal=entry.principal,
        jurisdiction=entry.jurisdiction,
        kind=entry.kind,  # type: ignore[arg-type]
        outcome=entry.outcome,
        action=entry.action,
        target=entry.target,
        client=entry.client,
        details=entry.details,
    )
