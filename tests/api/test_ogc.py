"""OGC API - Features read by a standard client: GDAL's OAPIF driver through pyogrio."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from cim.scope import Scope
from cim.store import CityStore
from tests.signin import city_headers
from tests.viewer.conftest import free_port

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def ogc_server(small_city: Path) -> Iterator[str]:
    """The city served by `cimtwin serve` in its own process: GDAL reads while holding the
    interpreter lock, so a server thread in this process could not answer it."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--city", str(small_city),
               "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def signed_in_gdal(small_city: Path) -> Iterator[dict[str, str]]:
    """GDAL sends the bearer token of a user of the city, as a client of a protected OGC API
    is configured (GDAL_HTTP_AUTH=BEARER)."""
    headers = city_headers(small_city)
    token = headers["Authorization"].removeprefix("Bearer ")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    yield headers
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def test_gdal_reads_a_collection_like_the_store(
    ogc_server: str, small_city: Path, signed_in_gdal: dict[str, str]
) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{ogc_server}/ogc", layer="IfcWall")
    in_crs84 = pyogrio.read_dataframe(f"OAPIF:{ogc_server}/ogc", layer="IfcWall", CRS="OGC:CRS84")
    assert set(in_crs84["id"]) == set(frame["id"])
    assert in_crs84.total_bounds[0] == pytest.approx(113.32, abs=0.01)  # longitude first
    with CityStore.open(small_city) as store:
        walls = {o.id: o for o in store.objects(cls="IfcWall", scope=Scope.everything())}
    assert len(frame) == len(walls) == 20
    assert set(frame["id"]) == set(walls)
    assert frame.crs is not None and frame.crs.to_epsg() in (4326, 4547)  # GDAL may ask storageCrs
    for _, row in frame.to_crs("EPSG:4547").iterrows():
        wall = walls[row["id"]]
        assert row["name"] == wall.name and row["building_id"] == wall.building_id
        assert wall.footprint is not None
        difference = row.geometry.symmetric_difference(wall.footprint).area
        assert difference < 1e-3 * wall.footprint.area  # CRS84 and back, to the millimetre


def test_core_endpoints_paging_bbox_and_crs(
    ogc_server: str, small_city: Path, signed_in_gdal: dict[str, str]
) -> None:
    client = httpx.Client(base_url=ogc_server, headers=signed_in_gdal)
    assert any(link["rel"] == "conformance" for link in client.get("/ogc").json()["links"])
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in client.get(
        "/ogc/conformance").json()["conformsTo"]  # fmt: skip
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert {"IfcWall", "IfcBuilding", "IfcWindow"} <= set(ids)
    page = client.get("/ogc/collections/IfcWindow/items", params={"limit": 5})
    assert page.headers["content-type"].startswith("application/geo+json")
    assert page.headers["content-crs"] == f"<{CRS84}>"
    body = page.json()
    assert body["numberReturned"] == 5 and body["numberMatched"] > 5
    following = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = client.get(following).json()["features"]
    assert {f["id"] for f in second}.isdisjoint({f["id"] for f in body["features"]})
    with CityStore.open(small_city) as store:
        building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    lon_lat = client.get(f"/ogc/collections/IfcBuilding/items/{building.id}").json()
    west, south, east, north = shapely.geometry.shape(lon_lat["geometry"]).bounds
    inside = client.get("/ogc/collections/IfcBuilding/items",
                        params={"bbox": f"{west},{south},{east},{north}"}).json()  # fmt: skip
    assert building.id in {f["id"] for f in inside["features"]}
    far = client.get("/ogc/collections/IfcBuilding/items", params={"bbox": "0,0,1,1"}).json()
    assert far["numberMatched"] == 0
    city_crs = "http://www.opengis.net/def/crs/EPSG/0/4547"
    native = client.get(f"/ogc/collections/IfcBuilding/items/{building.id}",
                        params={"crs": city_crs})  # fmt: skip
    assert native.headers["content-crs"] == f"<{city_crs}>"
    northing, easting = native.json()["geometry"]["coordinates"][0][0][0]  # EPSG axis order
    assert building.footprint is not None
    assert building.footprint.bounds[0] <= easting <= building.footprint.bounds[2]
    assert 2_500_000 < northing < 2_600_000
    assert client.get("/ogc/collections/Nothing/items").status_code == 404
    assert client.get("/ogc/collections/IfcWall/items", params={"crs": "EPSG:1"}).status_code == 400
    assert client.get("/ogc/collections/IfcWall/items", params={"bbox": "1,2"}).status_code == 400


