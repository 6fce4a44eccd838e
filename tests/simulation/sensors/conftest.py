"""Fixtures of the sensing tests: the real air-quality record of the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

PM25_FILE = "sensors/air_quality_pm25_long.csv"


@pytest.fixture(scope="session")
def pm25_file(shared_data: Path) -> Path:
    """pandas' long-format PM2.5 record (OpenAQ): 101 rows of BETR801, 1009 of London
    Westminster; fails (never skips) when missing."""
    path = shared_data / PM25_FILE
    if not path.is_file():
        pytest.fail(f"the shared data has no {PM25_FILE}", pytrace=False)
    return path
