"""Sensors placed by the city model when they are written: a Thing, Location or
FeatureOfInterest naming a city object takes its position and jurisdiction; a Location
takes the jurisdiction holding it; nothing lands outside the writer's jurisdiction."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import auth_state_of
from cim.crs import transformer
from cim.ops import sensor_tables as t
from tests.api.sta.writing import STA, datastream, observed_property, post, ref, sensor
from tests.scoped_city import PLACES, PROVINCE, TOWN_A, TOWN_B, build_scoped_city
from tests.signin import signed_in


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    city = build_scoped_city(tmp_path_factory.mktemp("linking") / "city")
    return create_app(city.folder, worker=False)


def manager_of(app: FastAPI, code: str) -> TestClient:
    return TestClient(app, headers=signed_in(app, roles=("manager",), jurisdiction=code))


def jurisdiction_of(app: FastAPI, model: type[Any], entity_id: int) -> tuple[str, str | None]:
    """The stored jurisdiction and city object of an entity."""
    with auth_state_of(app).db.transaction() as session:
        row = session.get(model, entity_id)
        assert row is not None
        return row.jurisdiction, getattr(row, "city_object", None)


def lonlat(key: str, east: float = 5.0, north: float = 5.0) -> list[float]:
    """A point (CRS84) a few metres into the place of group ``key`` of the scoped city."""
    x, y = PLACES[key]
    lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(x + east, y + north)
    return [lon, lat]


def test_a_thing_naming_a_building_gets_its_location_and_jurisdiction(app: FastAPI) -> None:
    province = manager_of(app, PROVINCE)
    body = {"name": "gauge", "description": "in B Hall", "properties": {"cityObject": "B-bldg"}}
    thing = post(province, "Things", body)
    assert jurisdiction_of(app, t.Thing, thing["@iot.id"]) == (TOWN_B, "B-bldg")
    (location,) = province.get(f"{STA}/Things({thing['@iot.id']})/Locations").json()["value"]
    lon, lat, height = location["location"]["coordinates"]
    (x, y), to_city = PLACES["B"], transformer("EPSG:4326", "EPSG:4547")
    east, north = to_city.transform(lon, lat)
    assert x <= east <= x + 30 and y <= north <= y + 30  # inside the building's footprint
    assert height == 12.0  # its mid-height (0 to 24 m)
    stream = post(
        province,
        "Datastreams",
        datastream(
            Thing=ref(thing["@iot.id"]), Sensor=sensor(), ObservedProperty=observed_property()
        ),
    )
    assert jurisdiction_of(app, t.Datastream, stream["@iot.id"])[0] == TOWN_B
    town_a = manager_of(app, TOWN_A)
    assert town_a.get(f"{STA}/Things({thing['@iot.id']})").status_code == 404


def test_a_town_cannot_name_or_place_things_in_another_town(app: FastAPI) -> None:
    town_a = manager_of(app, TOWN_A)
    named = town_a.post(
        f"{STA}/Things",
        json={"name": "x", "description": "y", "properties": {"cityObject": "B-wall"}},
    )
    assert named.status_code == 404  # as if it did not exist
    located = town_a.post(
        f"{STA}/Locations",
        json={
            "name": "x",
            "description": "y",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": lonlat("B")},
        },
    )
    assert located.status_code == 403, located.text
    own = post(
        town_a, "Things", {"name": "x", "description": "y", "properties": {"cityObject": "A-wall"}}
    )
    moved = town_a.patch(
        f"{STA}/Things({own['@iot.id']})", json={"properties": {"cityObject": "B-wall"}}
    )
    assert moved.status_code == 404
    assert jurisdiction_of(app, t.Thing, own["@iot.id"]) == (TOWN_A, "A-wall")


def test_a_location_takes_the_jurisdiction_holding_it(app: FastAPI) -> None:
    province = manager_of(app, PROVINCE)
    point = {"type": "Point", "coordinates": lonlat("A", east=500)}
    location = post(
        province,
        "Locations",
        {
            "name": "pole",
            "description": "street",
            "encodingType": "application/geo+json",
            "location": point,
        },
    )
    assert jurisdiction_of(app, t.Location, location["@iot.id"]) == (TOWN_A, None)
    thing = post(
        province,
        "Things",
        {"name": "pole sensor", "description": "d", "Locations": [ref(location["@iot.id"])]},
    )
    assert jurisdiction_of(app, t.Thing, thing["@iot.id"]) == (TOWN_A, None)
    far = {"type": "Point", "coordinates": lonlat("far")}  # outside every jurisdiction
    elsewhere = post(
        province,
        "Locations",
        {
            "name": "far",
            "description": "d",
            "encodingType": "application/geo+json",
            "location": far,
        },
    )
    assert jurisdiction_of(app, t.Location, elsewhere["@iot.id"])[0] == PROVINCE  # the caller's


def test_a_feature_of_interest_naming_a_storey_gets_its_geometry(app: FastAPI) -> None:
    town_a = manager_of(app, TOWN_A)
    foi = post(
        town_a,
        "FeaturesOfInterest",
        {"name": "ground floor", "description": "air", "properties": {"cityObject": "A-storey"}},
    )
    assert jurisdiction_of(app, t.FeatureOfInterest, foi["@iot.id"]) == (TOWN_A, "A-storey")
    assert foi["feature"]["type"] == "Point" and foi["encodingType"] == "application/geo+json"
    missing = town_a.post(
        f"{STA}/FeaturesOfInterest",
        json={"name": "n", "description": "d", "properties": {"cityObject": "no-such-object"}},
    )
    assert missing.status_code == 404


def test_a_thing_moves_with_the_location_that_placed_it(app: FastAPI) -> None:
    province = manager_of(app, PROVINCE)
    point = {"type": "Point", "coordinates": lonlat("A", east=300)}
    location = post(
        province,
        "Locations",
        {
            "name": "buoy",
            "description": "river",
            "encodingType": "application/geo+json",
            "location": point,
        },
    )
    thing = post(
        province,
        "Things",
        {"name": "buoy", "description": "d", "Locations": [ref(location["@iot.id"])]},
    )
    stream = post(
        province,
        "Datastreams",
        datastream(
            Thing=ref(thing["@iot.id"]), Sensor=sensor(), ObservedProperty=observed_property()
        ),
    )
    assert jurisdiction_of(app, t.Thing, thing["@iot.id"])[0] == TOWN_A
    drifted = {"location": {"type": "Point", "coordinates": lonlat("B", east=300)}}
    moved = province.patch(f"{STA}/Locations({location['@iot.id']})", json=drifted)
    assert moved.status_code == 200, moved.text
    assert jurisdiction_of(app, t.Location, location["@iot.id"])[0] == TOWN_B
    assert jurisdiction_of(app, t.Thing, thing["@iot.id"])[0] == TOWN_B
    assert jurisdiction_of(app, t.Datastream, stream["@iot.id"])[0] == TOWN_B
    town_a = manager_of(app, TOWN_A)  # town A may not move it back out of town B's sight
    assert (
        town_a.patch(
            f"{STA}/Locations({location['@iot.id']})",
            json={"location": {"type": "Point", "coordinates": lonlat("A")}},
        ).status_code
        == 404
    )
