"""A city with the tiny model registered, an app without a worker, signed-in callers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.jobs import JobQueue
from tests.api.simulations.tiny import register_tiny
from tests.signin import signed_in

TOWN_A = "440106001000"
TOWN_B = "440106002000"


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch: pytest.MonkeyPatch) -> None:
    register_tiny(monkeypatch)


@pytest.fixture()
def city(small_city: Path, tmp_path: Path) -> Path:
    """A copy of the small tiled city (runs and jobs written into it are the test's)."""
    copy = tmp_path / "city"
    shutil.copytree(small_city, copy, ignore=shutil.ignore_patterns("*.sqlite*", "simulations"))
    return copy


@pytest.fixture()
def app(city: Path) -> FastAPI:
    return create_app(city, worker=False)


def caller(app: FastAPI, role: str, jurisdiction: str = "440000000000") -> TestClient:
    """A client signed in as a new user of ``role`` at ``jurisdiction``."""
    return TestClient(app, headers=signed_in(app, roles=(role,), jurisdiction=jurisdiction))


def drain(city: Path) -> None:
    """Run the queued jobs here."""
    JobQueue(city).drain()
