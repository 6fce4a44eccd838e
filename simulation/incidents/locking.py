"""Taking an incident's row for a write: whoever changes an incident first claims it at the
version it read, so that two writers (two people, a person and the escalation, an alert)
cannot both change it from the same state."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from cim.ops.incident_tables import Incident


def claim(session: Session, incident_id: int, version: int) -> bool:
    """Take the incident's row for this transaction if it is still at ``version``; False
    when another writer changed it since it was read.

    On SQLite this statement takes the database's write lock (and a fresh view of it); on
    PostgreSQL the row is already locked by the ``SELECT ... FOR UPDATE`` that read it.
    """
    claimed = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.version == version)
        .values(version=version)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
