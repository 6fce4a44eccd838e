"""SensorThings entities in two towns, written straight into the tables, and an app serving
them (on SQLite and on PostgreSQL), for the tests of the read side.

Town A: two things (a weather station with a location and a historical location, a pump
house), three datastreams (air temperature: 12 numeric observations a minute apart;
status: 3 text observations; flags: 2 JSON observations), one sensor, two observed
properties, one feature of interest. Town B: one thing with one datastream (river level:
5 observations), its own sensor, observed property, location and feature; the weather
station of town A is linked to that location too (a link only the province sees).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import configure
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from tests.postgres import PostgresServer
from tests.signin import admin_client, signed_in

TOWN_A = "440106001000"
TOWN_B = "440106002000"
# 2026-12-03T08:00:00Z in microseconds since the epoch.
T0 = 1_796_284_800_000_000
MINUTE = 60_000_000
AIR_OBSERVATIONS = 12
RIVER_OBSERVATIONS = 5


@dataclass(frozen=True)
class StaApp:
    """The app, its database, and clients: the province admin and a viewer of each town."""

    app: FastAPI
    db: OpsDatabase
    admin: TestClient
    town_a: TestClient
    town_b: TestClient
    no_geo: str | None = None  # why geo functions cannot run here (PostGIS missing)


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def fill(db: OpsDatabase) -> None:
    """Write the entities of both towns."""
    unit = {"name": "degree Celsius", "symbol": "degC", "definition": "ucum:Cel"}
    with db.transaction() as session:
        session.add_all([
            t.Thing(id=1, name="Weather station", description="On the roof of the hall",
                    properties={"cityObject": "A-bldg", "owner": "Tianhe"},
                    jurisdiction=TOWN_A, city_object="A-bldg"),
            t.Thing(id=2, name="Pump house", description="By the canal", properties=None,
                    jurisdiction=TOWN_A),
            t.Thing(id=3, name="River gauge", description="Under the bridge",
                    properties={"river": "Pearl"}, jurisdiction=TOWN_B),
            t.Location(id=1, name="Hall roof", description="Roof", jurisdiction=TOWN_A,
                       encoding_type="application/geo+json", location=_point(113.36, 23.12),
                       lon_min=113.36, lat_min=23.12, lon_max=113.36, lat_max=23.12),
            t.Location(id=2, name="Bridge", description="Bridge pier", jurisdiction=TOWN_B,
                       encoding_type="application/geo+json", location=_point(113.37, 23.12),
                       lon_min=113.37, lat_min=23.12, lon_max=113.37, lat_max=23.12),
            t.Sensor(id=1, name="Thermometer", description="PT100", jurisdiction=TOWN_A,
                     encoding_type="application/pdf", sensor_metadata="https://example.org/pt100"),
            t.Sensor(id=2, name="Radar gauge", description="Level radar", jurisdiction=TOWN_B,
                     encoding_type="text/html", sensor_metadata="https://example.org/radar"),
            t.ObservedProperty(id=1, name="Temperature", description="Air temperature",
                               definition="http://vocab.example.org/temperature",
                               jurisdiction=TOWN_A),
            t.ObservedProperty(id=2, name="Status", description="Pump status",
                               definition="http://vocab.example.org/status", jurisdiction=TOWN_A),
            t.ObservedProperty(id=3, name="Water level", description="River level",
                               definition="http://vocab.example.org/level", jurisdiction=TOWN_B),
            t.FeatureOfInterest(id=1, name="Hall roof", description="Where the station is",
                                encoding_type="application/geo+json",
                                feature=_point(113.36, 23.12), jurisdiction=TOWN_A),
            t.FeatureOfInterest(id=2, name="Bridge", description="Where the gauge is",
                                encoding_type="application/geo+json",
                                feature=_point(113.37, 23.12), jurisdiction=TOWN_B),
        ])  # fmt: skip
        session.flush()
        session.add_all([
            t.ThingLocation(thing_id=1, location_id=1),
            t.ThingLocation(thing_id=3, location_id=2),
            t.ThingLocation(thing_id=1, location_id=2),  # a link across the towns' border
            t.HistoricalLocation(id=1, thing_id=1, time_us=T0 - 3600 * 1_000_000,
                                 jurisdiction=TOWN_A),
            t.Datastream(id=1, name="Air temperature", description="Roof air temperature",
                         observation_type="http://www.opengis.net/def/observationType/"
                         "OGC-OM/2.0/OM_Measurement", unit_of_measurement=unit,
                         thing_id=1, sensor_id=1, observed_property_id=1, jurisdiction=TOWN_A,
                         phenomenon_start_us=T0,
                         phenomenon_end_us=T0 + (AIR_OBSERVATIONS - 1) * MINUTE,
                         properties={"thresholds": {"warning": 30, "alarm": 35}}),
            t.Datastream(id=2, name="Pump status", description="Running or stopped",
                         observation_type="http://www.opengis.net/def/observationType/"
                         "OGC-OM/2.0/OM_CategoryObservation", unit_of_measurement={},
                         thing_id=2, sensor_id=1, observed_property_id=2, jurisdiction=TOWN_A),
            t.Datastream(id=3, name="Pump flags", description="Flags of the pump",
                         observation_type="http://www.opengis.net/def/observationType/"
                         "OGC-OM/2.0/OM_Observation", unit_of_measurement={},
                         thing_id=2, sensor_id=1, observed_property_id=2, jurisdiction=TOWN_A),
            t.Datastream(id=4, name="River level", description="Level above datum",
                         observation_type="http://www.opengis.net/def/observationType/"
                         "OGC-OM/2.0/OM_Measurement",
                         unit_of_measurement={"name": "metre", "symbol": "m"},
                         thing_id=3, sensor_id=2, observed_property_id=3, jurisdiction=TOWN_B),
        ])  # fmt: skip
        session.flush()
        session.add(t.HistoricalLocationLocation(historical_location_id=1, location_id=1))
        rows: list[t.Observation] = [
            t.Observation(id=i + 1, datastream_id=1, phenomenon_us=T0 + i * MINUTE,
                          result_us=T0 + i * MINUTE + 1_000_000, result_number=20.0 + i * 0.5,
                          feature_id=1)
            for i in range(AIR_OBSERVATIONS)
        ]  # fmt: skip
        rows += [
            t.Observation(id=100 + i, datastream_id=2, phenomenon_us=T0 + i * MINUTE,
                          result_text=text, feature_id=1)
            for i, text in enumerate(["running", "stopped", "running"])
        ]  # fmt: skip
        rows += [
            t.Observation(id=200, datastream_id=3, phenomenon_us=T0, result_json={"open": True},
                          parameters={"battery": 0.9}, feature_id=1),
            t.Observation(id=201, datastream_id=3, phenomenon_us=T0 + MINUTE,
                          phenomenon_end_us=T0 + 2 * MINUTE, result_json=False, feature_id=1,
                          valid_start_us=T0, valid_end_us=T0 + 3 * MINUTE,
                          result_quality={"flag": "checked"}),
        ]  # fmt: skip
        rows += [
            t.Observation(id=300 + i, datastream_id=4, phenomenon_us=T0 + i * MINUTE,
                          result_number=1.5 + i, feature_id=2)
            for i in range(RIVER_OBSERVATIONS)
        ]  # fmt: skip
        session.add_all(rows)


def _app(folder: Path, url: str, no_geo: str | None = None) -> StaApp:
    app = create_app(folder, viewer_dir=folder / "no-viewer", worker=False)
    state = configure(app, url=url, secret=secrets.token_urlsafe(48))
    fill(state.db)
    town_a = TestClient(app, headers=signed_in(app, roles=("viewer",), jurisdiction=TOWN_A))
    town_b = TestClient(app, headers=signed_in(app, roles=("viewer",), jurisdiction=TOWN_B))
    return StaApp(app, state.db, admin_client(app), town_a, town_b, no_geo)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sta(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StaApp]:
    """The app over the two towns' entities, on each backend in turn."""
    folder = tmp_path_factory.mktemp("sta-read")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'ops.sqlite'}"
        server, no_geo = None, None
    else:
        server = request.getfixturevalue("postgres_server")
        assert isinstance(server, PostgresServer)
        url = server.new_database()
        no_geo = server.create_extension(url, "postgis")
    served = _app(folder, url, no_geo)
    try:
        yield served
    finally:
        served.db.engine.dispose()
        from api.auth.state import auth_state_of

        auth_state_of(served.app).close()
        if server is not None:
            server.drop_database(url)
