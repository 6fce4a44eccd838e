"""The operational database of the sensing tests, on SQLite and PostgreSQL in turn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cim.ops.database import OpsDatabase


@pytest.fixture()
def sensing_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database, migrated, on each backend in turn."""
    with OpsDatabase.open(ops_url) as db:
        yield db
