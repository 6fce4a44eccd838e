"""Nothing a device had acknowledged is lost when the server is killed (SIGKILL) while it
stores observations from MQTT: the broker (stopped with its parent, saving its sessions)
keeps what the server had not acknowledged and sends it again to the next server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from api.auth import accounts
from api.auth.clock import utc_now
from api.mqtt.broker import free_port
from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.store import CityStore
from tests.api.mqtt.devices import Device, eventually
from tests.conftest import PROJECT_ROOT
from tests.simulation.sensors.network import VILLAGE_A, build_network

SENT = 10_000
KILL_AFTER = 1000  # acknowledged messages before the server is killed
BASE_US = 1_796_000_000_000_000


@contextmanager
def served(city: Path, port: int, mqtt_port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`cimtwin serve` of ``city`` with its broker on ``mqtt_port``."""
    env = os.environ | {
        "CIMTWIN_PORT": str(port), "CIMTWIN_MQTT": "auto", "CIMTWIN_MQTT_PORT": str(mqtt_port),
        "CIMTWIN_WORKER": "false", "PYTHONPATH": str(PROJECT_ROOT),
    }  # fmt: skip
    with log.open("ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--city", str(city)],
            env=env, stdout=out, stderr=out, cwd=PROJECT_ROOT,
        )  # fmt: skip
    try:
        yield server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


def stored_times(db: OpsDatabase, datastream: int) -> set[int]:
    with db.transaction() as session:
        rows = session.scalars(
            select(t.Observation.phenomenon_us).where(t.Observation.datastream_id == datastream)
        )
        return set(rows)


def listening(port: int) -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def test_a_killed_server_loses_no_acknowledged_observation(tmp_path: Path) -> None:
    city = tmp_path / "city"
    CityStore.create(city, "EPSG:4547", "durability").close()
    with OpsDatabase.for_city(city) as db:
        stream = build_network(db).datastreams["a-level"]
        record, key = accounts.create_key(
            db, "gauge", jurisdiction=VILLAGE_A, actions=["observe"], now=utc_now(),
            actor="local:test",
        )  # fmt: skip
    port, mqtt_port = free_port(), free_port()
    log = tmp_path / "server.log"
    topic = f"v1.1/Datastreams({stream})/Observations"
    acknowledged: set[int] = set()
    with OpsDatabase.for_city(city) as db:
        with served(city, port, mqtt_port, log) as server:
            # the server is up and subscribed once a first observation is stored
            device = eventually(lambda: _connected(mqtt_port, record.id, key))

            def first_stored() -> bool:  # sent again until the server's client subscribed
                device.publish(topic, {"phenomenonTime": _iso(BASE_US), "result": 0})
                return bool(stored_times(db, stream))

            eventually(first_stored, timeout=30)
            acknowledged.add(BASE_US)
            device.close()
            publisher = Publisher(mqtt_port, record.id, key, topic)
            publisher.start()
            eventually(lambda: len(publisher.acknowledged) >= KILL_AFTER, timeout=60)
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            publisher.stop()
            acknowledged |= publisher.acknowledged
        before_restart = stored_times(db, stream)
        eventually(lambda: not listening(mqtt_port), timeout=30)  # the broker followed it
        with served(city, port, mqtt_port, log):
            eventually(lambda: acknowledged <= stored_times(db, stream), timeout=60)
    assert f"MQTT broker on mqtt://127.0.0.1:{mqtt_port}" in log.read_text()  # said at start
    assert KILL_AFTER <= len(acknowledged) < SENT + 1, log.read_text()[-2000:]
    assert len(before_restart) < len(acknowledged)  # some were only stored after the restart


def _connected(port: int, user: str, password: str) -> Device | None:
    if not listening(port):
        return None
    device = Device(port, user, password)
    if device.wait_answer().is_failure:
        device.close()
        return None
    return device


def _iso(time_us: int) -> str:
    from simulation.sensors.times import format_time

    return format_time(time_us)


class Publisher:
    """A device publishing ``SENT`` observations (QoS 1), one microsecond apart, keeping the
    phenomenon times the broker acknowledged."""

    def __init__(self, port: int, user: str, password: str, topic: str) -> None:
        self.topic = topic
        self.acknowledged: set[int] = set()
        self._pending: dict[int, int] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, reconnect_on_failure=False)
        self.client.username_pw_set(user, password)
        self.client.max_inflight_messages_set(100)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, _: Any, __: Any, mid: int, reason: Any, ___: Any) -> None:
        if reason.is_failure:
            return
        with self._lock:  # the PUBACK may come before publish() returned its mid
            time_us = self._pending.pop(mid, None)
            if time_us is None:
                self._early.add(mid)
            else:
                self.acknowledged.add(time_us)

    def start(self) -> None:
        self.client.loop_start()
        self._thread.start()

    def _run(self) -> None:
        for number in range(1, SENT + 1):
            if self._stop.is_set():
                return
            time_us = BASE_US + number
            body = f'{{"phenomenonTime":"{_iso(time_us)}","result":{number}}}'
            # not under the lock: paho calls on_publish holding a lock publish() takes
            info = self.client.publish(self.topic, body, qos=1)
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    self.acknowledged.add(time_us)
                else:
                    self._pending[info.mid] = time_us
            with suppress(RuntimeError, ValueError):
                while (
                    not info.is_published() and not self._stop.is_set() and len(self._pending) > 50
                ):
                    info.wait_for_publish(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.client.disconnect()
        self.client.loop_stop()
