"""The server runs without MQTT when it is off or cannot start, and says why."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from api.mqtt.broker import free_port
from tests.api.mqtt.conftest import serve_mqtt
from tests.signin import admin_client


def test_a_taken_port_leaves_the_server_running_without_mqtt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, port = serve_mqtt(tmp_path / "city")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with caplog.at_level(logging.WARNING, "api.mqtt"), admin_client(app) as client:
            assert app.state.mqtt_service is None
            assert client.get("/api/me").status_code == 200
    assert any(
        "MQTT is off" in r.getMessage() and f"port {port}" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("mqtt://127.0.0.1:{port}", "cannot reach"),
        ("http://example.org", "use off, auto or mqtt://"),
    ],
)
def test_an_unusable_external_broker_is_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str, reason: str
) -> None:
    app, _ = serve_mqtt(tmp_path / "city")
    app.state.mqtt = mode.format(port=free_port())  # nothing listens there
    with caplog.at_level(logging.WARNING, "api.mqtt"), admin_client(app):
        assert app.state.mqtt_service is None
    assert any(reason in r.getMessage() for r in caplog.records)


def test_off_starts_nothing(tmp_path: Path) -> None:
    app, _ = serve_mqtt(tmp_path / "city")
    app.state.mqtt = "off"
    with admin_client(app):
        assert getattr(app.state, "mqtt_service", None) is None
    assert not (tmp_path / "city" / "mqtt").exists()
