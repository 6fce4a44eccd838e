"""What the broker refuses: unknown devices, revoked keys, topics outside a device's
jurisdiction; and what the server refuses: bodies it cannot read."""

from __future__ import annotations

from api.auth import accounts
from api.auth.clock import utc_now
from cim.ops import keys
from tests.api.mqtt.conftest import MqttApp
from tests.api.mqtt.devices import Device, eventually
from tests.simulation.sensors.network import VILLAGE_A


def test_a_wrong_password_is_refused_at_connect(mqtt_app: MqttApp) -> None:
    key_id, key = mqtt_app.new_key()
    for user, password in ((key_id, key[:-2] + "xx"), ("0123456789ab", key), ("", key)):
        device = Device(mqtt_app.port, user, password)
        assert device.wait_answer().is_failure
        device.close()


def test_a_key_made_before_mqtt_cannot_connect(mqtt_app: MqttApp) -> None:
    key_id, key = "00000000beef", "ck_00000000beef_" + "s" * 40
    keys.add_key(
        mqtt_app.db, key_id, secret_hash="x", name="old", jurisdiction=VILLAGE_A,
        actions=["observe"], now=utc_now(),
    )  # fmt: skip
    mqtt_app.refresh()
    device = Device(mqtt_app.port, key_id, key)
    assert device.wait_answer().is_failure
    device.close()


def test_a_revoked_key_is_refused_once_the_files_are_made_again(mqtt_app: MqttApp) -> None:
    key_id, key = mqtt_app.new_key()
    before = Device(mqtt_app.port, key_id, key)
    assert not before.wait_answer().is_failure
    before.close()
    accounts.revoke_key(mqtt_app.db, key_id, now=utc_now(), actor="local:test")
    mqtt_app.refresh()

    def refused() -> bool:
        device = Device(mqtt_app.port, key_id, key)
        answer = device.wait_answer()
        device.close()
        return answer.is_failure

    assert eventually(refused)


def test_a_new_key_is_let_in_without_restarting_anything(mqtt_app: MqttApp) -> None:
    record, key = accounts.create_key(
        mqtt_app.db, "late device", jurisdiction=VILLAGE_A, actions=["observe"], now=utc_now(),
        actor="local:test",
    )  # fmt: skip

    def admitted() -> bool:  # the server's periodic look at the keys picks it up
        device = Device(mqtt_app.port, record.id, key)
        answer = device.wait_answer()
        device.close()
        return not answer.is_failure

    assert eventually(admitted)


def test_publishing_outside_the_jurisdiction_stores_nothing(mqtt_app: MqttApp) -> None:
    key_id, key = mqtt_app.new_key()  # village A
    inside = mqtt_app.network.datastreams["a-level"]
    outside = mqtt_app.network.datastreams["b-level"]
    device = Device(mqtt_app.port, key_id, key)
    for qos in (0, 1):
        device.publish(
            f"v1.1/Datastreams({outside})/Observations",
            {"phenomenonTime": f"2026-12-03T08:0{qos}:00Z", "result": 99},
            qos,
        )
    device.publish("v1.1/Observations", {"result": 98, "Datastream": {"@iot.id": outside}})
    # a message after them, on an allowed topic: once it is stored, they would be too
    device.publish(f"v1.1/Datastreams({inside})/Observations", {"result": 1.0})
    assert eventually(lambda: mqtt_app.results(inside)) == [1.0]
    assert mqtt_app.results(outside) == []
    device.close()


def test_nothing_outside_the_jurisdiction_reaches_a_subscriber(mqtt_app: MqttApp) -> None:
    # Mosquitto grants any subscription (SUBACK) and checks the ACL on each message
    key_id, key = mqtt_app.new_key(("read",))
    outside = mqtt_app.network.datastreams["b-level"]
    inside = mqtt_app.network.datastreams["a-level"]
    device = Device(mqtt_app.port, key_id, key)
    for topic in (f"v1.1/Datastreams({outside})/Observations", "v1.1/Observations", "v1.1/#"):
        device.subscribe(topic)
    mqtt_app.create(outside, {"phenomenonTime": "2026-12-03T08:00:00Z", "result": 7})
    # a message after it, on an allowed topic: once it arrives, the other would have too
    inside_id = mqtt_app.create(inside, {"phenomenonTime": "2026-12-03T08:00:00Z", "result": 8})
    received = [device.next_message()]
    while not device.messages.empty():
        received.append(device.next_message())
    assert [body["@iot.id"] for _, body in received] == [inside_id] * len(received)
    assert {topic for topic, _ in received} == {f"v1.1/Datastreams({inside})/Observations"}
    device.close()


def test_a_read_key_cannot_publish(mqtt_app: MqttApp) -> None:
    reader_id, reader_key = mqtt_app.new_key(("read",))
    sender_id, sender_key = mqtt_app.new_key(("observe",))
    stream = mqtt_app.network.datastreams["a-level"]
    reader = Device(mqtt_app.port, reader_id, reader_key)
    reader.publish(f"v1.1/Datastreams({stream})/Observations", {"result": 5.0})
    sender = Device(mqtt_app.port, sender_id, sender_key)
    sender.publish(f"v1.1/Datastreams({stream})/Observations", {"result": 6.0})
    assert eventually(lambda: mqtt_app.results(stream)) == [6.0]
    reader.close()
    sender.close()


def test_unreadable_messages_are_dropped_and_the_next_ones_stored(mqtt_app: MqttApp) -> None:
    key_id, key = mqtt_app.new_key()
    stream = mqtt_app.network.datastreams["a-level"]
    other = mqtt_app.network.datastreams["a-text"]
    device = Device(mqtt_app.port, key_id, key)
    topic = f"v1.1/Datastreams({stream})/Observations"
    device.client.publish(topic, b"{not json", 1).wait_for_publish(10)
    device.publish(topic, {"phenomenonTime": "yesterday", "result": 1})
    device.publish(topic, {"result": 2, "Datastream": {"@iot.id": other}})  # not its topic's
    device.publish(topic, {"phenomenonTime": "2026-12-03T08:00:00Z", "result": 3.0})
    assert eventually(lambda: mqtt_app.results(stream)) == [3.0]
    assert mqtt_app.results(other) == []
    assert mqtt_app.service.bridge.rejected == 3
    device.close()
