"""Each caller reads the SensorThings entities of its own jurisdiction only: another town's
entities are absent from lists, counts, navigations, expansions, references and data
arrays, and asking for one by id answers 404 exactly as for an id that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.sta import readdata
from tests.api.sta.readdata import AIR_OBSERVATIONS, RIVER_OBSERVATIONS, StaApp

sta = readdata.sta  # the fixture
ROOT = "http://testserver/sta/v1.1"
TOWN_A_OBSERVATIONS = AIR_OBSERVATIONS + 3 + 2


def _ids(client: TestClient, path: str, **params: Any) -> list[int]:
    response = client.get(f"{ROOT}/{path}", params=params)
    assert response.status_code == 200, response.text
    return [entity["@iot.id"] for entity in response.json()["value"]]


@pytest.mark.parametrize(
    ("plural", "town_a", "town_b"),
    [
        ("Things", [1, 2], [3]),
        ("Locations", [1], [2]),
        ("HistoricalLocations", [1], []),
        ("Sensors", [1], [2]),
        ("ObservedProperties", [1, 2], [3]),
        ("Datastreams", [1, 2, 3], [4]),
        ("FeaturesOfInterest", [1], [2]),
    ],
)
def test_lists_hold_the_towns_own_entities(
    sta: StaApp, plural: str, town_a: list[int], town_b: list[int]
) -> None:
    assert _ids(sta.town_a, plural) == town_a
    assert _ids(sta.town_b, plural) == town_b
    assert sorted(_ids(sta.admin, plural)) == sorted(town_a + town_b)


def test_observations_are_in_the_scope_of_their_datastream(sta: StaApp) -> None:
    counted = sta.town_b.get(f"{ROOT}/Observations", params={"$count": "true"}).json()
    assert counted["@iot.count"] == RIVER_OBSERVATIONS
    assert {o["@iot.id"] for o in counted["value"]} == set(range(300, 300 + RIVER_OBSERVATIONS))
    mine = sta.town_a.get(f"{ROOT}/Observations", params={"$count": "true", "$top": 1}).json()
    assert mine["@iot.count"] == TOWN_A_OBSERVATIONS
    arrays = sta.town_a.get(f"{ROOT}/Observations", params={"$resultFormat": "dataArray"}).json()
    links = {group["Datastream@iot.navigationLink"] for group in arrays["value"]}
    assert links == {f"{ROOT}/Datastreams({i})" for i in (1, 2, 3)}


@pytest.mark.parametrize(
    ("path", "missing"),
    [
        ("Things(3)", "Things(93)"),
        ("Observations(300)", "Observations(9300)"),
        ("Datastreams(4)/Observations", "Datastreams(94)/Observations"),
        ("Datastreams(4)/Thing", "Datastreams(94)/Thing"),
        ("Observations(300)/Datastream", "Observations(9300)/Datastream"),
        ("Things(3)/name", "Things(93)/name"),
        ("Things(3)/name/$value", "Things(93)/name/$value"),
        ("Things(3)/Datastreams/$ref", "Things(93)/Datastreams/$ref"),
        ("Locations(2)/Things", "Locations(92)/Things"),
        ("Sensors(2)/Datastreams(4)", "Sensors(92)/Datastreams(94)"),
    ],
)
def test_another_towns_entity_is_not_found_like_a_missing_one(
    sta: StaApp, path: str, missing: str
) -> None:
    refused = sta.town_a.get(f"{ROOT}/{path}")
    absent = sta.town_a.get(f"{ROOT}/{missing}")
    assert (refused.status_code, absent.status_code) == (404, 404), refused.text
    assert refused.json()["detail"] == absent.json()["detail"].replace("9", "")
    assert sta.town_b.get(f"{ROOT}/{path}").status_code == 200


def test_navigation_and_expansion_stop_at_the_towns_border(sta: StaApp) -> None:
    # the weather station (town A) is linked to the bridge's location (town B) too
    assert _ids(sta.admin, "Things(1)/Locations") == [1, 2]
    assert _ids(sta.town_a, "Things(1)/Locations") == [1]
    expanded = sta.town_a.get(f"{ROOT}/Things(1)", params={"$expand": "Locations"}).json()
    assert [location["@iot.id"] for location in expanded["Locations"]] == [1]
    counted = sta.town_a.get(
        f"{ROOT}/Things", params={"$expand": "Locations($count=true)", "$top": 1}
    ).json()
    assert counted["value"][0]["Locations@iot.count"] == 1
    seen_from_b = sta.town_b.get(f"{ROOT}/Locations(2)", params={"$expand": "Things"}).json()
    assert [thing["@iot.id"] for thing in seen_from_b["Things"]] == [3]
    refs = sta.town_a.get(f"{ROOT}/Things(1)/Locations/$ref").json()
    assert refs == {"value": [{"@iot.selfLink": f"{ROOT}/Locations(1)"}]}
