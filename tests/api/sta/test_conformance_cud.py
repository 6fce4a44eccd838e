"""The "create-update-delete" conformance class of SensorThings 1.1, as the OGC test suite
(ets-sta10, Capability2Tests) exercises it, over HTTP on SQLite and PostgreSQL; each test
cites its requirement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.sta.writing import (
    STA,
    admin,
    datastream,
    deep_thing,
    empty_city_app,
    feature,
    location,
    observed_property,
    post,
    recorded_events,
    ref,
    sensor,
    thing,
)
from tests.signin import signed_in


@pytest.fixture()
def app(tmp_path: Path, ops_url: str) -> FastAPI:
    """The app over an empty city, on SQLite then PostgreSQL."""
    return empty_city_app(tmp_path / "city", ops_url)


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    return admin(app)


def get(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(f"{STA}/{path}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ids(client: TestClient, path: str) -> list[int]:
    return [item["@iot.id"] for item in get(client, path)["value"]]


def network(client: TestClient) -> dict[str, int]:
    """One entity of each type, posted one by one as the suite's createEntities does."""
    made = {
        "Thing": post(client, "Things", thing())["@iot.id"],
        "Location": post(client, "Locations", location())["@iot.id"],
        "Sensor": post(client, "Sensors", sensor())["@iot.id"],
        "ObservedProperty": post(client, "ObservedProperties", observed_property())["@iot.id"],
        "FeatureOfInterest": post(client, "FeaturesOfInterest", feature())["@iot.id"],
    }
    made["Datastream"] = post(
        client,
        "Datastreams",
        datastream(
            Thing=ref(made["Thing"]),
            Sensor=ref(made["Sensor"]),
            ObservedProperty=ref(made["ObservedProperty"]),
        ),
    )["@iot.id"]
    made["Observation"] = post(
        client,
        "Observations",
        {
            "phenomenonTime": "2015-03-01T00:40:00.000Z",
            "result": 8,
            "Datastream": ref(made["Datastream"]),
            "FeatureOfInterest": ref(made["FeatureOfInterest"]),
        },
    )["@iot.id"]
    made["HistoricalLocation"] = post(
        client,
        "HistoricalLocations",
        {
            "time": "2015-03-01T00:40:00.000Z",
            "Thing": ref(made["Thing"]),
            "Locations": [ref(made["Location"])],
        },
    )["@iot.id"]
    return made


