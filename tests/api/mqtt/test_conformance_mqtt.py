"""Conformance to SensorThings 1.1's MQTT extension, mirroring the OGC test suite's classes
(ets-sta10: "create observations via MQTT", "receive updates via MQTT") over a real
Mosquitto, on SQLite and on PostgreSQL. Each test cites the requirement it checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cim.ops import sensor_tables as t
from tests.api.mqtt.conftest import MqttApp
from tests.api.mqtt.devices import Device, eventually


@pytest.fixture()
def mqtt_app(mqtt_app_each: MqttApp) -> MqttApp:
    """This module's tests run on SQLite, then on PostgreSQL."""
    return mqtt_app_each


def test_publishing_to_a_datastream_creates_an_observation(mqtt_app: MqttApp) -> None:
    """A device publishing an Observation to ``v1.1/Datastreams(id)/Observations`` creates
    it in that datastream. Requirement:

    http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation
    """
    key_id, key = mqtt_app.new_key()
    stream = mqtt_app.network.datastreams["a-level"]
    device = Device(mqtt_app.port, key_id, key)
    device.publish(
        f"v1.1/Datastreams({stream})/Observations",
        {"phenomenonTime": "2026-12-03T08:00:00Z", "result": 1.25},
    )
    assert eventually(lambda: mqtt_app.results(stream)) == [1.25]
    device.close()


def test_a_created_observation_gets_every_property_it_was_sent(mqtt_app: MqttApp) -> None:
    """Times, result quality and parameters sent over MQTT are stored as given.
    Requirement:

    http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation
    """
    key_id, key = mqtt_app.new_key()
    stream = mqtt_app.network.datastreams["a-text"]
    device = Device(mqtt_app.port, key_id, key)
    device.publish(
        f"v1.1/Datastreams({stream})/Observations",
        {
            "phenomenonTime": "2026-12-03T08:00:00Z/2026-12-03T08:05:00Z",
            "resultTime": "2026-12-03T08:05:01Z",
            "result": "dry",
            "parameters": {"battery": 0.9},
            "Datastream": {"@iot.id": stream},
        },
    )
    assert eventually(lambda: mqtt_app.results(stream)) == ["dry"]
    with mqtt_app.db.transaction() as session:
        stored = session.scalars(
            select(t.Observation).where(t.Observation.datastream_id == stream)
        ).one()
        assert stored.phenomenon_end_us == stored.phenomenon_us + 300_000_000
        assert stored.result_us is not None
        assert stored.parameters == {"battery": 0.9}
        assert stored.feature_id is not None  # made from the thing's location
    device.close()


def test_subscriber_receives_observations_created_over_http(mqtt_app: MqttApp) -> None:
    """A client subscribed to ``v1.1/Datastreams(id)/Observations`` receives each
    Observation created in it, as its JSON with ``@iot.id``. Requirement:

    http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates
    """
    key_id, key = mqtt_app.new_key(("read",))
    stream = mqtt_app.network.datastreams["a-level"]
    subscriber = Device(mqtt_app.port, key_id, key)
    assert not subscriber.subscribe(f"v1.1/Datastreams({stream})/Observations")[0].is_failure
    new_id = mqtt_app.create(stream, {"phenomenonTime": "2026-12-03T09:00:00Z", "result": 3.5})
    topic, body = subscriber.next_message()
    assert topic == f"v1.1/Datastreams({stream})/Observations"
    assert body["@iot.id"] == new_id
    assert body["result"] == 3.5
    assert body["phenomenonTime"].startswith("2026-12-03T09:00:00")
    assert body["@iot.selfLink"] == f"http://testserver/sta/v1.1/Observations({new_id})"
    assert "Thing@iot.id" not in body  # only SensorThings properties
    subscriber.close()


