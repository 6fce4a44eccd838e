"""The operational database: users, API keys, sign-in sessions, throttling, the audit log.

SQLAlchemy 2 over an SQLite file in the city folder (default) or PostgreSQL (by URL),
with alembic migrations applied on open (:class:`~cim.ops.database.OpsDatabase`). The
repository modules (:mod:`~cim.ops.users`, :mod:`~cim.ops.keys`, :mod:`~cim.ops.sessions`,
:mod:`~cim.ops.throttle`, :mod:`~cim.ops.audit`) are the only code that queries it; they
take and return plain typed records, never ORM objects. Times are timezone-aware UTC and
given by the caller, so a clock can be set in tests.
"""

from cim.ops.database import OpsDatabase, database_url

__all__ = ["OpsDatabase", "database_url"]
