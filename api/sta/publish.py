"""Events of the SensorThings writes on the app's hub: one ``"observation"`` per stored
observation, one ``"entity"`` per entity created, changed or deleted.

Also for the other ways observations arrive (MQTT): hand :func:`observation_events` what
:func:`simulation.sensors.ingest.ingest` created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from api.events import Event
from api.sta.serialize import service_url, whole
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from simulation.sensors.records import StoredObservation
from simulation.sensors.state import level_of
from simulation.sensors.times import format_interval, format_time
from simulation.sensors.write_common import Change, now_us

# Datastream ids in one IN list.
ID_CHUNK = 500


def entity_events(changes: Sequence[Change]) -> list[Event]:
    """The ``"entity"`` event of each change."""
    return [Event("entity", c.jurisdiction, c.event_data()) for c in changes]


def observation_events(
    db: OpsDatabase, created: Sequence[StoredObservation], base_url: str
) -> list[Event]:
    """The ``"observation"`` event of each stored observation: its SensorThings JSON with
    its Datastream and Thing ids, the city object its Thing sits in, where its Thing stands
    (``lon``, ``lat``: the middle of its first location, for the streams' area filters),
    and the level of its datastream that the value gives (``base_url``: ``http://host``, as for
    :func:`api.sta.serialize.observation_json`)."""
    if not created:
        return []
    streams = _streams(db, {obs.datastream_id for obs in created})
    now = now_us()
    root = service_url(base_url)
    events = []
    for obs in created:
        properties, city_object, lon, lat = streams.get(obs.datastream_id, _NOWHERE)
        data = stored_observation_json(obs, root)
        data["Datastream@iot.id"] = obs.datastream_id
        data["Thing@iot.id"] = obs.thing_id
        data["FeatureOfInterest@iot.id"] = obs.feature_id  # its MQTT topic
        if city_object is not None:
            data["cityObject"] = city_object
        if lon is not None and lat is not None:
            data["lon"], data["lat"] = lon, lat
        data["level"] = level_of(obs.result, properties, obs.phenomenon_us, now)
        events.append(Event("observation", obs.jurisdiction, data, source=obs))
    return events


def stored_observation_json(obs: StoredObservation, root: str) -> dict[str, Any]:
    """The SensorThings JSON of an observation just stored (``root``: the service URL,
    ``http://host/sta/v1.1``): what :func:`api.sta.serialize.observation_json` gives, made
    directly, as an ingest of thousands of rows a second makes one per row."""
    link = f"{root}/Observations({obs.id})"
    result = obs.result
    if isinstance(result, int | float) and not isinstance(result, bool):
        result = whole(float(result))
    return {
        "@iot.id": obs.id,
        "@iot.selfLink": link,
        "phenomenonTime": format_interval(obs.phenomenon_us, obs.phenomenon_end_us),
        "result": result,
        "resultTime": None if obs.result_us is None else format_time(obs.result_us),
        "resultQuality": obs.result_quality,
        "validTime": format_interval(obs.valid_start_us, obs.valid_end_us),
        "parameters": obs.parameters,
        "Datastream@iot.navigationLink": f"{link}/Datastream",
        "FeatureOfInterest@iot.navigationLink": f"{link}/FeatureOfInterest",
    }


_Stream = tuple[Any, str | None, float | None, float | None]
_NOWHERE: _Stream = (None, None, None, None)


def _streams(db: OpsDatabase, ids: set[int]) -> dict[int, _Stream]:
    """Each datastream's properties, its Thing's city object and the middle of its Thing's
    first location."""
    ds, thing, place = t.Datastream, t.Thing, t.Location
    first_location = (
        select(func.min(t.ThingLocation.location_id))
        .where(t.ThingLocation.thing_id == ds.thing_id)
        .scalar_subquery()
    )
    found: dict[int, _Stream] = {}
    ordered = sorted(ids)
    with db.engine.connect() as conn:
        for start in range(0, len(ordered), ID_CHUNK):
            chunk = ordered[start : start + ID_CHUNK]
            query = (
                select(ds.id, ds.properties, thing.city_object,
                       (place.lon_min + place.lon_max) / 2, (place.lat_min + place.lat_max) / 2)
                .join(thing, thing.id == ds.thing_id)
                .outerjoin(place, place.id == first_location)
                .where(ds.id.in_(chunk))
            )  # fmt: skip
            found.update({row[0]: tuple(row[1:]) for row in conn.execute(query)})
    return found
