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

from cim.store import CityStore
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


def test_gdal_reads_a_collection_like_the_store(ogc_server: str, small_city: Path) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{ogc_server}/ogc", layer="IfcWall")
    in_crs84 = pyogrio.read_dataframe(f"OAPIF:{ogc_server}/ogc", layer="IfcWall", CRS="OGC:CRS84")
    assert set(in_crs84["id"]) == set(frame["id"])
    assert in_crs84.total_bounds[0] == pytest.approx(113.32, abs=0.01)  # longitude first
    with CityStore.open(small_city) as store:
        walls = {o.id: o for o in store.objects(cls="IfcWall")}
    assert len(frame) == len(walls) == 20
    assert set(frame["id"]) == set(walls)
    assert frame.crs is not None and frame.crs.to_epsg() in (4326, 4547)  # GDAL may ask storageCrs
    for _, row in frame.to_crs("EPSG:4547").iterrows():
        wall = walls[row["id"]]
        assert row["name"] == wall.name and row["building_id"] == wall.building_id
        assert wall.footprint is not None
        difference = row.geometry.symmetric_difference(wall.footprint).area
        assert difference < 1e-3 * wall.footprint.area  # CRS84 and back, to the millimetre


def test_core_endpoints_paging_bbox_and_crs(ogc_server: str, small_city: Path) -> None:
    client = httpx.Client(base_url=ogc_server)
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
    second = httpx.get(following).json()["features"]
    assert {f["id"] for f in second}.isdisjoint({f["id"] for f in body["features"]})
    with CityStore.open(small_city) as store:
        building = store.objects(cls="IfcBuilding")[0]
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
