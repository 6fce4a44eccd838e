"""The topics of SensorThings' MQTT extension that the server reads and writes."""

from __future__ import annotations

import re
from typing import Any

from simulation.sensors.entities import entity_type

ROOT = "v1.1"
# What the server's client subscribes to: observations published by devices.
CREATE_FILTER = f"{ROOT}/+/Observations"
_DATASTREAM_OBSERVATIONS = re.compile(
    rf"{re.escape(ROOT)}/Datastreams\(([1-9][0-9]{{0,17}})\)/Observations"
)
# Keys the server adds to an observation event beside its SensorThings JSON.
EVENT_KEYS = frozenset({
    "Datastream@iot.id", "Thing@iot.id", "FeatureOfInterest@iot.id", "cityObject", "lon", "lat",
    "level",
})  # fmt: skip


def datastream_of(topic: str) -> int | None:
    """The datastream id of ``v1.1/Datastreams(<id>)/Observations``, else None."""
    match = _DATASTREAM_OBSERVATIONS.fullmatch(topic)
    return None if match is None else int(match.group(1))


def observation_topics(data: dict[str, Any], *, with_datastream: bool = True) -> list[str]:
    """Where a new observation (an ``"observation"`` event's data) is published: the
    Observations collection, its datastream's (unless ``with_datastream`` is false: the
    device's own message already went there) and its feature of interest's."""
    topics = [f"{ROOT}/Observations"]
    datastream = data.get("Datastream@iot.id")
    if with_datastream and datastream is not None:
        topics.append(f"{ROOT}/Datastreams({datastream})/Observations")
    feature = data.get("FeatureOfInterest@iot.id")
    if feature is not None:
        topics.append(f"{ROOT}/FeaturesOfInterest({feature})/Observations")
    return topics


def entity_topics(kind: str, entity_id: int, *, created: bool) -> list[str]:
    """Where a created entity is published (its collection) or an updated one (its own
    topic, ``v1.1/Things(3)``); ``kind``: its type's name, singular or plural."""
    plural = entity_type(kind).plural
    return [f"{ROOT}/{plural}"] if created else [f"{ROOT}/{plural}({entity_id})"]


def sta_payload(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as SensorThings JSON (without the keys the server adds)."""
    return {key: value for key, value in data.items() if key not in EVENT_KEYS}
