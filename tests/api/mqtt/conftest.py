"""An app serving MQTT with its own Mosquitto on a free port, in a temporary city folder,
over the small sensor network of the sensing tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.auth import accounts
from api.auth.clock import utc_now
from api.auth.state import auth_state_of, configure
from api.mqtt.broker import free_port
from api.mqtt.service import MqttService
from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from tests.signin import admin_client
from tests.simulation.sensors.network import VILLAGE_A, VILLAGE_B, Network, build_network


@dataclass
class MqttApp:
    """The served app, its HTTP client, database, sensor network and MQTT port."""

    app: FastAPI
    client: TestClient
    db: OpsDatabase
    network: Network
    port: int

    @property
    def service(self) -> MqttService:
        service: MqttService | None = self.app.state.mqtt_service
        assert service is not None, "MQTT did not start"
        return service

    def new_key(
        self, actions: tuple[str, ...] = ("observe",), jurisdiction: str = VILLAGE_A
    ) -> tuple[str, str]:
        """A new API key's id and the key, known to the broker when this returns."""
        record, key = accounts.create_key(
            self.db, "device", jurisdiction=jurisdiction, actions=actions, now=utc_now(),
            actor="local:test",
        )  # fmt: skip
        self.refresh()
        return record.id, key

    def refresh(self) -> None:
        """Rewrite the broker's access files now and make it read them."""
        assert self.service.refresher is not None
        self.service.refresher.refresh()

    def create(self, datastream: int, body: dict[str, object]) -> int:
        """Create an observation over HTTP (the data array extension); its id."""
        group = {
            "Datastream": {"@iot.id": datastream},
            "components": ["phenomenonTime", "result"],
            "dataArray": [[body["phenomenonTime"], body["result"]]],
        }
        answer = self.client.post("/sta/v1.1/CreateObservations", json=[group])
        assert answer.status_code == 201, answer.text
        link = answer.json()[0]
        assert link.endswith(")"), link
        return int(link.rsplit("(", 1)[1].rstrip(")"))

    def results(self, datastream: int) -> list[object]:
        """The results stored for ``datastream``, by phenomenon time."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(t.Observation.result_number, t.Observation.result_text)
                .where(t.Observation.datastream_id == datastream)
                .order_by(t.Observation.phenomenon_us)
            )
            return [number if number is not None else text for number, text in rows]


def serve_mqtt(city: Path) -> tuple[FastAPI, int]:
    """An app of ``city`` whose MQTT broker listens on a free port."""
    city.mkdir(parents=True, exist_ok=True)
    app = create_app(city, worker=False, mqtt="auto")
    port = free_port()
    app.state.mqtt_port = port
    return app, port


def locate_thing_b(db: OpsDatabase, network: Network) -> None:
    """Give thing ``b`` (village B) a location, so its observations can be stored: a
    refusal to store them is then the broker's doing."""
    with db.transaction() as session:
        place = t.Location(
            name="bridge", description="", encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": [113.34, 23.14]},
            lon_min=113.34, lat_min=23.14, lon_max=113.34, lat_max=23.14,
            jurisdiction=VILLAGE_B,
        )  # fmt: skip
        session.add(place)
        session.flush()
        session.add(t.ThingLocation(thing_id=network.things["b"], location_id=place.id))


@contextmanager
def served_app(city: Path, url: str | None = None) -> Iterator[MqttApp]:
    """The app of ``city`` with MQTT, over the sensor network (``url``: its operational
    database, default the city's SQLite file)."""
    app, port = serve_mqtt(city)
    if url is not None:
        configure(app, url=url)
    db = auth_state_of(app).db
    network = build_network(db)
    locate_thing_b(db, network)
    with admin_client(app) as client:
        yield MqttApp(app, client, db, network, port)


@pytest.fixture()
def mqtt_app(tmp_path: Path) -> Iterator[MqttApp]:
    """The app on SQLite."""
    with served_app(tmp_path / "city") as served:
        yield served


@pytest.fixture()
def mqtt_app_each(tmp_path: Path, ops_url: str) -> Iterator[MqttApp]:
    """The app on SQLite, then on PostgreSQL."""
    with served_app(tmp_path / "city", ops_url) as served:
        yield served
