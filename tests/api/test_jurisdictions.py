"""`cimtwin import jurisdictions` and `GET /api/jurisdictions`: the tree a caller may see."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.deps import caller_scope
from cim.data import JURISDICTIONS_FILE, data_file
from cim.model import CityObject, file_sha256
from cim.scope import Scope
from cim.store import CityStore
from tests.signin import admin_client

DEMO = data_file(JURISDICTIONS_FILE)
HUACHENG, ZHUJIANG_EAST = "440106001000", "440106002000"
HUACHENG_NORTH, HAIXIN = "440106001002", "440106002002"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def codes(city: Path) -> dict[str, str | None]:
    conn = sqlite3.connect(f"file:{city / 'city.gpkg'}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT object_id, jurisdiction FROM city_objects"))
    finally:
        conn.close()


def import_demo_set(city: Path, path: Path = DEMO) -> tuple[int, str, str]:
    return run("import", "jurisdictions", str(path), "--city", str(city),
               "--code-field", "code", "--name-field", "name")  # fmt: skip


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    """A city with three blocks: in Huacheng North, in Haixin, and far outside."""
    folder = tmp_path / "city"
    with CityStore.create(folder, "EPSG:4547") as store, store.transaction() as writer:
        for name, (x, y) in {"north": (430500, 2558300), "haixin": (431400, 2558300),
                             "away": (500000, 2560000)}.items():  # fmt: skip
            footprint = box(x - 10, y - 10, x + 10, y + 10)
            writer.add_object(CityObject(id=name, cls="building", footprint=footprint))
    return folder


def test_the_cli_stores_the_set_and_prints_the_assignment(city: Path) -> None:
    code, _, err = import_demo_set(city)
    assert code == 0, err
    assert "12 jurisdictions (1 province, 1 city, 1 county, 3 town, 6 village)" in err
    rows = {line.split("│")[1].strip(): line.split("│")[-2].strip()
            for line in err.splitlines() if line.count("│") == 5}  # fmt: skip
    assert rows[HUACHENG_NORTH] == "1" and rows[HAIXIN] == "1" and rows["-"] == "1"
    assert codes(city) == {"north": HUACHENG_NORTH, "haixin": HAIXIN, "away": None}
    # reprojected from the file's CRS84 into the city's EPSG:4547
    with CityStore.open(city) as store:
        county = store.jurisdiction("440106000000", scope=Scope.everything())
        origin = store.jurisdiction_origin()
    assert origin is not None and origin["file"] == "jurisdictions.geojson"
    assert (origin["nodes"], origin["sha256"]) == (12, file_sha256(DEMO))
    assert county.boundary.bounds == pytest.approx((430000, 2557000, 431600, 2558700), abs=0.01)


def test_the_cli_prints_json_when_asked(city: Path) -> None:
    code, out, err = run("import", "jurisdictions", str(DEMO), "--city", str(city),
                         "--code-field", "code", "--name-field", "name", "--json")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["nodes"] == 12 and summary["findings"] == []
    assert summary["objects_by_jurisdiction"] == {HUACHENG_NORTH: 1, HAIXIN: 1}
    assert summary["objects_unassigned"] == 1


def _demo_features() -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(DEMO.read_text())["features"]
    return features


def _write(tmp_path: Path, features: list[dict[str, Any]]) -> Path:
    path = tmp_path / "edited.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_a_refused_set_exits_non_zero_lists_findings_and_changes_nothing(
    city: Path, tmp_path: Path
) -> None:
    assert import_demo_set(city)[0] == 0
    features = _demo_features()
    town = next(f for f in features if f["properties"]["code"] == ZHUJIANG_EAST)
    # Zhujiang East swallows Huacheng too, and a village gets a malformed code
    town["geometry"] = json.loads(json.dumps(
        next(f for f in features if f["properties"]["level"] == "county")["geometry"]))  # fmt: skip
    next(f for f in features if f["properties"]["code"] == HAIXIN)["properties"]["code"] = "44"
    code, _, err = import_demo_set(city, _write(tmp_path, features))
    assert code == 1
    assert f"{HUACHENG} and {ZHUJIANG_EAST} overlap" in err
    assert "jurisdiction code '44' is not 12 digits" in err
    assert "refused" in err and "unchanged" in err
    assert codes(city) == {"north": HUACHENG_NORTH, "haixin": HAIXIN, "away": None}
    with CityStore.open(city) as store:
        assert len(store.jurisdictions(scope=Scope.everything())) == 12
        town_now = store.jurisdiction(ZHUJIANG_EAST, scope=Scope.everything())
    assert town_now.boundary.area == pytest.approx(660437, rel=1e-3)


def test_a_missing_field_or_file_is_one_clear_error(city: Path, tmp_path: Path) -> None:
    code, _, err = run("import", "jurisdictions", str(DEMO), "--city", str(city),
                       "--code-field", "adcode", "--name-field", "name")  # fmt: skip
    assert code == 1
    assert "no field 'adcode' for --code-field (fields: id, code, name, name_en" in err
    code, _, err = import_demo_set(city, tmp_path / "missing.gpkg")
    assert code == 1 and "no such file" in err
    with CityStore.open(city) as store:
        assert store.jurisdictions(scope=Scope.everything()) == []


@pytest.fixture()
def client(city: Path) -> TestClient:
    assert import_demo_set(city)[0] == 0
    return admin_client(create_app(city, worker=False))


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(item for child in node["children"] for item in _walk(child))]


def test_the_route_gives_the_nested_tree_with_crs84_boundaries(client: TestClient) -> None:
    response = client.get("/api/jurisdictions")
    assert response.status_code == 200
    (root,) = response.json()
    assert (root["code"], root["level"], root["name"]) == ("440000000000", "province", "广东省")
    nodes = {node["code"]: node for node in _walk(root)}
    assert len(nodes) == 12
    huacheng = nodes[HUACHENG]
    assert huacheng["parent_code"] == "440106000000"
    assert [c["code"] for c in huacheng["children"]] == ["440106001001", HUACHENG_NORTH]
    drawn = {f["properties"]["code"]: shape(f["geometry"]) for f in _demo_features()}
    for code, node in nodes.items():
        assert node["boundary"]["type"] == "MultiPolygon"
        served = shape(node["boundary"])
        assert served.symmetric_difference(drawn[code]).area < 1e-12 * drawn[code].area + 1e-14


def test_geometry_false_leaves_the_boundaries_out(client: TestClient) -> None:
    (root,) = client.get("/api/jurisdictions", params={"geometry": "false"}).json()
    assert {node["boundary"] for node in _walk(root)} == {None}


def test_one_node_comes_with_its_subtree(client: TestClient) -> None:
    node = client.get(f"/api/jurisdictions/{ZHUJIANG_EAST}").json()
    assert node["name"] == "珠江东街道" and node["boundary"]["type"] == "MultiPolygon"
    assert [c["code"] for c in node["children"]] == ["440106002001", HAIXIN]
    assert client.get("/api/jurisdictions/440106009000").status_code == 404
    response = client.get("/api/jurisdictions/4401")
    assert response.status_code == 422 and "not 12 digits" in response.json()["detail"]


def test_a_caller_sees_only_its_subtree(client: TestClient) -> None:
    client.app.dependency_overrides[caller_scope] = lambda: Scope.of(HUACHENG)  # type: ignore[attr-defined]
    (root,) = client.get("/api/jurisdictions").json()
    assert root["code"] == HUACHENG and len(_walk(root)) == 3
    assert client.get(f"/api/jurisdictions/{HUACHENG_NORTH}").status_code == 200
    for outside in ("440106000000", ZHUJIANG_EAST, HAIXIN, "440000000000"):
        response = client.get(f"/api/jurisdictions/{outside}")
        assert response.status_code == 404, outside
        assert response.json() == {"detail": f"no jurisdiction {outside}"}  # as a missing one


def test_a_city_without_jurisdictions_has_an_empty_tree(city: Path) -> None:
    client = admin_client(create_app(city, worker=False))
    assert client.get("/api/jurisdictions").json() == []
    assert client.get("/api/jurisdictions/440000000000").status_code == 404


def test_a_real_layer_s_overlaps_and_invalid_polygons_are_all_found(
    shared_data: Path, tmp_path: Path
) -> None:
    """OSM landuse of central Helsinki as the villages of one town: the checks report
    exactly the invalid polygons and the overlapping pairs a brute-force pass finds."""
    landuse = gpd.read_file(shared_data / "vector" / "helsinki_center_osm.gpkg", layer="landuse")
    codes = [f"440106001{n:03d}" for n in range(1, len(landuse) + 1)]
    landuse = landuse.assign(code=codes, label=landuse["landuse"]).to_crs("EPSG:3067")
    town = box(*landuse.total_bounds).buffer(10.0, join_style="mitre")
    frame = gpd.GeoDataFrame(
        {"code": ["440106001000", *codes], "label": ["town", *landuse["label"]]},
        geometry=[town, *landuse.geometry], crs="EPSG:3067",
    )  # fmt: skip
    layer = tmp_path / "helsinki.gpkg"
    frame.to_crs("EPSG:4326").to_file(layer, layer="divisions")
    helsinki = tmp_path / "helsinki"
    assert run("init", "--city", str(helsinki), "--crs", "EPSG:3067")[0] == 0

    code, _, err = run("import", "jurisdictions", str(layer), "--city", str(helsinki),
                       "--code-field", "code", "--name-field", "label")  # fmt: skip

    assert code == 1
    lines = " ".join(err.split())  # rich wraps long lines
    shapes = dict(zip(codes, gpd.read_file(layer).to_crs("EPSG:3067").geometry[1:], strict=True))
    invalid = {c for c, s in shapes.items() if not s.is_valid}
    valid = sorted(set(codes) - invalid)
    overlaps, slivers = set(), set()
    for index, one in enumerate(valid):
        for other in valid[index + 1 :]:
            shared = shapes[one].intersection(shapes[other]).area
            share = shared / min(shapes[one].area, shapes[other].area)
            if share > 1e-3:
                overlaps.add((one, other))
            elif share > 1e-9:
                slivers.add((one, other))
    assert len(invalid) > 5 and len(overlaps) > 20  # the layer is as messy as real data is
    assert set(re.findall(r"(\d{12}): invalid polygon", lines)) == invalid
    reported = re.findall(r"error: (\d{12}) and (\d{12}) overlap", lines)
    assert set(reported) == overlaps
    assert set(re.findall(r"warning: (\d{12}) and (\d{12}) overlap", lines)) == slivers
    assert f"refused ({len(invalid) + len(overlaps)} error(s))" in lines
    with CityStore.open(helsinki) as store:
        assert store.jurisdictions(scope=Scope.everything()) == []
