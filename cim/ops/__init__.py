"""The operational database: users, API keys, sign-in sessions, throttling, the audit log.

SQLAlchemy 2 over an SQLite file in the city folder (default) or PostgreSQL (by URL),
with alembic migrations applied on open (:class:`~cim.ops.database.OpsDatabase`). The
repository modules (:mod:`~cim.ops.users`, :mod:`~cim.ops.keys`, :mod:`~cim.ops.sessions`,
:mod:`~cim.ops.throttle`, :mod:`~cim.ops.audit`) are the only code that queries it; they
take and return plain typed records, never ORM objects. Times are timezone-aware UTC and
given by the caller, so a clock can be set in tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cim.ops.database import OpsDatabase, database_url

__all__ = ["OpsDatabase", "database_url"]


def __getattr__(name: str) -> Any:
    """``OpsDatabase`` and ``database_url`` on first use: importing :mod:`cim.ops.errors`
    (which the API's error table does at start-up) must not load SQLAlchemy and alembic."""
    if name in __all__:
        from cim.ops import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
