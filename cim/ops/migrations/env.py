"""Alembic's environment: runs on the connection :class:`cim.ops.database.OpsDatabase` gives."""

from __future__ import annotations

from alembic import context

from cim.ops.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through cim.ops.database.OpsDatabase")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
