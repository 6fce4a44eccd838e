"""Incident fixtures: the operational database on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cim.ops import OpsDatabase


@pytest.fixture()
def ops_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database (SQLite, then PostgreSQL)."""
    with OpsDatabase.open(ops_url) as db:
        yield db
