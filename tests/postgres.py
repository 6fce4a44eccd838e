"""A throwaway PostgreSQL 15 cluster for the tests, started once per session.

``initdb`` and ``pg_ctl`` from the Debian ``postgresql`` package run in a temporary folder,
listening on a Unix socket there only (no port to collide with). As root they run as the
``postgres`` user. A cluster that cannot start fails the PostgreSQL tests, unless
``CIMTWIN_SKIP_POSTGRES=1`` says to skip them.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_ENV = "CIMTWIN_SKIP_POSTGRES"
# Debian installs each major version's programs here (newest first).
BIN_DIRS = sorted(
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda p: -int(p.parent.name) if p.parent.name.isdigit() else 0,
)
_names = itertools.count()


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster: its socket folder; ``url(db)`` connects to one of its databases."""

    socket_dir: Path

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def execute(self, statement: str) -> None:
        """Run one statement on the ``postgres`` database, outside any transaction."""
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)  # type: ignore[arg-type]

    def create_extension(self, url: str, extension: str) -> str | None:
        """``CREATE EXTENSION`` in the database ``url`` names: None when done, else why not
        (PostGIS is a separate Debian package, ``postgresql-15-postgis-3``)."""
        import psycopg
        from sqlalchemy.engine import make_url

        try:
            with psycopg.connect(
                host=str(self.socket_dir),
                user="postgres",
                dbname=make_url(url).database,
                autocommit=True,
            ) as connection:
                connection.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")  # type: ignore[arg-type]
        except psycopg.Error as exc:
            return f"PostgreSQL extension {extension} unavailable: {str(exc).strip()}"
        return None

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        name = f"cimtwin_test_{os.getpid()}_{next(_names)}"
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database ``url`` names, closing what is still connected to it."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _bin(name: str) -> str:
    for folder in BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed (Debian package postgresql; `make system-deps`)"
        )
    return found


def _run_as_owner(args: list[str], folder: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty operational database, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    yield url
    server.drop_database(url)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the session (fails, never skips, unless told to skip)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL tests skipped")
    folder = Path(tempfile.mkdtemp(prefix="cimtwin-pg-"))
    data, log = folder / "data", folder / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError: no postgres user to run the server as
        _run_as_owner(
            [
                _bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            folder,
        )
        options = f"-k {folder} -c listen_addresses='' -F"
        _run_as_owner(
            [_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"], folder
        )
        started = True
        yield PostgresServer(folder)
    except (OSError, KeyError, RuntimeError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        logged = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        pytest.fail(
            f"PostgreSQL could not start ({exc}); {detail}{logged}\n"
            f"Install it (make system-deps) or set {SKIP_ENV}=1 to skip these tests."
        )
    finally:
        if started:
            _run_as_owner([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], folder)
        shutil.rmtree(folder, ignore_errors=True)
