"""The broker's password and ACL files: Mosquitto's own hash format, real connections."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from api.auth.apikeys import make_key
from api.mqtt.broker import Broker, BrokerConfig, free_port
from api.mqtt.credentials import (
    ServerUser,
    acl_file,
    mosquitto_check,
    mosquitto_hash,
    password_file,
)
from cim.ops.keys import KeyRecord
from simulation.sensors.catalog import Catalog
from tests.api.mqtt.devices import Device

VILLAGE_A = "440106001001"
VILLAGE_B = "440106001002"
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def key_record(
    key_id: str, actions: tuple[str, ...], *, revoked: bool = False, hashed: str | None = "$7$x"
) -> KeyRecord:
    return KeyRecord(
        key_id, "device", VILLAGE_A, actions, NOW, NOW if revoked else None, "h", hashed
    )


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    program = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    reference = tmp_path / "passwords"
    subprocess.run([program, "-c", "-b", str(reference), "dev", "ck_0123_secret"], check=True)
    stored = reference.read_text().strip().split(":", 1)[1]
    assert mosquitto_check("ck_0123_secret", stored)
    assert not mosquitto_check("ck_0123_other", stored)
    salt_text = stored.split("$")[3]
    assert mosquitto_hash("ck_0123_secret", base64.b64decode(salt_text)) == stored


def test_a_made_key_carries_its_mosquitto_hash() -> None:
    new = make_key()
    assert new.mqtt_hash is not None
    assert mosquitto_check(new.key, new.mqtt_hash)
    assert not mosquitto_check(new.key + "x", new.mqtt_hash)


def test_mosquitto_accepts_the_hash_and_refuses_a_wrong_password(tmp_path: Path) -> None:
    new = make_key()
    server = ServerUser.new()
    assert new.mqtt_hash is not None
    config = BrokerConfig(tmp_path / "mqtt", free_port())
    config.folder.mkdir()
    config.password_file.write_text(f"{server.name}:{server.hashed}\n{new.id}:{new.mqtt_hash}\n")
    config.acl_file.write_text("")
    broker = Broker.start(config)
    try:
        good = Device(config.port, new.id, new.key)
        bad = Device(config.port, new.id, new.key[:-1] + "?")
        stranger = Device(config.port, "nobody", new.key)
        assert not good.wait_answer().is_failure
        assert bad.wait_answer().is_failure
        assert stranger.wait_answer().is_failure
        for device in (good, bad, stranger):
            device.close()
    finally:
        broker.stop()


def test_password_file_holds_the_server_and_the_live_keys_with_a_hash() -> None:
    server = ServerUser("cimtwin-server", "pw", "$7$server")
    keys = [
        key_record("aaaaaaaaaaaa", ("observe",), hashed="$7$a"),
        key_record("bbbbbbbbbbbb", ("observe",), revoked=True),
        key_record("cccccccccccc", ("observe",), hashed=None),
    ]
    assert password_file(server, keys) == "cimtwin-server:$7$server\naaaaaaaaaaaa:$7$a\n"


def test_acl_limits_each_key_to_its_jurisdiction_and_its_actions() -> None:
    server = ServerUser("cimtwin-server", "pw", "$7$server")
    catalog = Catalog(
        datastreams=((1, VILLAGE_A), (2, VILLAGE_B)),
        things=((5, VILLAGE_A), (6, VILLAGE_B)),
        features=((9, VILLAGE_A),),
    )
    keys = [
        key_record("aaaaaaaaaaaa", ("observe",)),
        key_record("bbbbbbbbbbbb", ("read",)),
        key_record("cccccccccccc", ("import",)),
    ]
    sections = {
        s.split("\n")[0]: s.split("\n")[1:] for s in acl_file(server, keys, catalog).split("\n\n")
    }
    assert sections["user cimtwin-server"] == ["topic readwrite v1.1/#"]
    assert sections["user aaaaaaaaaaaa"] == [
        "topic readwrite v1.1/Datastreams(1)/Observations",
        "topic read v1.1/Datastreams(1)",
        "topic read v1.1/Things(5)",
        "topic read v1.1/Things(5)/Datastreams",
        "topic read v1.1/FeaturesOfInterest(9)/Observations",
    ]
    assert sections["user bbbbbbbbbbbb"][0] == "topic read v1.1/Datastreams(1)/Observations"
    assert not any("Datastreams(2)" in line for lines in sections.values() for line in lines)
    assert [line for line in sections["user cccccccccccc"] if line] == []


def test_broker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from api.mqtt.broker import Broker, BrokerConfig, free_port\n"
        f"config = BrokerConfig(Path({str(tmp_path / 'mqtt')!r}), free_port())\n"
        "config.folder.mkdir()\n"
        "config.password_file.write_text('')\n"
        "config.acl_file.write_text('')\n"
        "print(Broker.start(config).process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    broker_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(broker_pid):
        assert time.monotonic() < deadline, "the broker outlived the server"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_devices_may_connect_over_websockets(tmp_path: Path) -> None:
    new = make_key()
    assert new.mqtt_hash is not None
    config = BrokerConfig(tmp_path / "mqtt", free_port(), websockets_port=free_port())
    config.folder.mkdir()
    config.password_file.write_text(f"{new.id}:{new.mqtt_hash}\n")
    config.acl_file.write_text("")
    broker = Broker.start(config)
    try:
        assert config.websockets_port is not None
        device = Device(config.websockets_port, new.id, new.key, transport="websockets")
        assert not device.wait_answer().is_failure
        device.close()
    finally:
        broker.stop()
