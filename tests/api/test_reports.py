"""Source reports as text for every kind of source, and the response schemas in /docs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cim.cityjson import import_cityjson
from cim.gis import VectorOptions, import_vector
from cim.raster import import_dem
from cim.store import CityStore
from tests.cim.test_raster import CRS as FORT_WORTH_CRS
from tests.cim.test_raster import DEM, squares_near_fort_worth
from tests.signin import admin_client


@pytest.fixture(scope="module")
def mixed_city(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> TestClient:
    """A city with a GIS layer, a DEM and a CityJSON file (reprojected from Rotterdam)."""
    folder = tmp_path_factory.mktemp("mixed")
    with CityStore.create(folder / "city", FORT_WORTH_CRS) as store:
        import_vector(store, squares_near_fort_worth(folder), VectorOptions())
        import_dem(store, DEM)
        rotterdam = shared_data / "cityjson" / "rotterdam" / "rotterdam_subset.city.json"
        import_cityjson(store, rotterdam, crs="EPSG:28992")
    return admin_client(create_app(folder / "city"))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("gis", ["squares.gpkg#buildings (gis, version 1)", "imported: 2", "heights: height 2"]),
     ("dem", ["(dem, version 1)", "min height:", "buildings rebased:"]),
     ("cityjson", ["rotterdam_subset.city.json (cityjson, version 1)", "crs: EPSG:28992",
                   "objects by type: Building", "triangles:"])],
)  # fmt: skip
def test_text_report_of_every_kind_of_source(
    mixed_city: TestClient, kind: str, expected: list[str]
) -> None:
    sources = {s["kind"]: s for s in mixed_city.get("/api/sources").json()}
    response = mixed_city.get(f"/api/sources/{quote(sources[kind]['source'], safe='')}/report.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for line in expected:
        assert line in response.text


def test_source_list_counts_the_objects_of_every_kind(mixed_city: TestClient) -> None:
    counts = {s["kind"]: s["objects"] for s in mixed_city.get("/api/sources").json()}
    assert counts["gis"] == 2 and counts["cityjson"] == 16 and counts["dem"] == 0


def test_ifc_text_report_keeps_the_model_check(client: TestClient) -> None:
    source = client.get("/api/sources").json()[0]["source"]
    text = client.get(f"/api/sources/{source}/report.txt").text
    assert text.startswith(f"{source} (IFC4,") and "meshes:" in text


@pytest.mark.parametrize(
    ("method", "path", "schema"),
    [("get", "/api/objects", "ObjectPage"), ("get", "/api/objects/{object_id}", "ObjectDetail"),
     ("post", "/api/objects/query", "QueryPage"), ("get", "/api/stats", "Statistics"),
     ("post", "/api/stats", "Statistics"), ("get", "/api/sources/{source}", "Source"),
     ("get", "/api/city", "City"), ("get", "/api/health", "Health"),
     ("get", "/api/search", "SearchResults"), ("post", "/api/objects/values", "Values"),
     ("get", "/api/objects/{object_id}/extent", "Extent")],
)  # fmt: skip
def test_json_answers_have_response_schemas(
    client: TestClient, method: str, path: str, schema: str
) -> None:
    document = client.get("/openapi.json").json()
    content = document["paths"][path][method]["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{schema}"}
    assert document["components"]["schemas"][schema]["properties"]
