"""An app serving MQTT with its own Mosquitto on a free port, in a temporary city folder,
over the small sensor network of the sensing tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.auth import accounts
from api.auth.clock import utc_now
from api.auth.state import auth_state_of
from api.mqtt.broker import free_port
from api.mqtt.service import MqttService
from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from tests.signin import admin_client
from tests.simulation.sensors.network import VILLAGE_A, Network, build_network


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


@pytest.fixture()
def mqtt_app(tmp_path: Path) -> Iterator[MqttApp]:
    app, port = serve_mqtt(tmp_path / "city")
    db = auth_state_of(app).db
    network = build_network(db)
    with admin_client(app) as client:
        yield MqttApp(app, client, db, network, port)
