"""Sensing fixtures: the operational database on each backend with a small network of things;
the real air-quality record of the shared data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cim.ops import OpsDatabase
from tests.simulation.sensors.network import Network, build_network

PM25_FILE = "sensors/air_quality_pm25_long.csv"


@pytest.fixture()
def sensing_db(ops_url: str) -> Iterator[OpsDatabase]:
    """An operational database (SQLite, then PostgreSQL) with the sensing tables."""
    with OpsDatabase.open(ops_url) as db:
        yield db


@pytest.fixture()
def network(sensing_db: OpsDatabase) -> Network:
    """Two things in two villages, each with a location and two datastreams."""
    return build_network(sensing_db)


@pytest.fixture(scope="session")
def pm25_file(shared_data: Path) -> Path:
    """pandas' long-format PM2.5 record (OpenAQ): 101 rows of BETR801, 1009 of London
    Westminster; fails (never skips) when missing."""
    path = shared_data / PM25_FILE
    if not path.is_file():
        pytest.fail(f"the shared data has no {PM25_FILE}", pytrace=False)
    return path
