"""Hostile and careless requests get a clear 4xx, never a server error or unbounded work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from cim.area import MAX_VERTICES
from cim.model import CityObject
from cim.store import CityStore
from tests.signin import admin_client
from tiles.terrain import TERRAIN_TILES
from tiles.tileset import TILES_DIR


@pytest.fixture()
def careless(small_city: Path) -> TestClient:
    """A client that reports a server error as a 500 instead of raising it."""
    return admin_client(create_app(small_city), raise_server_exceptions=False)


def _post_json(client: TestClient, url: str, text: str) -> int:
    """POST a raw JSON text (NaN, 1e400: what json.dumps would refuse)."""
    response = client.post(url, content=text, headers={"content-type": "application/json"})
    return response.status_code


@pytest.mark.parametrize("root", ["tiles", "terrain"])
@pytest.mark.parametrize(
    "name", ["a%00b.glb", "a%00b.terrain", "a" * 300 + ".glb", "b" * 300 + ".terrain",
             "/".join(["c" * 100] * 8) + ".json", "%ff%fe.json"],
)  # fmt: skip
def test_file_routes_answer_404_to_impossible_names(root: str, name: str, tmp_path: Path) -> None:
    city = tmp_path / "city"
    for folder in (TILES_DIR, TERRAIN_TILES):
        (city / folder).mkdir(parents=True)
        (city / folder / "layer.json").write_text("{}")
    client = admin_client(create_app(city), raise_server_exceptions=False)
    response = client.get(f"/{root}/{name}")
    assert response.status_code == 404
    assert "no file" in response.json()["detail"]
    assert client.get(f"/{root}/layer.json").status_code == 200


def test_imagery_tile_numbers_are_bounded(careless: TestClient) -> None:
    assert careless.get("/imagery/1/2/" + "9" * 300 + ".png").status_code == 422
    assert careless.get("/imagery/31/0/0.png").status_code == 422
    assert careless.get("/imagery/3/-1/0.png").status_code == 422
    assert careless.get("/imagery/3/1/1.png").status_code == 404  # no orthophoto here


def test_object_paging_refuses_offsets_sqlite_cannot_hold(careless: TestClient) -> None:
    response = careless.get("/api/objects", params={"offset": 2**63})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "offset"
    assert careless.get("/api/objects", params={"offset": 2**53 - 1}).json()["objects"] == []


@pytest.mark.parametrize(
    "bbox", ["nan,23,114,24", "113,23,inf,24", "113,23,1e400,24", "-181,0,0,1", "1,2,3"]
)
def test_stats_refuse_bad_boxes_with_the_reason(careless: TestClient, bbox: str) -> None:
    response = careless.get("/api/stats", params={"bbox": bbox})
    assert response.status_code == 422
    assert "bbox" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", ['{"limit": 1e400}', '{"offset": 1e400}', '{"limit": NaN}',
             '{"offset": 9223372036854775808}', '{"bbox": [NaN, 23, 114, 24]}',
             '{"bbox": [113, 23, Infinity, 24]}', '{"bbox": [113, 23, 1e400, 24]}',
             '{"polygon": {"type": "Polygon",'
             ' "coordinates": [[[0, 0], [0, NaN], [1, 1], [0, 0]]]}}'],
)  # fmt: skip
def test_object_query_refuses_non_finite_numbers(careless: TestClient, body: str) -> None:
    assert _post_json(careless, "/api/objects/query", body) == 422


def test_values_and_stats_refuse_non_finite_bodies(careless: TestClient) -> None:
    assert _post_json(careless, "/api/objects/values", '{"attribute": NaN}') == 422
    polygon = '{"type": "Polygon", "coordinates": [[[0, 0], [0, 1e400], [1, 1], [0, 0]]]}'
    assert _post_json(careless, "/api/stats", polygon) == 422


def _world_ring(points: int) -> list[list[float]]:
    """A closed ring of ``points`` positions around the whole world."""
    west = [[-180.0, -90.0 + 180.0 * i / points] for i in range(points - 4)]
    return [*west, [-180.0, 90.0], [180.0, 90.0], [180.0, -90.0], [-180.0, -90.0]]


def test_world_sized_areas_are_clipped_to_the_city(careless: TestClient) -> None:
    everything = careless.get("/api/stats").json()
    assert everything["buildings"] == 2
    world = careless.get("/api/stats", params={"bbox": "-180,-90,180,90"}).json()
    assert world["buildings"] == 2
    assert world["district_area"] == pytest.approx(everything["district_area"], rel=1e-6)
    polygon = {"type": "Polygon", "coordinates": [_world_ring(MAX_VERTICES)]}
    posted = careless.post("/api/stats", json=polygon)
    assert posted.status_code == 200 and posted.json()["buildings"] == 2
    found = careless.post("/api/objects/query", json={"polygon": polygon, "class": "IfcBuilding"})
    assert found.json()["total"] == 2


def test_polygons_with_too_many_vertices_are_refused(careless: TestClient) -> None:
    polygon = {"type": "Polygon", "coordinates": [_world_ring(MAX_VERTICES + 1)]}
    response = careless.post("/api/stats", json=polygon)
    assert response.status_code == 422 and "10000 vertices" in response.json()["detail"]
    query = careless.post("/api/objects/query", json={"polygon": polygon})
    assert query.status_code == 422


def test_a_nan_box_does_not_select_everything(careless: TestClient) -> None:
    response = careless.post(
        "/api/objects/query", content='{"bbox": [NaN, 0, 1, 1]}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422 and "finite" in response.json()["detail"]


def test_big_query_answers_page_by_page(careless: TestClient) -> None:
    body: dict | None = {"bbox": [-180, -90, 180, 90], "limit": 40}
    seen: list[str] = []
    total = None
    while body is not None:
        page = careless.post("/api/objects/query", json=body).json()
        total = page["total"] if total is None else total
        assert page["total"] == total and len(page["objects"]) <= 40
        seen += [o["id"] for o in page["objects"]]
        body = page["next"]
    assert total is not None and total > 80
    assert len(seen) == len(set(seen)) == total
    too_big = careless.post("/api/objects/query", json={"limit": 10_001})
    assert too_big.status_code == 422


def test_empty_city_has_zero_statistics(tmp_path: Path) -> None:
    CityStore.create(tmp_path / "empty", "EPSG:4547").close()
    client = admin_client(create_app(tmp_path / "empty"))
    assert client.get("/api/stats").json()["buildings"] == 0
    assert client.get("/api/stats", params={"bbox": "-180,-90,180,90"}).json()["buildings"] == 0


def test_validation_errors_echo_little_of_the_request(careless: TestClient) -> None:
    huge = "x" * 5_000
    response = careless.get("/api/objects", params={"limit": huge})
    assert response.status_code == 422
    assert len(response.text) < 1_000
    assert json.loads(response.text)["detail"][0]["loc"] == ["query", "limit"]


def test_an_object_beyond_the_crs_has_no_position_nor_extent(tmp_path: Path) -> None:
    store = CityStore.create(tmp_path / "far", "EPSG:4547")
    far = shapely.box(1e9, 1e9, 1e9 + 10, 1e9 + 10)  # where the projection has no inverse
    with store.transaction() as writer:
        writer.add_object(CityObject(id="far", cls="building", name="far", footprint=far,
                                     base_height=0.0, top_height=10.0))  # fmt: skip
    store.close()
    client = admin_client(create_app(tmp_path / "far"), raise_server_exceptions=False)
    assert client.get("/api/objects/far").json()["position"] is None
    extent = client.get("/api/objects/far/extent")
    assert extent.status_code == 404 and "no longitude" in extent.json()["detail"]
    assert client.get("/api/stats", params={"bbox": "-180,-90,180,90"}).status_code == 200
