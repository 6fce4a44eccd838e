"""Guided placement over HTTP: a preview of the upload, the terrain height, the placement
check, and an upload whose rotation turns the stored model."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bim.geometry import iterate_shapes
from bim.reader import open_ifc
from cim.crs import transform_arrays
from cim.scope import Scope
from cim.store import CityStore
from tests.api.test_imports import upload, wait
from tests.bim.test_preview import positions, read_glb
from tests.conftest import OPEN_HOUSE
from tests.signin import admin_client

ORIGIN = (430700.0, 2557800.0, 10.0)


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


@pytest.fixture()
def client(city: Path) -> Iterator[TestClient]:
    with admin_client(create_app(city)) as test_client:
        yield test_client


def test_the_preview_of_an_ungeoreferenced_file_is_a_glb_and_stores_nothing(
    client: TestClient, city: Path, shared_data: Path
) -> None:
    data = (shared_data / "ifc" / OPEN_HOUSE).read_bytes()
    answer = client.post("/api/imports/preview", files={"file": (OPEN_HOUSE, data)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["georeference"] is None
    assert body["unit"] == {"name": "MILLIMETRE", "metres": 0.001}
    document, binary = read_glb(base64.b64decode(body["glb"]))
    points = positions(document, binary)
    np.testing.assert_allclose(points.min(axis=0), body["bounds"][0], atol=1e-3)
    with CityStore.open(city) as store:
        assert store.counts_by_class(scope=Scope.everything()) == {}
    assert not list((city / ".uploads").glob("*")), "the preview's upload was left behind"


def test_a_preview_of_a_file_that_is_not_ifc_is_422(client: TestClient) -> None:
    answer = client.post("/api/imports/preview", files={"file": ("x.ifc", b"hello")})
    assert answer.status_code == 422
    assert "not an IFC file" in answer.json()["detail"]


def test_the_placement_check_defaults_the_height_and_warns(client: TestClient) -> None:
    answer = client.post("/api/imports/placement", json={"origin": ORIGIN[:2], "rotation": 45})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["origin"] == [*ORIGIN[:2], 0.0]  # no terrain: height 0
    assert body["rotation_deg"] == 45.0 and body["warnings"] == []
    lon, lat = transform_arrays("EPSG:4547", "EPSG:4326", *np.array([ORIGIN[:2]]).T)
    assert (body["lon"], body["lat"]) == pytest.approx((lon[0], lat[0]))
    refused = client.post("/api/imports/placement", json={"origin": [1, 2]})
    assert refused.status_code == 422 and "outside the area of use" in refused.json()["detail"]


def test_the_terrain_height_answers_the_city_coordinates(client: TestClient) -> None:
    lon, lat = transform_arrays("EPSG:4547", "EPSG:4326", *np.array([ORIGIN[:2]]).T)
    body = client.get(f"/api/terrain/height?lon={lon[0]}&lat={lat[0]}").json()
    assert body["height"] is None  # the city has no terrain
    assert (body["x"], body["y"]) == pytest.approx(ORIGIN[:2])
    assert body["crs"] == "EPSG:4547"
    assert client.get("/api/terrain/height?lon=200&lat=0").status_code == 422


def test_a_rotated_upload_stores_the_model_turned(
    client: TestClient, city: Path, shared_data: Path
) -> None:
    data = (shared_data / "ifc" / OPEN_HOUSE).read_bytes()
    origin = ",".join(map(str, ORIGIN))
    refused = upload(client, (OPEN_HOUSE, data), rotation="90")
    assert refused.status_code == 422 and "give origin" in refused.json()["detail"]
    assert upload(client, (OPEN_HOUSE, data), origin=origin, rotation="nan").status_code == 422
    job = wait(
        client, upload(client, (OPEN_HOUSE, data), origin=origin, rotation="90").json()["url"]
    )
    assert job["status"] == "succeeded", job
    assert job["params"]["rotation"] == 90.0
    assert job["result"]["reports"][0]["georeference"]["rotation_deg"] == pytest.approx(90.0)
    model = open_ifc(shared_data / "ifc" / OPEN_HOUSE)
    door = model.by_type("IfcDoor")[0]
    shape = next(s for s in iterate_shapes(model) if s.guid == door.GlobalId)
    low, high = shape.vertices.min(axis=0), shape.vertices.max(axis=0)
    with CityStore.open(city) as store:
        parts = store.meshes([door.GlobalId], scope=Scope.everything())[door.GlobalId]
    stored = np.concatenate([part.vertices for part in parts])
    # a quarter turn counter-clockwise: the model's +X runs to grid north, +Y to grid west
    assert stored[:, 0].min() == pytest.approx(ORIGIN[0] - high[1], abs=1e-3)
    assert stored[:, 0].max() == pytest.approx(ORIGIN[0] - low[1], abs=1e-3)
    assert stored[:, 1].min() == pytest.approx(ORIGIN[1] + low[0], abs=1e-3)
    assert stored[:, 1].max() == pytest.approx(ORIGIN[1] + high[0], abs=1e-3)
    assert abs((high[0] - low[0]) - (high[1] - low[1])) > 0.5  # no square: a turn shows
