"""District statistics: count, footprint area, gross floor area, height distribution."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from api.app import create_app
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.gis import VectorOptions, import_vector
from cim.scope import Scope
from cim.stats import district_stats
from tests.conftest import make_city
from tests.signin import admin_client

E, N = 430_700.0, 2_557_800.0


@pytest.fixture(scope="module")
def district_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("district")
    store = make_city(folder)
    frame = gpd.GeoDataFrame(
        {"ref": ["a", "b", "c", "far"], "building_levels": [2, 10, None, 3],
         "height": [None, None, 60.0, None]},
        geometry=[box(E, N, E + 10, N + 10), box(E + 20, N, E + 40, N + 10),
                  box(E + 50, N, E + 60, N + 20), box(E + 500, N + 500, E + 510, N + 510)],
        crs="EPSG:4547",
    )  # fmt: skip
    frame.to_file(folder / "blocks.gpkg", layer="blocks", driver="GPKG")
    import_vector(store, folder / "blocks.gpkg", VectorOptions(id_field="ref"))
    spec = BuildingSpec("Hall", E, N + 40, storeys=3, width=20.0, depth=12.0)
    import_ifc(store, write_demo_building(spec, folder / "hall.ifc"))
    store.close()
    return store.city_dir


def test_statistics_of_a_district(district_city: Path) -> None:
    from cim.store import CityStore

    with CityStore.open(district_city) as store:
        result = district_stats(
            store, box(E - 5, N - 5, E + 100, N + 100), scope=Scope.everything()
        )
    assert result["buildings"] == 4 and result["by_class"] == {"IfcBuilding": 1, "building": 3}
    assert result["footprint_area"] == pytest.approx(100 + 200 + 200 + 20 * 12, rel=0.01)
    bim_floor_area = 3 * 20 * 12  # three storeys of the authored building
    gis_floor_area = 100 * 2 + 200 * 10 + 200 * 20  # levels, levels, 60 m / 3 m
    assert result["gross_floor_area"] == pytest.approx(gis_floor_area + bim_floor_area, rel=0.02)
    assert result["height"]["max"] == pytest.approx(60.0)
    # GB 50352: 6 m and the 10.x m hall low or multi-storey, 30 m and 60 m (use unknown) high-rise
    bands = {band["code"]: band["count"] for band in result["height_bands"]}
    assert bands == {"low_or_multi_storey": 2, "high_rise": 2, "super_high_rise": 0}
    assert result["height_bands"][1]["name"] == "高层民用建筑"


def test_statistics_over_http(district_city: Path) -> None:
    client = admin_client(create_app(district_city))
    everything = client.get("/api/stats").json()
    assert everything["buildings"] == 5
    district = client.get("/api/stats", params={"district": "blocks:b"}).json()
    assert district["buildings"] == 1 and district["footprint_area"] == pytest.approx(200)
    nowhere = client.get("/api/stats", params={"bbox": "0,0,1,1"}).json()
    assert nowhere["buildings"] == 0 and nowhere["height"]["max"] is None
    polygon = client.get("/ogc/collections/building/items/blocks:a").json()["geometry"]
    posted = client.post("/api/stats", json=polygon).json()
    assert posted["buildings"] == 1 and posted["footprint_area"] == pytest.approx(100, rel=0.01)
    assert (
        client.post("/api/stats", json={"type": "Point", "coordinates": [1, 2]}).status_code == 422
    )
    assert client.get("/api/stats", params={"bbox": "1,2"}).status_code == 422
    assert client.get("/api/stats", params={"district": "nope"}).status_code == 404


def test_ogc_items_filter_by_attribute(district_city: Path) -> None:
    client = admin_client(create_app(district_city))
    page = client.get("/ogc/collections/building/items", params={"ref": "b"}).json()
    assert [f["id"] for f in page["features"]] == ["blocks:b"]
    tall = client.get("/ogc/collections/building/items", params={"height_source": "height"})
    assert {f["id"] for f in tall.json()["features"]} == {"blocks:c"}
    assert client.get("/ogc/collections/building/items", params={"ref": "zz"}).json()[
        "numberMatched"] == 0  # fmt: skip


def test_query_objects_by_polygon_class_and_attribute(district_city: Path) -> None:
    client = admin_client(create_app(district_city))
    polygon = client.get("/ogc/collections/building/items/blocks:b").json()["geometry"]
    inside = client.post("/api/objects/query", json={"polygon": polygon}).json()
    ids = {o["id"] for o in inside["objects"]}
    assert "blocks:b" in ids and "blocks:far" not in ids
    buildings = client.post(
        "/api/objects/query", json={"polygon": polygon, "class": "building"}
    ).json()
    assert [o["id"] for o in buildings["objects"]] == ["blocks:b"]
    by_value = client.post(
        "/api/objects/query", json={"class": "building", "attributes": {"ref": "c"}}
    ).json()
    assert [o["id"] for o in by_value["objects"]] == ["blocks:c"]
    nowhere = client.post("/api/objects/query", json={"bbox": [0, 0, 1, 1]}).json()
    assert nowhere["total"] == 0
    bad = client.post(
        "/api/objects/query", json={"polygon": {"type": "Point", "coordinates": [0, 0]}}
    )
    assert bad.status_code == 422
