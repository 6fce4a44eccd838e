"""The HTTP API on a real tiled city."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from cim.store import CityStore


def test_health_reports_store_and_tiles(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body == {"status": "ok", "city": "city", "store": True, "tiles": True}


def test_city_gives_centre_in_guangzhou_and_tileset(client: TestClient) -> None:
    body = client.get("/api/city").json()
    assert body["crs"] == "EPSG:4547"
    assert 113.2 < body["center"]["lon"] < 113.4 and 23.0 < body["center"]["lat"] < 23.2
    assert body["tileset"] == "/tiles/tileset.json"
    assert body["objects_by_class"]["IfcBuilding"] == 2


def test_object_has_psets_spatial_path_and_position(client: TestClient, small_city: Path) -> None:
    with CityStore.open(small_city) as store:
        wall = store.objects(cls="IfcWall")[0]
    body = client.get(f"/api/objects/{wall.id}").json()
    assert body["id"] == wall.id and body["class"] == "IfcWall"
    assert body["psets"]["Pset_WallCommon"]["IsExternal"] is True
    classes = [step["class"] for step in body["spatial_path"]]
    assert classes == ["IfcSite", "IfcBuilding", "IfcBuildingStorey", "IfcWall"]
    assert 113.2 < body["position"]["lon"] < 113.4


def test_unknown_object_is_404_with_message(client: TestClient) -> None:
    response = client.get("/api/objects/no-such-id")
    assert response.status_code == 404
    assert "no-such-id" in response.json()["detail"]


def test_objects_filter_and_page(client: TestClient) -> None:
    page = client.get("/api/objects", params={"class": "IfcWindow", "limit": 5}).json()
    assert page["total"] > 5 and len(page["objects"]) == 5
    assert {o["class"] for o in page["objects"]} == {"IfcWindow"}
    assert client.get("/api/objects", params={"limit": 0}).status_code == 422


def test_tiles_have_types_etag_cors_and_revalidate(client: TestClient) -> None:
    tileset = client.get("/tiles/tileset.json", headers={"Origin": "http://example.org"})
    assert tileset.status_code == 200
    assert tileset.headers["content-type"].startswith("application/json")
    assert tileset.headers["access-control-allow-origin"] == "*"
    assert tileset.headers["cache-control"] == "no-cache"
    uri = _first_content_uri(tileset.json()["root"])
    glb = client.get(f"/tiles/{uri}")
    assert glb.headers["content-type"] == "model/gltf-binary"
    assert glb.content[:4] == b"glTF"
    again = client.get(f"/tiles/{uri}", headers={"If-None-Match": glb.headers["etag"]})
    assert again.status_code == 304


def test_tile_json_is_gzipped_when_asked(client: TestClient) -> None:
    response = client.get("/tiles/tileset.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


def test_tiles_refuse_path_escape_and_unknown_files(client: TestClient) -> None:
    assert client.get("/tiles/../city.gpkg").status_code == 404
    assert client.get("/tiles/%2e%2e/city.gpkg").status_code == 404
    assert client.get("/tiles/nothing.glb").status_code == 404


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/objects/{object_id}" in paths and "/api/city" in paths


def test_viewer_is_served_at_root(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Cesium" in page.text


def test_missing_city_is_404(tmp_path: Path) -> None:
    response = TestClient(create_app(tmp_path / "absent")).get("/api/city")
    assert response.status_code == 404
    assert "does not exist" in response.json()["detail"]


def _first_content_uri(tile: dict) -> str:
    if "content" in tile:
        return str(tile["content"]["uri"])
    return _first_content_uri(tile["children"][0])
