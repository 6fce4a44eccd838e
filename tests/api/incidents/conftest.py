"""An app over the scoped city (towns A and B of Tianhe with their polygons) whose
operational database is new for each test and whose clock the test moves; its users are
made by :func:`tests.signin.signed_in`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import auth_state_of, configure
from api.events import Event, event_hub_of
from cim.crs import transformer
from tests.scoped_city import PLACES, ScopedCity, build_scoped_city
from tests.signin import signed_in

TO_LONLAT = transformer("EPSG:4547", "EPSG:4326")


def lonlat(key: str, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    """The CRS84 point of a place of the scoped city ("A", "B", "far"), moved by metres."""
    x, y = PLACES[key]
    lon, lat = TO_LONLAT.transform(x + dx, y + dy)
    return float(lon), float(lat)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 12, 3, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class LoopApp:
    """The app, its clock, the events it published, and a way to sign people in."""

    app: FastAPI
    clock: Clock
    events: list[Event]

    def client(
        self,
        role: str,
        jurisdiction: str,
        name: str | None = None,
        department: str | None = None,
    ) -> TestClient:
        """A client signed in as a new user with ``role`` at ``jurisdiction``."""
        client = TestClient(self.app)
        client.headers.update(
            signed_in(
                self.app,
                roles=(role,),
                jurisdiction=jurisdiction,
                name=name,
                department=department,
            )
        )
        return client

    def incident_events(self) -> list[tuple[int, str, str]]:
        """(incident id, change, status) of every ``incident`` event so far."""
        return [
            (e.data["id"], e.data["change"], e.data["status"])
            for e in self.events
            if e.kind == "incident"
        ]


@pytest.fixture(scope="session")
def scoped_city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("incident-city") / "city")


@pytest.fixture()
def loop(scoped_city: ScopedCity, tmp_path: Path) -> Iterator[LoopApp]:
    app = create_app(scoped_city.folder, worker=False)
    clock = Clock()
    configure(app, url=f"sqlite:///{tmp_path / 'ops.sqlite'}", clock=clock)
    events: list[Event] = []
    event_hub_of(app).add_listener(events.append)
    yield LoopApp(app, clock, events)
    auth_state_of(app).close()
