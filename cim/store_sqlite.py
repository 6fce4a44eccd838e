"""Opening a city store's SQLite file: WAL journal, busy timeout, errors in the store's terms,
the settings table, the upgrade of older formats.

Every connection to ``city.gpkg`` is made here. The file is in WAL mode, so readers go on
while an import holds its write transaction; a writer waiting for another writer waits up
to the busy timeout, then fails with :class:`~cim.errors.StoreBusyError`. SQLite's
"database is locked" never surfaces as anything else, and never as "not a store".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cim import gpkg, store_rtree
from cim.errors import CimError, NotAStoreError, StoreBusyError
from cim.layout import CityLayout

#: Seconds a statement waits for a lock held by another connection before failing.
BUSY_TIMEOUT = 10.0
#: Name endings of the files SQLite keeps beside a WAL database while it is open.
WAL_FILES = ("-wal", "-shm")
_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")


def is_busy(error: sqlite3.Error) -> bool:
    """Whether an SQLite error means another connection holds the lock."""
    code = getattr(error, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return True
    return isinstance(error, sqlite3.OperationalError) and any(
        word in str(error).lower() for word in _BUSY_WORDS
    )


def busy_error(path: Path, error: sqlite3.Error) -> StoreBusyError:
    """The error a caller sees when the store stayed locked past the busy timeout."""
    return StoreBusyError(
        f"the city store {path.name} is busy: another import is writing"
        f" (waited {BUSY_TIMEOUT:g} s; try again when it is done) [{error}]"
    )


class StoreConnection(sqlite3.Connection):
    """A connection whose statements raise :class:`StoreBusyError` on a lock timeout."""

    store_path = Path(CityLayout.STORE)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with translated(self.store_path):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        with translated(self.store_path):
            return super().executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        with translated(self.store_path):
            return super().executescript(sql_script)


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Turn SQLite's lock errors raised inside the block into :class:`StoreBusyError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy_error(path, exc) from exc
        raise


def connect(path: Path) -> StoreConnection:
    """Open ``path`` in autocommit mode with the busy timeout and the GeoPackage functions.

    The caller turns the file into WAL (:func:`use_wal`) once it knows it is a store.
    """
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT,
        isolation_level=None,
        check_same_thread=False,
        factory=StoreConnection,
    )
    assert isinstance(conn, StoreConnection)
    conn.store_path = path
    store_rtree.register_functions(conn)
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to the WAL journal (kept in the file: done once per store)."""
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def read_meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    """The settings of the store at ``path``; :class:`NotAStoreError` when it is not one."""
    try:
        (application_id,) = conn.execute("PRAGMA application_id").fetchone()
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise busy_error(path, exc) from exc
        raise NotAStoreError(f"{path} is not a CIMTwin city store: {exc}") from exc
    if application_id != gpkg.APPLICATION_ID or gpkg.META_TABLE not in tables:
        raise NotAStoreError(
            f"{path} is not a CIMTwin city store: "
            + ("not a GeoPackage" if application_id != gpkg.APPLICATION_ID
               else f"a GeoPackage without the {gpkg.META_TABLE} table")
        )  # fmt: skip
    return dict(conn.execute(f"SELECT key, value FROM {gpkg.META_TABLE}").fetchall())


UPGRADABLE_FORMATS = ("2", "3")


def upgrade(conn: sqlite3.Connection, path: Path, found: str) -> None:
    """Bring a store of format 2 or 3 to the current format, in one transaction.

    Format 3 added the WAL journal and the R-tree spatial index; format 4 the objects'
    ``jurisdiction`` column (the 12-digit code of the smallest jurisdiction holding each).
    """
    try:
        use_wal(conn)
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise CimError(
            f"{path} is a city store of format {found}, upgraded to format"
            f" {gpkg.FORMAT_VERSION} when first opened with write access: {exc}"
        ) from exc
    try:
        (current,) = conn.execute(
            f"SELECT value FROM {gpkg.META_TABLE} WHERE key = 'format_version'"
        ).fetchone()
        if current in UPGRADABLE_FORMATS:  # another process may have upgraded it meanwhile
            if current == "2":
                store_rtree.create_index(conn)
            for table in (gpkg.OBJECTS_TABLE, gpkg.OBJECT_HISTORY_TABLE):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN jurisdiction TEXT")
            conn.execute(
                f"CREATE INDEX idx_objects_jurisdiction ON {gpkg.OBJECTS_TABLE}(jurisdiction)"
            )
            conn.execute(
                "CREATE INDEX idx_objects_class_jurisdiction"
                f" ON {gpkg.OBJECTS_TABLE}(class, jurisdiction)"
            )
            conn.execute(
                f"UPDATE {gpkg.META_TABLE} SET value = ? WHERE key = 'format_version'",
                (gpkg.FORMAT_VERSION,),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
