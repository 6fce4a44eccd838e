"""PostGIS on PostgreSQL, for the geo functions of SensorThings' ``$filter``.

Created where the server has it installed and the account may create it; otherwise the
database works without it and a spatial filter answers that PostGIS is missing. SQLite
needs nothing (its geo functions are registered on each connection).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
# Tables PostGIS makes itself (no model describes them).
POSTGIS_TABLES = frozenset({"spatial_ref_sys"})


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    ).first()
    if available is None:
        log.warning("PostGIS is not installed on this server: spatial $filter is unavailable")
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.DBAPIError as exc:
        log.warning("PostGIS could not be created (%s): spatial $filter is unavailable", exc)


def downgrade() -> None:
    # the extension may serve other schemas: leave it
    pass
