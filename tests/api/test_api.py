"""The HTTP API on a real tiled city."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from bim.importer import import_ifc
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city
from tests.signin import admin_client


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
        wall = store.objects(cls="IfcWall", scope=Scope.everything())[0]
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


def test_tiles_have_types_etag_and_revalidate(client: TestClient) -> None:
    tileset = client.get("/tiles/tileset.json", headers={"Origin": "http://example.org"})
    assert tileset.status_code == 200
    assert tileset.headers["content-type"].startswith("application/json")
    assert "access-control-allow-origin" not in tileset.headers  # no CIMTWIN_CORS_ORIGINS
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


def test_openapi_docs_are_served_as_valid_openapi_30(client: TestClient) -> None:
    from openapi_spec_validator import validate

    assert client.get("/docs").status_code == 200
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.0.")
    validate(document)  # OGC API - Features declares the oas30 conformance class
    paths = document["paths"]
    assert "/api/objects/{object_id}" in paths and "/ogc/collections/{collection_id}/items" in paths


def test_viewer_is_served_at_root(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Cesium" in page.text


def test_missing_city_is_404(tmp_path: Path) -> None:
    response = admin_client(create_app(tmp_path / "absent")).get("/api/city")
    assert response.status_code == 404
    assert "holds no city" in response.json()["detail"]  # the folder holds its users only


def _first_content_uri(tile: dict) -> str:
    if "content" in tile:
        return str(tile["content"]["uri"])
    return _first_content_uri(tile["children"][0])


def test_objects_filter_by_building_and_storey_with_links(
    client: TestClient, small_city: Path
) -> None:
    with CityStore.open(small_city) as store:
        building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
        storey = store.objects(
            cls="IfcBuildingStorey", parent_id=building.id, scope=Scope.everything()
        )[0]
    params = {"class": "IfcWall", "building": building.id, "storey": storey.id, "limit": 3}
    page = client.get("/api/objects", params=params).json()
    assert page["total"] == 4 and len(page["objects"]) == 3
    assert {(o["building"], o["storey"]) for o in page["objects"]} == {(building.id, storey.id)}
    rest = client.get(page["links"]["next"]).json()
    assert len(rest["objects"]) == 1 and "next" not in rest["links"]
    in_building = client.get("/api/objects", params={"building": building.id}).json()["total"]
    assert 4 < in_building < client.get("/api/objects").json()["total"]


def test_sources_report_versions_and_history(client: TestClient, small_city: Path) -> None:
    listed = client.get("/api/sources").json()
    assert {s["source"] for s in listed} == {"0.ifc", "1.ifc"}
    assert all(s["version"] == 1 and s["objects"] > 0 for s in listed)
    source = client.get("/api/sources/0.ifc").json()
    assert source["report"]["georeference"]["method"] == "IfcMapConversion"
    assert {"length-unit", "georeference"} <= {f["code"] for f in source["report"]["findings"]}
    text = client.get("/api/sources/0.ifc/report.txt")
    assert text.status_code == 200 and "schema validation" in text.text
    versions = client.get("/api/sources/0.ifc/versions").json()
    assert [v["version"] for v in versions] == [1]
    assert client.get("/api/sources/0.ifc/diff").status_code == 404
    assert client.get("/api/sources/nope.ifc").status_code == 404
    with CityStore.open(small_city) as store:
        wall = store.objects(cls="IfcWall", scope=Scope.everything())[0]
    assert client.get(f"/api/objects/{wall.id}/history").json() == {"id": wall.id, "versions": []}
    assert client.get("/api/objects/nope/history").status_code == 404


def test_diff_and_history_of_a_new_version(tmp_path: Path, versions: dict) -> None:
    store = make_city(tmp_path)
    import_ifc(store, [versions["v1"]])
    import_ifc(store, [versions["v2"]])
    store.close()
    client = admin_client(create_app(store.city_dir))
    diff = client.get("/api/sources/hall-v2.ifc/diff").json()
    assert (diff["version"], diff["replaces"]) == (2, "hall-v1.ifc")
    assert diff["removed"] == [versions["removed"]]
    assert diff["changed_geometry"] == [versions["slab"]]
    versions_listed = client.get("/api/sources/hall-v2.ifc/versions").json()
    assert [v["source"] for v in versions_listed] == ["hall-v1.ifc", "hall-v2.ifc"]
    history = client.get(f"/api/objects/{versions['removed']}/history").json()
    assert [v["version"] for v in history["versions"]] == [1]
    assert history["versions"][0]["class"] == "IfcWindow"
