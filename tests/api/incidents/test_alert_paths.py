"""Every ingest path reaches the alert engine: a device publishing over MQTT, and the demo's
replay (SensorThings over HTTP is in test_rules_routes.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.alert_engine import AlertEngine, alert_engine_of
from api.auth.state import auth_state_of
from api.demo_plan import sensor_plan
from api.demo_sensors import DemoReplay, LiveStream
from api.events import event_hub_of
from cim.ops import OpsDatabase
from cim.ops.incident_tables import Alert
from cim.scope import Scope
from simulation.incidents.rules import RuleIn, create_rule
from tests.api.mqtt.conftest import served_app
from tests.api.mqtt.devices import Device, eventually
from tests.api.sta.writing import empty_city_app, recorded_events
from tests.simulation.incidents.alert_rows import T0, VILLAGE_A, stream

PROVINCE = "440000000000"


def watch(app: FastAPI, db: OpsDatabase, datastream: int) -> AlertEngine:
    """A rule raising above 1.0 on ``datastream``; the app's engine, told of it."""
    rule = RuleIn("high", PROVINCE, "above", 1.0, datastream_id=datastream)
    create_rule(db, rule, creator="t", scope=Scope.everything(), now_us=T0)
    engine = alert_engine_of(app)
    assert engine is not None
    engine.rules_changed()
    return engine


def alerts(db: OpsDatabase) -> list[tuple[int | None, float | None]]:
    with db.transaction() as session:
        return [(a.datastream_id, a.first_value) for a in session.scalars(select(Alert))]


def test_a_device_publishing_over_mqtt_raises_an_alert(tmp_path: Path) -> None:
    with served_app(tmp_path / "city") as served:
        gauge = served.network.datastreams["a-level"]
        engine = watch(served.app, served.db, gauge)
        events = recorded_events(served.app)
        key_id, key = served.new_key()
        device = Device(served.port, key_id, key)
        try:
            device.publish(f"v1.1/Datastreams({gauge})/Observations",
                           {"phenomenonTime": "2026-12-03T08:00:00Z", "result": 3.5})  # fmt: skip
            assert eventually(lambda: engine.drain() and alerts(served.db)) == [(gauge, 3.5)]
        finally:
            device.close()
        (alert,) = [e.data for e in events if e.kind == "alert"]
        assert (alert["datastreamId"], alert["status"]) == (gauge, "active")


class HighWater(DemoReplay):
    """The demo's replay with its series at 5.0."""

    def value(self, stream: LiveStream, when: int) -> float:
        return 5.0


def test_the_demo_replay_raises_alerts(tmp_path: Path) -> None:
    app = empty_city_app(tmp_path / "city")
    with TestClient(app):
        db = auth_state_of(app).db
        gauge = stream(db)
        engine = watch(app, db, gauge)
        plan = sensor_plan()
        series = next(iter(plan.datastreams().values())).series
        live = LiveStream(gauge, 0, VILLAGE_A, None, series)
        replay = HighWater(db, event_hub_of(app), [live], plan, T0)
        replay.step(T0 + 60_000_000)
        assert engine.drain()
        assert alerts(db) == [(gauge, 5.0)]
