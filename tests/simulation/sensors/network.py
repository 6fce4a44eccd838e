"""A small sensor network written with SQLAlchemy, for tests of the sensing functions."""

from __future__ import annotations

from dataclasses import dataclass

from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t

# Two villages of Tianhe, Guangzhou.
VILLAGE_A = "440106001001"
VILLAGE_B = "440106001002"


@dataclass(frozen=True)
class Network:
    """Ids of what :func:`build_network` made."""

    things: dict[str, int]
    datastreams: dict[str, int]
    locations: dict[str, int]


def build_network(db: OpsDatabase) -> Network:
    """Thing ``a`` (village A, with a location) with datastreams ``a-level`` and ``a-text``;
    thing ``b`` (village B, no location) with ``b-level``."""
    with db.transaction() as session:
        sensor = t.Sensor(
            name="gauge", description="", encoding_type="text/html", sensor_metadata="",
            jurisdiction=VILLAGE_A,
        )  # fmt: skip
        level = t.ObservedProperty(
            name="water level", definition="", description="", jurisdiction=VILLAGE_A
        )
        session.add_all([sensor, level])
        session.flush()
        things, streams, locations = {}, {}, {}
        for key, village in (("a", VILLAGE_A), ("b", VILLAGE_B)):
            thing = t.Thing(name=f"station {key}", description="", jurisdiction=village)
            session.add(thing)
            session.flush()
            things[key] = thing.id
        place = t.Location(
            name="bank", description="river bank", encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": [113.33, 23.13]},
            lon_min=113.33, lat_min=23.13, lon_max=113.33, lat_max=23.13,
            jurisdiction=VILLAGE_A,
        )  # fmt: skip
        session.add(place)
        session.flush()
        locations["a"] = place.id
        session.add(t.ThingLocation(thing_id=things["a"], location_id=place.id))
        for key, thing_key in (("a-level", "a"), ("a-text", "a"), ("b-level", "b")):
            stream = t.Datastream(
                name=key, description="", observation_type="OM_Measurement",
                unit_of_measurement={"symbol": "m"}, thing_id=things[thing_key],
                sensor_id=sensor.id, observed_property_id=level.id,
                jurisdiction=VILLAGE_A if thing_key == "a" else VILLAGE_B,
            )  # fmt: skip
            session.add(stream)
            session.flush()
            streams[key] = stream.id
    return Network(things, streams, locations)