def test_create_entities(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity

    POST to each entity set answers 201 with the entity's link in
    Location, and the entity reads back as posted."""
    made = network(client)
    for kind, plural in (
        ("Thing", "Things"),
        ("Location", "Locations"),
        ("Sensor", "Sensors"),
        ("Datastream", "Datastreams"),
        ("Observation", "Observations"),
        ("HistoricalLocation", "HistoricalLocations"),
    ):
        assert get(client, f"{plural}({made[kind]})")["@iot.id"] == made[kind]
    assert get(client, f"Sensors({made['Sensor']})")["metadata"] == "Barometer"
    observation = get(client, f"Observations({made['Observation']})")
    assert (observation["result"], observation["phenomenonTime"]) == (8, "2015-03-01T00:40:00Z")
    assert ids(client, f"Datastreams({made['Datastream']})/Observations") == [made["Observation"]]


def test_link_to_existing_entities(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/link-to-existing-entities

    A new Datastream names its Thing, Sensor and
    ObservedProperty by @iot.id, and they link both ways."""
    made = network(client)
    assert get(client, f"Datastreams({made['Datastream']})/Thing")["@iot.id"] == made["Thing"]
    assert ids(client, f"Sensors({made['Sensor']})/Datastreams") == [made["Datastream"]]
    missing = client.post(
        f"{STA}/Datastreams",
        json=datastream(
            Thing=ref(999),
            Sensor=ref(made["Sensor"]),
            ObservedProperty=ref(made["ObservedProperty"]),
        ),
    )
    assert missing.status_code == 404 and "Thing" in missing.json()["detail"]


def test_observation_without_a_feature_gets_its_things_location(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity

    An Observation posted without a FeatureOfInterest gets one made
    from its Thing's Location, and the next Observation reuses it."""
    made = network(client)
    patched = client.patch(
        f"{STA}/Things({made['Thing']})", json={"Locations": [ref(made["Location"])]}
    )
    assert patched.status_code == 200, patched.text
    first = post(
        client,
        "Observations",
        {
            "phenomenonTime": "2015-03-01T00:00:00Z",
            "resultTime": "2015-03-01T01:00:00Z",
            "result": 100,
            "Datastream": ref(made["Datastream"]),
        },
    )
    assert first["resultTime"] == "2015-03-01T01:00:00Z"
    second = post(
        client,
        "Observations",
        {
            "phenomenonTime": "2015-05-01T00:00:00Z",
            "result": 105,
            "Datastream": ref(made["Datastream"]),
        },
    )
    foi = get(client, f"Observations({first['@iot.id']})/FeatureOfInterest")
    assert foi["feature"] == location()["location"]
    again = get(client, f"Observations({second['@iot.id']})/FeatureOfInterest")
    assert again["@iot.id"] == foi["@iot.id"]


def test_deep_insert(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/deep-insert

    A Thing posted with its Location, and a Datastream with its
    Sensor, ObservedProperty and Observations inline, creates them all, linked."""
    created = post(client, "Things", deep_thing())
    thing_id = created["@iot.id"]
    (location_id,) = ids(client, f"Things({thing_id})/Locations")
    assert get(client, f"Locations({location_id})")["name"] == "bow river"
    (stream_id,) = ids(client, f"Things({thing_id})/Datastreams")
    assert get(client, f"Datastreams({stream_id})/Sensor")["name"] == "Fuguro Barometer"
    assert get(client, f"Datastreams({stream_id})/ObservedProperty")["name"] == (
        "DewPoint Temperature"
    )
    results = [o["result"] for o in get(client, f"Datastreams({stream_id})/Observations")["value"]]
    assert sorted(results) == [1, 2]


def test_deep_insert_status_code_and_nothing_half_made(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/deep-insert-status-code

    A deep insert with a bad part answers 400 naming the
    problem, and none of its entities is created."""
    body = deep_thing()
    del body["Datastreams"][0]["ObservedProperty"]["definition"]
    del body["Datastreams"][0]["unitOfMeasurement"]
    refused = client.post(f"{STA}/Things", json=body)
    assert refused.status_code == 400
    assert "unitOfMeasurement" in refused.json()["detail"]
    for plural in ("Things", "Locations", "Sensors", "Datastreams", "ObservedProperties"):
        assert ids(client, plural) == [], plural
    for bad, named in (
        ({"name": "a"}, "description"),
        ({**thing(), "colour": "red"}, "colour"),
        ({**thing(), "name": 5}, "name must be text"),
    ):
        answer = client.post(f"{STA}/Things", json=bad)
        assert answer.status_code == 400 and named in answer.json()["detail"], answer.text
    assert client.post(f"{STA}/Things", content=b"{not json").status_code == 400
    too_large = {**thing(), "Locations": [{"@iot.id": 2**64 - 1}]}
    assert client.post(f"{STA}/Things", json=too_large).status_code == 400
    assert client.patch(f"{STA}/Things({2**64})", json=thing()).status_code == 400


def test_historical_location_auto_creation(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/historical-location-auto-creation

    A Thing given Locations (created with
    them, patched, or through Things(id)/Locations) gets a HistoricalLocation each time."""
    created = post(client, "Things", {**thing(), "Locations": [location()]})
    path = f"Things({created['@iot.id']})/HistoricalLocations"
    assert len(ids(client, path)) == 1
    other = post(client, f"Things({created['@iot.id']})/Locations", location())
    assert ids(client, f"Things({created['@iot.id']})/Locations") == [other["@iot.id"]]
    assert len(ids(client, path)) == 2
    history = get(client, path)["value"][0]
    assert ids(client, f"HistoricalLocations({history['@iot.id']})/Locations")


def test_create_through_a_navigation_path(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity

    POST to a collection of an entity (Datastreams(id)/Observations)
    links the new entity to it."""
    made = network(client)
    created = post(
        client,
        f"Datastreams({made['Datastream']})/Observations",
        {
            "phenomenonTime": "2016-01-01T00:00:00Z",
            "result": 3,
            "FeatureOfInterest": ref(made["FeatureOfInterest"]),
        },
    )
    assert (
        get(client, f"Observations({created['@iot.id']})/Datastream")["@iot.id"]
        == (made["Datastream"])
    )
    assert client.post(f"{STA}/Things({made['Thing']})", json=thing()).status_code == 400
    assert client.post(f"{STA}/Things(1)/Colours", json=thing()).status_code == 400


def test_update_entity(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/update-entity

    PATCH changes the properties it names and keeps the others;
    PUT replaces the entity."""
    made = network(client)
    patched = client.patch(f"{STA}/Things({made['Thing']})", json={"description": "Updated"})
    assert patched.status_code == 200
    after = get(client, f"Things({made['Thing']})")
    assert (after["name"], after["description"]) == ("Test Thing", "Updated")
    client.patch(
        f"{STA}/Locations({made['Location']})",
        json={"location": {"type": "Point", "coordinates": [114.05, -50]}},
    )
    assert get(client, f"Locations({made['Location']})")["location"]["coordinates"] == [114.05, -50]
    put = client.put(
        f"{STA}/Sensors({made['Sensor']})",
        json={
            "name": "UPDATED",
            "description": "UPDATED",
            "encodingType": "application/pdf",
            "metadata": "UPDATED",
        },
    )
    assert put.status_code == 200 and put.json()["metadata"] == "UPDATED"
    changed = client.patch(
        f"{STA}/Observations({made['Observation']})",
        json={"result": "99", "phenomenonTime": "2015-08-01T00:40:00.000Z"},
    )
    assert changed.status_code == 200
    assert (changed.json()["result"], changed.json()["phenomenonTime"]) == (
        "99",
        "2015-08-01T00:40:00Z",
    )
    partial = client.put(f"{STA}/Sensors({made['Sensor']})", json={"name": "only"})
    assert partial.status_code == 400 and "description" in partial.json()["detail"]


def test_update_entity_jsonpatch(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/update-entity-jsonpatch

    A PATCH with Content-Type application/json-patch+json applies its operations to the
    entity; a failing operation changes nothing."""
    made = network(client)
    patch = [
        {"op": "add", "path": "/properties", "value": {"floor": 3}},
        {"op": "replace", "path": "/description", "value": "patched"},
    ]
    headers = {"Content-Type": "application/json-patch+json"}
    answer = client.patch(f"{STA}/Things({made['Thing']})", json=patch, headers=headers)
    assert answer.status_code == 200, answer.text
    after = get(client, f"Things({made['Thing']})")
    assert (after["description"], after["properties"]) == ("patched", {"floor": 3})
    failing = [
        {"op": "replace", "path": "/name", "value": "x"},
        {"op": "test", "path": "/description", "value": "other"},
    ]
    refused = client.patch(f"{STA}/Things({made['Thing']})", json=failing, headers=headers)
    assert refused.status_code == 400 and "test failed" in refused.json()["detail"]
    assert get(client, f"Things({made['Thing']})")["name"] == "Test Thing"
    removed = [{"op": "remove", "path": "/name"}]
    assert (
        client.patch(f"{STA}/Things({made['Thing']})", json=removed, headers=headers).status_code
        == 400
    )


def test_invalid_patch_with_inline_entities(client: TestClient) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/update-entity

    A PATCH carrying related entities inline is refused (400) and
    changes nothing."""
    made = network(client)
    for path, body in (
        (f"Things({made['Thing']})", {"Locations": [location()]}),
        (f"Things({made['Thing']})", {"Datastreams": [datastream()]}),
        (f"Sensors({made['Sensor']})", {"Datastreams": [datastream(Thing=ref(made["Thing"]))]}),
        (f"Datastreams({made['Datastream']})", {"ObservedProperty": observed_property()}),
        (f"Datastreams({made['Datastream']})", {"Sensor": sensor()}),
        (f"Datastreams({made['Datastream']})", {"Thing": thing()}),
    ):
        answer = client.patch(f"{STA}/{path}", json=body)
        assert answer.status_code == 400, (path, answer.text)
    assert ids(client, "Locations") == [made["Location"]]
    assert ids(client, "Sensors") == [made["Sensor"]]


@pytest.mark.parametrize(
    ("deleted", "gone", "kept"),
    [
        (
            "Thing",
            {"Thing", "Datastream", "HistoricalLocation", "Observation"},
            {"Location", "Sensor", "ObservedProperty", "FeatureOfInterest"},
        ),
        (
            "Datastream",
            {"Datastream", "Observation"},
            {
                "Thing",
                "Sensor",
                "ObservedProperty",
                "FeatureOfInterest",
                "Location",
                "HistoricalLocation",
            },
        ),
        (
            "Location",
            {"Location", "HistoricalLocation"},
            {
                "Thing",
                "Sensor",
                "ObservedProperty",
                "FeatureOfInterest",
                "Datastream",
                "Observation",
            },
        ),
        (
            "HistoricalLocation",
            {"HistoricalLocation"},
            {
                "Thing",
                "Sensor",
                "ObservedProperty",
                "FeatureOfInterest",
                "Datastream",
                "Observation",
                "Location",
            },
        ),
        (
            "Sensor",
            {"Sensor", "Datastream", "Observation"},
            {"Thing", "ObservedProperty", "FeatureOfInterest", "Location", "HistoricalLocation"},
        ),
        (
            "ObservedProperty",
            {"ObservedProperty", "Datastream", "Observation"},
            {"Thing", "Sensor", "FeatureOfInterest", "Location", "HistoricalLocation"},
        ),
        (
            "FeatureOfInterest",
            {"FeatureOfInterest", "Observation"},
            {"Thing", "Sensor", "ObservedProperty", "Location", "HistoricalLocation", "Datastream"},
        ),
        (
            "Observation",
            {"Observation"},
            {
                "Thing",
                "Sensor",
                "ObservedProperty",
                "FeatureOfInterest",
                "Datastream",
                "HistoricalLocation",
                "Location",
            },
        ),
    ],
)
def test_delete_entity(client: TestClient, deleted: str, gone: set[str], kept: set[str]) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/delete-entity

    DELETE answers 200, the entity then reads 404, and the entities
    the standard's integrity constraints name go with it while the others stay."""
    made = network(client)
    plural = {
        "Thing": "Things",
        "Datastream": "Datastreams",
        "Location": "Locations",
        "HistoricalLocation": "HistoricalLocations",
        "Sensor": "Sensors",
        "ObservedProperty": "ObservedProperties",
        "Observation": "Observations",
        "FeatureOfInterest": "FeaturesOfInterest",
    }
    assert client.delete(f"{STA}/{plural[deleted]}({made[deleted]})").status_code == 200
    for kind in gone:
        status = client.get(f"{STA}/{plural[kind]}({made[kind]})").status_code
        assert status == 404, kind
    for kind in kept:
        assert client.get(f"{STA}/{plural[kind]}({made[kind]})").status_code == 200, kind
    assert client.delete(f"{STA}/{plural[deleted]}({made[deleted]})").status_code == 404


def test_writes_need_their_action(app: FastAPI) -> None:
    """Observations need ``observe`` (operators), other entities ``sensors`` (managers);
    viewers write nothing."""
    manager = admin(app)
    made = network(manager)
    operator = TestClient(app, headers=signed_in(app, roles=("operator",)))
    viewer = TestClient(app, headers=signed_in(app, roles=("viewer",)))
    observation = {
        "result": 1,
        "Datastream": ref(made["Datastream"]),
        "FeatureOfInterest": ref(made["FeatureOfInterest"]),
    }
    assert operator.post(f"{STA}/Observations", json=observation).status_code == 201
    assert operator.post(f"{STA}/Things", json=thing()).status_code == 403
    assert operator.delete(f"{STA}/Things({made['Thing']})").status_code == 403
    assert viewer.post(f"{STA}/Observations", json=observation).status_code == 403
    assert TestClient(app).post(f"{STA}/Things", json=thing()).status_code == 401


def test_writes_publish_entity_and_observation_events(app: FastAPI, client: TestClient) -> None:
    """Every entity a write changes is an "entity" event; every stored observation an
    "observation" event with its datastream, thing and level."""
    events = recorded_events(app)
    created = post(client, "Things", deep_thing())
    kinds = {(e.data["type"], e.data["change"]) for e in events if e.kind == "entity"}
    assert ("Thing", "created") in kinds and ("Datastream", "created") in kinds
    observed = [e.data for e in events if e.kind == "observation"]
    assert sorted(o["result"] for o in observed) == [1, 2]
    assert {o["Thing@iot.id"] for o in observed} == {created["@iot.id"]}
    assert {o["level"] for o in observed} <= {"normal", "stale"}
    assert all(o["@iot.selfLink"].endswith(f"Observations({o['@iot.id']})") for o in observed)
    events.clear()
    client.delete(f"{STA}/Things({created['@iot.id']})")
    kinds = {(e.data["type"], e.data["change"]) for e in events}
    assert {("Thing", "deleted"), ("Datastream", "deleted")} <= kinds