def test_subscriber_of_a_feature_receives_its_observations(mqtt_app: MqttApp) -> None:
    """``v1.1/FeaturesOfInterest(id)/Observations`` delivers the observations of that
    feature of interest. Requirement:

    http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates
    """
    stream = mqtt_app.network.datastreams["a-level"]
    first = mqtt_app.create(stream, {"phenomenonTime": "2026-12-03T09:00:00Z", "result": 1})
    with mqtt_app.db.transaction() as session:
        feature = session.get(t.Observation, first).feature_id  # type: ignore[union-attr]
    key_id, key = mqtt_app.new_key(("read",))  # its access now includes the new feature
    subscriber = Device(mqtt_app.port, key_id, key)
    assert not subscriber.subscribe(f"v1.1/FeaturesOfInterest({feature})/Observations")[
        0
    ].is_failure
    second = mqtt_app.create(stream, {"phenomenonTime": "2026-12-03T09:01:00Z", "result": 2})
    # the first one's publication may still be on its way (QoS 0, another thread): skip it
    received = subscriber.messages_until(lambda body: body["@iot.id"] == second)
    assert {topic for topic, _ in received} == {f"v1.1/FeaturesOfInterest({feature})/Observations"}
    assert [body["@iot.id"] for _, body in received if body["@iot.id"] != first] == [second]
    subscriber.close()


def test_an_observation_published_by_a_device_reaches_subscribers_once(
    mqtt_app: MqttApp,
) -> None:
    """The device's own message goes to the datastream's subscribers; the server does not
    publish it there a second time, but does on its feature of interest's topic with its
    id. Requirements:

    http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation
    http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates
    """
    stream = mqtt_app.network.datastreams["a-level"]
    first = mqtt_app.create(stream, {"phenomenonTime": "2026-12-03T07:00:00Z", "result": 0})
    with mqtt_app.db.transaction() as session:
        feature = session.get(t.Observation, first).feature_id  # type: ignore[union-attr]
    reader_id, reader_key = mqtt_app.new_key(("read",))
    sender_id, sender_key = mqtt_app.new_key(("observe",))
    subscriber = Device(mqtt_app.port, reader_id, reader_key)
    subscriber.subscribe(f"v1.1/Datastreams({stream})/Observations")
    subscriber.subscribe(f"v1.1/FeaturesOfInterest({feature})/Observations")
    device = Device(mqtt_app.port, sender_id, sender_key)
    for minute, value in ((1, 10.0), (2, 20.0)):
        device.publish(
            f"v1.1/Datastreams({stream})/Observations",
            {"phenomenonTime": f"2026-12-03T08:0{minute}:00Z", "result": value},
        )
    received = [subscriber.next_message() for _ in range(4)]
    received = [(topic, body) for topic, body in received if body.get("@iot.id") != first]
    while len(received) < 4:  # the first one's publication came late (QoS 0, another thread)
        received.append(subscriber.next_message())
    on_stream = [body["result"] for topic, body in received if topic.startswith("v1.1/Datastreams")]
    on_feature = [body for topic, body in received if topic.startswith("v1.1/FeaturesOfInterest")]
    assert sorted(on_stream) == [10.0, 20.0]
    assert sorted(body["result"] for body in on_feature) == [10.0, 20.0]
    assert all("@iot.id" in body for body in on_feature)
    topic = f"v1.1/Datastreams({stream})/Observations"
    device.publish(topic, {"phenomenonTime": "2026-12-03T08:03:00Z", "result": 30.0})
    # a sentinel after it, stored and published by the same client in order: once its
    # feature's message is in, a duplicate of the first would be too
    device.publish(topic, {"phenomenonTime": "2026-12-03T08:04:00Z", "result": 40.0})
    tail = subscriber.messages_until(lambda body: "@iot.id" in body and body["result"] == 40.0)
    copies = sorted(topic for topic, body in tail if body["result"] == 30.0)
    assert copies == [
        f"v1.1/Datastreams({stream})/Observations",
        f"v1.1/FeaturesOfInterest({feature})/Observations",
    ]
    subscriber.close()
    device.close()


def test_subscriber_of_an_entity_receives_its_updates(mqtt_app: MqttApp) -> None:
    """A client subscribed to an entity's topic (``v1.1/Things(id)``) receives the entity
    when it is updated, as its JSON. Requirement:

    http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates
    """
    thing = mqtt_app.network.things["a"]
    key_id, key = mqtt_app.new_key(("read",))
    subscriber = Device(mqtt_app.port, key_id, key)
    subscriber.subscribe(f"v1.1/Things({thing})")
    answer = mqtt_app.client.patch(f"/sta/v1.1/Things({thing})", json={"name": "renamed"})
    assert answer.status_code == 200, answer.text
    topic, body = subscriber.next_message()
    assert topic == f"v1.1/Things({thing})"
    assert (body["@iot.id"], body["name"]) == (thing, "renamed")
    subscriber.close()
