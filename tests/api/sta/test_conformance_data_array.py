"""The data array extension of SensorThings 1.1 (ets-sta10 DataArrayTests), writing side:
``POST /CreateObservations`` on SQLite and PostgreSQL; each test cites its requirement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.sta.writing import (
    STA,
    admin,
    deep_thing,
    empty_city_app,
    feature,
    post,
    recorded_events,
)
from tests.signin import signed_in

COMPONENTS = ["phenomenonTime", "result", "FeatureOfInterest/id"]


@pytest.fixture()
def app(tmp_path: Path, ops_url: str) -> FastAPI:
    """The app over an empty city, on SQLite then PostgreSQL."""
    return empty_city_app(tmp_path / "city", ops_url)


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    return admin(app)


@pytest.fixture()
def streams(client: TestClient) -> dict[str, int]:
    """Two datastreams of one Thing, and a FeatureOfInterest."""
    body = deep_thing()
    body["Datastreams"].append({**body["Datastreams"][0], "name": "second"})
    for stream in body["Datastreams"]:
        stream["Observations"] = []
    thing = post(client, "Things", body)
    listed = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"]
    first, second = sorted(d["@iot.id"] for d in listed)
    return {"first": first, "second": second, "feature": post(client, "FeaturesOfInterest",
            feature())["@iot.id"]}  # fmt: skip


def group(datastream: int, rows: list[list[Any]], components: list[str] = COMPONENTS) -> Any:
    return {"Datastream": {"@iot.id": datastream}, "components": components, "dataArray": rows}


def test_create_observations(client: TestClient, streams: dict[str, int]) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/create-observations

    POST CreateObservations stores every row of every Datastream and answers 201 with the
    self link of each, in the order of the request."""
    foi = streams["feature"]
    body = [
        group(streams["first"], [["2010-12-23T10:20:00-07:00", 20, foi],
                                 ["2010-12-23T10:21:00-07:00", 30, foi]]),
        group(streams["second"], [["2010-12-23T10:20:00-07:00", 65, foi],
                                  ["2010-12-23T10:21:00-07:00", 60, foi]]),
    ]  # fmt: skip
    answer = client.post(f"{STA}/CreateObservations", json=body)
    assert answer.status_code == 201, answer.text
    links = answer.json()
    assert len(links) == 4
    read = [client.get(link.removeprefix("http://testserver")).json() for link in links]
    assert [o["result"] for o in read] == [20, 30, 65, 60]
    assert read[0]["phenomenonTime"] == "2010-12-23T17:20:00Z"
    assert (
        client.get(links[2].removeprefix("http://testserver") + "/Datastream").json()["@iot.id"]
        == streams["second"]
    )


def test_rejected_rows_are_errors_and_the_others_land(
    client: TestClient, streams: dict[str, int]
) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/create-observations

    A row the server cannot store is answered "error" in its place; the good rows of the
    same request are stored; a row sent again gives the link stored the first time."""
    foi = streams["feature"]
    first = [["2020-01-01T00:00:00Z", 1, foi]]
    before = client.post(f"{STA}/CreateObservations", json=[group(streams["first"], first)])
    rows: list[list[Any]] = [
        ["2020-01-01T00:00:00Z", 1, foi],  # the same again: stored once
        ["not a time", 2, foi],
        ["2020-01-01T00:02:00Z", None, foi],  # no result
        ["2020-01-01T00:03:00Z", 4, 999_999],  # no such feature
        ["2020-01-01T00:04:00Z", 5],  # a value short
        ["2020-01-01T00:05:00Z", 6, foi],
    ]
    answer = client.post(f"{STA}/CreateObservations", json=[group(streams["first"], rows),
                         group(999_999, [["2020-01-01T00:00:00Z", 1, foi]])])  # fmt: skip
    assert answer.status_code == 201, answer.text
    links = answer.json()
    assert links[0] == before.json()[0]
    assert links[1:5] == ["error"] * 4 and links[6] == "error"
    assert client.get(links[5].removeprefix("http://testserver")).json()["result"] == 6
    stored = client.get(f"{STA}/Datastreams({streams['first']})/Observations").json()
    assert sorted(o["result"] for o in stored["value"]) == [1, 6]


def test_malformed_requests_are_refused_whole(client: TestClient, streams: dict[str, int]) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/create-observations

    A body that is not an array of groups, or a group without its Datastream or with
    unknown components, is refused (400, naming the problem) and nothing is stored."""
    for body, named in (
        ({"Datastream": {"@iot.id": streams["first"]}}, "array"),
        ([group(2**63, [["2020-01-01T00:00:00Z", 1, 1]])], "below 2**63"),
        ([{"components": COMPONENTS, "dataArray": []}], "Datastream"),
        ([group(streams["first"], [["2020-01-01T00:00:00Z", 1, 1]], ["time", "result", "x"])],
         "unknown components"),
    ):  # fmt: skip
        answer = client.post(f"{STA}/CreateObservations", json=body)
        assert answer.status_code == 400 and named in answer.json()["detail"], answer.text
    stored = client.get(f"{STA}/Datastreams({streams['first']})/Observations").json()
    assert stored["value"] == []


def test_created_observations_are_published(
    app: FastAPI, client: TestClient, streams: dict[str, int]
) -> None:
    """Each stored row is an "observation" event (none for the rows refused or repeated)."""
    events = recorded_events(app)
    rows = [["2020-01-01T00:00:00Z", 1, streams["feature"]], ["bad", 2, streams["feature"]],
            ["2020-01-01T00:00:00Z", 3, streams["feature"]]]  # fmt: skip
    client.post(f"{STA}/CreateObservations", json=[group(streams["first"], rows)])
    observed = [e.data for e in events if e.kind == "observation"]
    assert [(o["result"], o["Datastream@iot.id"]) for o in observed] == [(1, streams["first"])]


def test_create_observations_needs_the_observe_action(
    app: FastAPI, streams: dict[str, int]
) -> None:
    """Operators and devices send observations; viewers may not."""
    rows = [["2020-01-01T00:00:00Z", 1, streams["feature"]]]
    viewer = TestClient(app, headers=signed_in(app, roles=("viewer",)))
    refused = viewer.post(f"{STA}/CreateObservations", json=[group(streams["first"], rows)])
    assert refused.status_code == 403
    operator = TestClient(app, headers=signed_in(app, roles=("operator",)))
    allowed = operator.post(f"{STA}/CreateObservations", json=[group(streams["first"], rows)])
    assert allowed.status_code == 201
