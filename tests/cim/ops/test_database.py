"""The operational database: migrations match the models, the audit log cannot be changed."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from cim.layout import CityLayout
from cim.ops import OpsDatabase, database_url
from cim.ops.audit import AuditEvent, AuditQuery, append, read
from cim.ops.database import alembic_config
from cim.ops.errors import OpsError
from cim.ops.models import Base
from cim.scope import Scope
from tests.postgres import PostgresServer

POSTGIS_TABLES = frozenset({"spatial_ref_sys"})  # made by the extension, no model

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_migrations_create_exactly_the_models(ops_db: OpsDatabase) -> None:
    with ops_db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _not_postgis}
        )
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0004"


def _not_postgis(name: str | None, kind: str, _parents: object) -> bool:
    return not (kind == "table" and name in POSTGIS_TABLES)


def test_opening_twice_migrates_once(ops_url: str) -> None:
    with OpsDatabase.open(ops_url) as db:
        append(db, AuditEvent(NOW, "alice", "sign-in", "ok"))
    with OpsDatabase.open(ops_url) as db:
        assert read(db, AuditQuery(Scope.everything())).total == 1
        assert "audit_log" in inspect(db.engine).get_table_names()


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"]
)
def test_the_audit_log_refuses_update_and_delete(ops_db: OpsDatabase, statement: str) -> None:
    append(ops_db, AuditEvent(NOW, "alice", "sign-in", "failed", jurisdiction="440106000000"))
    with pytest.raises(DBAPIError, match="append-only"), ops_db.engine.begin() as connection:
        connection.execute(text(statement))
    (entry,) = read(ops_db, AuditQuery(Scope.everything())).entries
    assert entry.outcome == "failed" and entry.principal == "alice"


def test_postgres_refuses_truncate_of_the_audit_log(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    try:
        with OpsDatabase.open(url) as db:
            append(db, AuditEvent(NOW, "alice", "sign-in", "ok"))
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(text("TRUNCATE audit_log"))
            assert read(db, AuditQuery(Scope.everything())).total == 1
    finally:
        postgres_server.drop_database(url)


def test_sqlite_file_is_in_the_city_folder_in_wal_mode(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    assert url == f"sqlite:///{CityLayout(tmp_path).ops}"
    with OpsDatabase.open(url) as db, db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert stat.S_IMODE(CityLayout(tmp_path).ops.stat().st_mode) == 0o600


def test_database_url_gives_postgres_the_psycopg_driver() -> None:
    assert database_url(Path("x"), "postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(OpsError, match="only SQLite and PostgreSQL"):
        database_url(Path("x"), "mysql://u@h/db")
    with pytest.raises(OpsError, match="not a URL"):
        database_url(Path("x"), "nonsense")


def test_migrations_go_down_to_nothing_and_up_again(ops_db: OpsDatabase) -> None:
    with ops_db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(ops_db.engine).get_table_names()) - POSTGIS_TABLES <= {"alembic_version"}
    ops_db.migrate()
    append(ops_db, AuditEvent(NOW, "alice", "sign-in", "ok"))
    assert read(ops_db, AuditQuery(Scope.everything())).total == 1
