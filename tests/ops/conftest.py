"""The operational database on both backends: an SQLite file and a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cim.ops import OpsDatabase
from tests.postgres import PostgresServer


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


@pytest.fixture()
def ops_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database opened (and so migrated) on each backend in turn."""
    with OpsDatabase.open(ops_url) as db:
        yield db
