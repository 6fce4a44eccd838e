"""Sensing fixtures: the operational database on each backend with a small network of things."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cim.ops import OpsDatabase
from tests.simulation.sensors.network import Network, build_network


@pytest.fixture()
def sensing_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database (SQLite, then PostgreSQL) with the sensing tables."""
    with OpsDatabase.open(ops_url) as db:
        yield db


@pytest.fixture()
def network(sensing_db: OpsDatabase) -> Network:
    """Two things in two villages, each with a location and two datastreams."""
    return build_network(sensing_db)
