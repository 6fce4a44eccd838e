"""Search, per-object values and extents: what the viewer asks to find, colour and fly."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.signin import admin_client
from tests.viewer.planner_city import BLOCKS, build_planner_city


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return admin_client(create_app(build_planner_city(tmp_path_factory.mktemp("planner"))))


def test_search_by_name_id_and_address(planner: TestClient) -> None:
    halls = planner.get("/api/search", params={"q": "hall"}).json()["results"]
    assert [h["name"] for h in halls[:2]] == ["North Hall", "South Hall"]
    assert {h["class"] for h in halls[:2]} == {"IfcBuilding"}
    building = halls[0]["id"]
    exact = planner.get("/api/search", params={"q": building}).json()["results"]
    assert exact[0]["id"] == building and exact[0]["match"] == "id"
    by_address = planner.get("/api/search", params={"q": "天河路"}).json()["results"]
    assert [(h["id"], h["match"]) for h in by_address] == [
        ("blocks:b1", "address"), ("blocks:b2", "address")]  # fmt: skip
    assert by_address[0]["address"] == "天河路 101号"
    gis = planner.get("/api/search", params={"q": "blocks:b3"}).json()["results"]
    assert gis[0]["id"] == "blocks:b3"
    assert planner.get("/api/search", params={"q": "no such thing"}).json()["results"] == []
    assert planner.get("/api/search", params={"q": "100%_"}).json()["results"] == []
    assert planner.get("/api/search", params={"q": ""}).status_code == 422


def test_values_by_attribute(planner: TestClient) -> None:
    use = planner.post("/api/objects/values", json={"attribute": "use"}).json()
    assert use["kind"] == "category"
    assert dict(map(tuple, use["categories"])) == {"office": 3, "residential": 1, "retail": 1}
    year = planner.post("/api/objects/values", json={"attribute": "year"}).json()
    assert year["kind"] == "number" and year["range"] == [1998, 2020]
    assert year["values"]["blocks:b3"] == 2005
    height = planner.post(
        "/api/objects/values", json={"attribute": "height", "ids": ["blocks:b2", "nope"]}
    ).json()
    assert height["values"] == {"blocks:b2": 45.0}
    assert height["unit"] == "m" and year["unit"] is None and use["unit"] is None
    address = planner.post("/api/objects/values", json={"attribute": "addr:street"}).json()
    assert address["values"] == {f"blocks:{b[0]}": b[3] for b in BLOCKS}
    pset = planner.post(
        "/api/objects/values", json={"attribute": "Pset_WallCommon.IsExternal", "class": "IfcWall"}
    ).json()
    assert pset["count"] > 0 and set(pset["values"].values()) == {"true"}
    empty = planner.post("/api/objects/values", json={"attribute": "no_such_field"}).json()
    assert empty["kind"] == "empty" and empty["values"] == {}


def test_values_per_building(planner: TestClient) -> None:
    walls = planner.get("/api/objects", params={"class": "IfcWall", "limit": 1}).json()
    wall = walls["objects"][0]
    building = planner.get(f"/api/objects/{wall['id']}").json()["building_id"]
    own = planner.post("/api/objects/values", json={"attribute": "height", "ids": [wall["id"]]})
    per = planner.post(
        "/api/objects/values",
        json={"attribute": "height", "ids": [wall["id"], building], "per_building": True},
    ).json()["values"]
    assert per[wall["id"]] == per[building] > own.json()["values"][wall["id"]]
    use = planner.post("/api/objects/values", json={"attribute": "use", "per_building": True})
    body = use.json()
    assert body["count"] > 20 and body["owners"] == 5  # two halls, three blocks
    assert dict(map(tuple, body["categories"])) == {"office": 3, "residential": 1, "retail": 1}


def test_extent_of_objects(planner: TestClient) -> None:
    block = planner.get("/api/objects/blocks:b2/extent").json()
    assert block["base_height"] == 0.0 and block["top_height"] == 45.0
    west, south, east, north = block["bbox"]
    assert 113 < west < east < 114 and 23 < south < north < 24
    assert block["radius"] > 20
    assert planner.get("/api/objects/nope/extent").status_code == 404


def test_openapi_lists_the_viewer_routes(planner: TestClient) -> None:
    paths = planner.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/objects/values", "/api/objects/{object_id}/extent"} <= set(paths)
