"""Datastreams for the alert tests: sensing rows written straight into the database, and
observations stored through the real ingest (whose results the evaluator takes)."""

from __future__ import annotations

from collections.abc import Sequence

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.ingest import ingest
from simulation.sensors.records import ObservationIn, StoredObservation
from tests.sensor_rows import add_datastream

T0 = 1_796_000_000_000_000  # 2026-11-30T...Z
MINUTE = 60_000_000
TOWN_A = "440106001000"
VILLAGE_A = "440106001001"
TOWN_B = "440106002000"


def stream(
    db: OpsDatabase,
    name: str = "gauge",
    *,
    jurisdiction: str = VILLAGE_A,
    city_object: str | None = None,
    observed_property: str = "water level",
) -> int:
    """A datastream (with its own thing at a place, sensor and observed property)."""
    return add_datastream(
        db, name=name, jurisdiction=jurisdiction, lon=113.3, lat=23.1,
        city_object=city_object, observed_property=observed_property,
    )  # fmt: skip


def sibling(
    db: OpsDatabase,
    of: int,
    name: str,
    *,
    jurisdiction: str = VILLAGE_A,
    city_object: str | None = None,
    lon: float = 113.31,
) -> int:
    """Another datastream of the same observed property and sensor, on a new thing."""
    with db.transaction() as session:
        first = session.get(t.Datastream, of)
        assert first is not None
        thing = t.Thing(name=name, description="", properties=None,
                        jurisdiction=jurisdiction, city_object=city_object)  # fmt: skip
        place = t.Location(
            name=name, description="", encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": [lon, 23.1]}, properties=None,
            jurisdiction=jurisdiction, city_object=city_object, lon_min=lon, lon_max=lon,
            lat_min=23.1, lat_max=23.1,
        )  # fmt: skip
        session.add_all([thing, place])
        session.flush()
        session.add(t.ThingLocation(thing_id=thing.id, location_id=place.id))
        datastream = t.Datastream(
            name=name, description="", observation_type="OM_Measurement",
            unit_of_measurement=first.unit_of_measurement, observed_area=None, properties=None,
            thing_id=thing.id, sensor_id=first.sensor_id,
            observed_property_id=first.observed_property_id, jurisdiction=jurisdiction,
        )  # fmt: skip
        session.add(datastream)
        session.flush()
        return datastream.id


def observed_property_of(db: OpsDatabase, datastream_id: int) -> int:
    with db.transaction() as session:
        found = session.get(t.Datastream, datastream_id)
        assert found is not None
        return found.observed_property_id


def store(
    db: OpsDatabase, datastream_id: int, values: Sequence[tuple[int, object]]
) -> list[StoredObservation]:
    """Ingest ``(time µs, result)`` rows; the stored observations."""
    rows = [ObservationIn(datastream_id, when, result) for when, result in values]
    result = ingest(db, rows, Scope.everything())
    assert not result.rejected, result.rejected
    return result.created
