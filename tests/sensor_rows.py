"""Sensing rows written straight into the operational database (SQLAlchemy), for the tests
of what reads them: a Thing at a place or in a city object, its Location, a Sensor, an
ObservedProperty and a Datastream with its observations and ``latest_*`` columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase

HOUR_US = 3_600 * 1_000_000


def add_datastream(
    db: OpsDatabase,
    *,
    name: str,
    jurisdiction: str,
    lon: float,
    lat: float,
    height: float | None = None,
    city_object: str | None = None,
    observed_property: str = "water level",
    unit: str = "m",
    thresholds: dict[str, float] | None = None,
    stale_after: float | None = None,
    observations: Sequence[tuple[int, float]] = (),
) -> int:
    """Add a datastream (and its thing, location, sensor, property) with ``observations``
    (phenomenon time in µs, value); its id."""
    properties: dict[str, Any] = {}
    if thresholds is not None:
        properties["thresholds"] = thresholds
    if stale_after is not None:
        properties["staleAfter"] = stale_after
    coordinates = [lon, lat] if height is None else [lon, lat, height]
    with db.transaction() as session:
        thing = t.Thing(
            name=f"{name} box",
            description="",
            properties=None,
            jurisdiction=jurisdiction,
            city_object=city_object,
        )
        location = t.Location(
            name=f"{name} place",
            description="",
            encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": coordinates},
            properties=None,
            jurisdiction=jurisdiction,
            city_object=city_object,
            lon_min=lon,
            lon_max=lon,
            lat_min=lat,
            lat_max=lat,
        )
        sensor = t.Sensor(
            name=f"{name} sensor",
            description="",
            encoding_type="text/html",
            sensor_metadata="",
            properties=None,
            jurisdiction=jurisdiction,
        )
        prop = t.ObservedProperty(
            name=observed_property,
            definition="",
            description="",
            properties=None,
            jurisdiction=jurisdiction,
        )
        session.add_all([thing, location, sensor, prop])
        session.flush()
        session.add(t.ThingLocation(thing_id=thing.id, location_id=location.id))
        ordered = sorted(observations)
        datastream = t.Datastream(
            name=name,
            description="",
            observation_type="OM_Measurement",
            unit_of_measurement={"name": unit, "symbol": unit, "definition": ""},
            observed_area=None,
            properties=properties or None,
            thing_id=thing.id,
            sensor_id=sensor.id,
            observed_property_id=prop.id,
            jurisdiction=jurisdiction,
        )
        session.add(datastream)
        session.flush()
        datastream_id = datastream.id
    add_observations(db, datastream_id, ordered)
    return datastream_id


def add_observations(
    db: OpsDatabase, datastream_id: int, observations: Sequence[tuple[int, float]]
) -> None:
    """Store ``observations`` (µs, value) of a datastream and move its latest value and
    extent, as an ingest would."""
    if not observations:
        return
    with db.transaction() as session:
        datastream = session.get(t.Datastream, datastream_id)
        assert datastream is not None
        rows = [
            t.Observation(datastream_id=datastream_id, phenomenon_us=us, result_number=value)
            for us, value in observations
        ]
        session.add_all(rows)
        session.flush()
        times = [us for us, _ in observations]
        latest = max(rows, key=lambda row: row.phenomenon_us)
        if (datastream.latest_phenomenon_us or -1) < latest.phenomenon_us:
            datastream.latest_phenomenon_us = latest.phenomenon_us
            datastream.latest_result_number = latest.result_number
            datastream.latest_observation_id = latest.id
        starts = [us for us in (datastream.phenomenon_start_us,) if us is not None]
        ends = [us for us in (datastream.phenomenon_end_us,) if us is not None]
        datastream.phenomenon_start_us = min(times + starts)
        datastream.phenomenon_end_us = max(times + ends)