@pytest.mark.parametrize(
    "bbox",
    ["nan,23,113.4,23.2", "113.3,23.1,inf,23.2", "113.3,23.1,113.4", "113.3,23.1,113.4,23.2,1",
     "113.4,23.1,113.3,23.2", "113.3,23.2,113.4,23.1", "113.3,23.1,5,113.4,23.2,1",
     "a,b,c,d", "", "-200,23.1,113.4,23.2", "113.3,-91,113.4,23.2"],
    ids=["nan", "inf", "three", "five", "x inverted", "y inverted", "z inverted", "text",
         "empty", "longitude", "latitude"],
)  # fmt: skip
def test_a_bad_bbox_is_a_400_naming_it(client: TestClient, bbox: str) -> None:
    answer = client.get("/ogc/collections/IfcWall/items", params={"bbox": bbox})
    assert answer.status_code == 400, answer.text
    assert "bbox" in answer.json()["detail"]


def test_items_page_count_and_filter_in_the_store(client: TestClient, small_city: Path) -> None:
    with CityStore.open(small_city) as store:
        walls = store.objects(cls="IfcWall", scope=Scope.everything())
        building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    pages = [client.get("/ogc/collections/IfcWall/items",
                        params={"limit": 7, "offset": offset}).json()
             for offset in range(0, len(walls), 7)]  # fmt: skip
    assert [f["id"] for page in pages for f in page["features"]] == [w.id for w in walls]
    assert {page["numberMatched"] for page in pages} == {len(walls)}
    assert not any(link["rel"] == "next" for link in pages[-1]["links"])
    mine = client.get("/ogc/collections/IfcWall/items",
                      params={"building_id": building.id, "limit": 100}).json()  # fmt: skip
    expected = [w.id for w in walls if w.building_id == building.id]
    assert [f["id"] for f in mine["features"]] == expected and mine["numberMatched"] == len(
        expected
    )
    too_far = client.get("/ogc/collections/IfcWall/items", params={"offset": 2**63})
    assert too_far.status_code in (400, 422)


def test_a_six_number_bbox_and_one_outside_the_city_crs(client: TestClient) -> None:
    flat = client.get("/ogc/collections/IfcWall/items",
                      params={"bbox": "113.3,23.1,113.4,23.2", "limit": 100}).json()  # fmt: skip
    six = "113.3,23.1,-10,113.4,23.2,500"
    deep = client.get("/ogc/collections/IfcWall/items", params={"bbox": six, "limit": 100}).json()
    assert flat["numberMatched"] == deep["numberMatched"] > 0
    # Europe lies outside EPSG:4547's area of use: nothing, not an error or garbage
    europe = client.get("/ogc/collections/IfcWall/items", params={"bbox": "2,48,3,49"})
    assert europe.status_code == 200 and europe.json()["numberMatched"] == 0


def test_collection_extents_hold_their_features(client: TestClient, small_city: Path) -> None:
    collections = client.get("/ogc/collections").json()["collections"]
    by_id = {c["id"]: c for c in collections}
    with CityStore.open(small_city) as store:
        extents = store.class_extents(scope=Scope.everything())
        classes = store.counts_by_class(scope=Scope.everything())
    assert set(by_id) == set(classes)
    for cls in classes:
        if cls not in extents:
            assert "extent" not in by_id[cls]
            continue
        west, south, east, north = by_id[cls]["extent"]["spatial"]["bbox"][0]
        assert 113.0 < west <= east < 114.0 and 22.0 < south <= north < 24.0
        features = client.get(f"/ogc/collections/{cls}/items", params={"limit": 10_000}).json()
        for feature in features["features"]:
            if feature["geometry"] is not None:
                x0, y0, x1, y1 = shapely.geometry.shape(feature["geometry"]).bounds
                assert west <= x0 and x1 <= east and south <= y0 and y1 <= north
    one = client.get("/ogc/collections/IfcWall").json()
    assert one["extent"] == by_id["IfcWall"]["extent"]
