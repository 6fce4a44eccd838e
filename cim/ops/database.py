"""Opening the operational database: an SQLite file in the city folder, or PostgreSQL by URL.

Opening runs the migrations up to the newest (alembic ``upgrade head``), so a database is
always in the shape the code expects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from cim.layout import CityLayout
from cim.ops.errors import OpsError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# How long an SQLite writer waits for another one before giving up (ms).
SQLITE_BUSY_MS = 10_000


def database_url(city_dir: Path, url: str | None = None) -> str:
    """The URL of the city's operational database: ``url`` when given, else its SQLite file.

    A ``postgresql://`` URL is given the psycopg 3 driver.
    """
    if not url:
        return f"sqlite:///{CityLayout(city_dir).ops}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise OpsError(f"database URL {url!r} is not a URL (postgresql://user@host/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise OpsError(f"database URL {url!r}: only SQLite and PostgreSQL are supported")
    return parsed.render_as_string(hide_password=False)


class OpsDatabase:
    """The operational database: an engine, a session factory, the migrations applied."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time: the batch writers of this process (ingest, alert
        # evaluation) queue here, woken as soon as the writer before them commits, rather
        # than in SQLite's busy handler, which sleeps in steps of up to 100 ms
        self._sqlite_writer = threading.RLock()

    @classmethod
    def open(cls, url: str) -> OpsDatabase:
        """Connect to ``url`` and bring its tables up to the newest migration."""
        engine = _engine(url)
        database = cls(engine)
        try:
            database.migrate()
        except Exception:
            engine.dispose()
            raise
        return database

    @classmethod
    def for_city(cls, city_dir: Path, url: str | None = None) -> OpsDatabase:
        """The database of the city in ``city_dir`` (``url``: a server database instead)."""
        return cls.open(database_url(city_dir, url))

    def migrate(self) -> None:
        """Run alembic's ``upgrade head`` on this database."""
        from alembic import command  # here: commands that never open the database skip it

        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A connection in a write transaction, for batch writers: on SQLite the write lock
        is taken first (``BEGIN IMMEDIATE``, so a busy database waits instead of failing
        mid-batch), in turn with the other batch writers of this process. Commit on the
        connection; leaving the block without committing rolls back."""
        with self.engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                yield conn
                return
            with self._sqlite_writer:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                finally:
                    if conn.in_transaction():
                        conn.rollback()

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def __enter__(self) -> OpsDatabase:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        # it holds password hashes: readable by its owner only (SQLite gives its -wal and
        # -shm files the same permissions)
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)  # a city folder not made yet
        path.touch(mode=0o600, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()
