"""The operational database opened on both backends (``ops_url`` is in tests/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cim.ops import OpsDatabase


@pytest.fixture()
def ops_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database opened (and so migrated) on each backend in turn."""
    with OpsDatabase.open(ops_url) as db:
        yield db
