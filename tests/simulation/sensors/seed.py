"""Sensing entities written straight into the tables (SQLAlchemy Core), for the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase

TIANHE = "440106000000"
TIANHE_TOWN = "440106001000"
YUEXIU = "440104000000"
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class Seeded:
    """The ids of a thing and its datastream."""

    thing_id: int
    datastream_id: int
    location_id: int | None


def add_datastream(
    db: OpsDatabase,
    *,
    jurisdiction: str = TIANHE,
    city_object: str | None = None,
    location: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    name: str = "level",
    unit: dict[str, Any] | None = None,
    thing_id: int | None = None,
) -> Seeded:
    """A thing (or ``thing_id``'s), its location (GeoJSON, CRS84), a sensor, a property and
    one datastream."""
    with db.transaction() as session:
        if thing_id is None:
            thing_id = session.execute(
                insert(t.Thing).returning(t.Thing.id),
                {"name": f"thing of {name}", "description": "a test thing",
                 "jurisdiction": jurisdiction, "city_object": city_object},
            ).scalar_one()  # fmt: skip
        location_id = None
        if location is not None:
            location_id = add_location(session, thing_id, location, jurisdiction)
        sensor_id = session.execute(
            insert(t.Sensor).returning(t.Sensor.id),
            {"name": "gauge", "description": "", "encoding_type": "text/html",
             "sensor_metadata": "", "jurisdiction": jurisdiction},
        ).scalar_one()  # fmt: skip
        property_id = session.execute(
            insert(t.ObservedProperty).returning(t.ObservedProperty.id),
            {"name": f"{name} property", "definition": "", "description": "",
             "jurisdiction": jurisdiction},
        ).scalar_one()  # fmt: skip
        datastream_id = session.execute(
            insert(t.Datastream).returning(t.Datastream.id),
            {"name": name, "description": "", "observation_type": "OM_Measurement",
             "unit_of_measurement": unit if unit is not None else {"symbol": "m"},
             "properties": properties, "thing_id": thing_id, "sensor_id": sensor_id,
             "observed_property_id": property_id, "jurisdiction": jurisdiction},
        ).scalar_one()  # fmt: skip
    return Seeded(thing_id, datastream_id, location_id)


def add_location(session: Any, thing_id: int, geometry: dict[str, Any], jurisdiction: str) -> int:
    """A location of ``thing_id`` with its bounding box columns."""
    points = _points(geometry["coordinates"])
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    location_id: int = session.execute(
        insert(t.Location).returning(t.Location.id),
        {"name": "here", "description": "", "encoding_type": "application/geo+json",
         "location": geometry, "jurisdiction": jurisdiction, "lon_min": min(lons),
         "lat_min": min(lats), "lon_max": max(lons), "lat_max": max(lats)},
    ).scalar_one()  # fmt: skip
    session.execute(insert(t.ThingLocation), {"thing_id": thing_id, "location_id": location_id})
    return location_id


def _points(coordinates: Any) -> list[Sequence[float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        return [coordinates]
    return [point for part in coordinates for point in _points(part)]


def set_latest(db: OpsDatabase, datastream_id: int, phenomenon_us: int, result: Any) -> None:
    """Record ``result`` at ``phenomenon_us`` as the datastream's latest observation."""
    number = result if isinstance(result, int | float) and not isinstance(result, bool) else None
    with db.transaction() as session:
        session.execute(
            update(t.Datastream)
            .where(t.Datastream.id == datastream_id)
            .values(latest_phenomenon_us=phenomenon_us, latest_result_number=number,
                    latest_result_json=None if number is not None else result)
        )  # fmt: skip


def add_observations(db: OpsDatabase, datastream_id: int, rows: Sequence[tuple[int, Any]]) -> None:
    """Observations ``(phenomenon_us, result)`` of a datastream, and its phenomenon extent."""
    values = []
    for phenomenon_us, result in rows:
        number = (
            result if isinstance(result, int | float) and not isinstance(result, bool) else None
        )
        text = result if isinstance(result, str) else None
        value = result if number is None and text is None else None
        values.append(
            {"datastream_id": datastream_id, "phenomenon_us": phenomenon_us,
             "result_number": number, "result_text": text, "result_json": value}
        )  # fmt: skip
    times = [row[0] for row in rows]
    with db.transaction() as session:
        session.execute(insert(t.Observation), values)
        session.execute(
            update(t.Datastream)
            .where(t.Datastream.id == datastream_id)
            .values(phenomenon_start_us=min(times), phenomenon_end_us=max(times))
        )
