"""The zoning model over a small city written in the test, and over the real Helsinki OSM
buildings."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pydantic
import pytest
from shapely.geometry import LineString, box

from cim.gis import VectorOptions, import_vector
from cim.results import SimulationResult
from cim.scope import Scope
from cim.store import CityStore
from cim.zones import import_zones
from simulation.models import model
from simulation.models.errors import ModelError
from simulation.models.spec import ModelInputs
from tests.conftest import LOCAL_CRS, make_city

X0, Y0 = 430000.0, 2557000.0


def _box(x0: float, y0: float, x1: float, y1: float) -> object:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _layer(path: Path, layer: str, rows: list[dict[str, object]]) -> None:
    gpd.GeoDataFrame(rows, geometry="geometry", crs=LOCAL_CRS).to_file(
        path, layer=layer, driver="GPKG"
    )


def _city(tmp_path: Path, green: bool = True) -> CityStore:
    """Two parcels on a road; zone A (24 m, FAR 2, 30 %, green 35 %) over the west one,
    zone B (100 m, FAR 6, 50 %, no green ratio) over the east one; setbacks 5 m."""
    store = make_city(tmp_path)
    path = tmp_path / "layers.gpkg"
    _layer(path, "buildings", [
        {"ref": "B1", "height": 36.0, "building_levels": 12, "geometry": _box(10, 10, 30, 30)},
        {"ref": "B2", "height": None, "building_levels": 4, "geometry": _box(50, 20, 70, 40)},
        {"ref": "B3", "height": 60.0, "building_levels": 20, "geometry": _box(110, 2, 190, 45)},
    ])  # fmt: skip
    _layer(path, "parcels", [{"parcel_no": "P1", "geometry": _box(0, 0, 100, 50)},
                             {"parcel_no": "P2", "geometry": _box(100, 0, 200, 50)}])  # fmt: skip
    _layer(path, "roads", [{"name": "south", "geometry": LineString(
        [(X0 - 50, Y0 - 10), (X0 + 250, Y0 - 10)])}])  # fmt: skip
    _layer(path, "greens", [{"name": "lawn", "geometry": _box(0, 40, 100, 50)}])
    _layer(path, "zones", [
        {"编号": "A", "控高": 24, "容积率": 2.0, "建筑密度": 30, "绿地率": 35, "退线": 5,
         "geometry": _box(-20, -20, 100, 70)},
        {"编号": "B", "控高": 100, "容积率": 6.0, "建筑密度": 50, "绿地率": None, "退线": 5,
         "geometry": _box(100, -20, 220, 70)},
    ])  # fmt: skip
    import_vector(store, path, VectorOptions(layer="buildings", id_field="ref"))
    import_vector(store, path, VectorOptions(layer="parcels", cls="parcel", id_field="parcel_no"))
    import_vector(store, path, VectorOptions(layer="roads", cls="road"))
    if green:
        import_vector(store, path, VectorOptions(layer="greens", cls="green"))
    import_zones(store, path, layer="zones")
    return store


def _run(store: CityStore, **parameters: object) -> SimulationResult:
    spec = model("zoning")
    params = spec.parameters_type(**parameters)
    messages: list[int] = []
    result = spec.run(ModelInputs(store, store.city_dir, Scope.everything()), params,
                      lambda percent, _message: messages.append(percent))  # fmt: skip
    assert messages[0] == 0 and messages == sorted(messages)
    return result


def _violations(result: SimulationResult) -> dict[tuple[str, str], dict[str, object]]:
    layer = next(v for v in result.vectors if v.name == "violations")
    return {(f.properties["object_id"], f.properties["indicator"]): f.properties
            for f in layer.features}  # fmt: skip


def test_every_violation_is_listed_with_its_amount(tmp_path: Path) -> None:
    result = _run(_city(tmp_path))
    found = _violations(result)
    assert set(found) == {("buildings:B1", "height"), ("buildings:B3", "setback"),
                          ("parcels:P1", "green_ratio"), ("parcels:P2", "far"),
                          ("parcels:P2", "coverage")}  # fmt: skip
    height = found[("buildings:B1", "height")]
    assert (height["limit"], height["actual"], height["amount"]) == (24, 36, 12)
    assert height["unit"] == "m"
    assert height["zone_code"] == "A" and height["object_kind"] == "building"
    assert found[("buildings:B3", "setback")]["amount"] == pytest.approx(3.0)  # 5 m asked, 2 m
    far = found[("parcels:P2", "far")]  # 80 x 43 m x 20 storeys on 5 000 m²
    assert far["actual"] == pytest.approx(13.76) and far["amount"] == pytest.approx(7.76)
    assert far["object_name"] == "P2"
    assert found[("parcels:P2", "coverage")]["amount"] == pytest.approx(0.188)
    assert found[("parcels:P1", "green_ratio")]["amount"] == pytest.approx(0.15)
    summary = result.summary
    assert (summary["buildings_checked"], summary["parcels_checked"]) == (3, 2)
    assert summary["violations"] == 5 and summary["violations_by_indicator"] == {
        "height": 1, "setback": 1, "far": 1, "coverage": 1, "green_ratio": 1}  # fmt: skip
    assert summary["not_assessed_by_indicator"]["green_ratio"] == 1  # zone B sets none


def test_per_object_values_colour_buildings_and_parcels(tmp_path: Path) -> None:
    result = _run(_city(tmp_path))
    values = {v.name: v for v in result.values}
    assert values["zoning_status"].values == {
        "buildings:B1": "violation", "buildings:B2": "ok", "buildings:B3": "violation",
        "parcels:P1": "violation", "parcels:P2": "violation"}  # fmt: skip
    assert values["height_excess_m"].values == {"buildings:B1": 12.0, "buildings:B2": -12.0,
                                                "buildings:B3": -40.0}  # fmt: skip
    assert values["far_excess"].values == {"parcels:P1": pytest.approx(-0.72),
                                           "parcels:P2": pytest.approx(7.76)}  # fmt: skip
    assert values["zoning_status"].details["buildings:B1"]["height"]["zone_code"] == "A"
    zones = {f.properties["zone_code"]: f.properties for f in result.vectors[1].features}
    assert zones["A"]["violations"] == 2 and zones["B"]["violations"] == 3
    (chart,) = result.charts
    assert chart.kind == "bar" and chart.series[0].y == [1.0, 1.0, 1.0, 1.0, 1.0]


def test_tolerance_and_indicator_subset_are_applied_and_recorded(tmp_path: Path) -> None:
    result = _run(_city(tmp_path), indicators=["height"], height_tolerance_m=12.5)
    assert result.summary["violations"] == 0 and result.summary["parcels_checked"] == 0
    assert result.parameters["height_tolerance_m"] == 12.5
    assert result.parameters["indicators"] == ["height"]
    assert _run(_city(tmp_path / "2"), indicators=["height"]).summary["violations"] == 1


def test_without_a_green_layer_the_green_ratio_is_not_assessed(tmp_path: Path) -> None:
    result = _run(_city(tmp_path, green=False))
    assert ("parcels:P1", "green_ratio") not in _violations(result)
    assert result.summary["not_assessed_by_indicator"]["green_ratio"] == 2


def test_a_city_without_zones_or_with_bad_parameters_is_refused(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    with pytest.raises(
        ModelError, match="the city has no zones in 'zone' over the objects in scope: import"
    ):
        _run(store)
    with pytest.raises(pydantic.ValidationError, match="height_tolerance_m"):
        model("zoning").parameters_type(height_tolerance_m=-1)
    with pytest.raises(pydantic.ValidationError, match="indicators"):
        model("zoning").parameters_type(indicators=["beauty"])
    with pytest.raises(pydantic.ValidationError, match="extra"):
        model("zoning").parameters_type(colour="red")


def test_a_zone_imported_without_checks_with_a_bad_value_is_refused(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    path = tmp_path / "plain.gpkg"
    _layer(path, "zones", [{"容积率": -1.0, "geometry": _box(0, 0, 10, 10)}])
    import_vector(store, path, VectorOptions(layer="zones", cls="zone"))  # the GIS import
    with pytest.raises(ModelError, match=r"zone zones:1: 容积率 \(max_far\) = -1.0: expected"):
        _run(store)


def test_zones_can_be_named_by_their_source(tmp_path: Path) -> None:
    result = _run(_city(tmp_path), zone_layer="layers.gpkg#zones")
    assert result.summary["zones"] == 2 and result.summary["violations"] == 5


HELSINKI_LIMIT = 30.0


def test_helsinki_buildings_above_a_height_limit_are_the_violations(
    shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "vector" / "helsinki_center_osm.gpkg"
    store = make_city(tmp_path, "EPSG:3067")
    imported = import_vector(store, path, VectorOptions(layer="buildings")).imported
    frame = gpd.read_file(path, layer="buildings").to_crs("EPSG:3067")
    zone = box(*frame.total_bounds).buffer(50)
    gpd.GeoDataFrame([{"控高": HELSINKI_LIMIT, "geometry": zone}], crs="EPSG:3067").to_file(
        tmp_path / "zone.gpkg", driver="GPKG")  # fmt: skip
    import_zones(store, tmp_path / "zone.gpkg")
    # independently of the import: height, else 3 m per level, else the 10 m default
    height = frame["height"].where(frame["height"] > 0)
    effective = height.fillna(frame["building_levels"].where(frame["building_levels"] > 0) * 3.0)
    effective = effective.fillna(10.0)
    ways = frame["osm_way_id"].fillna("")
    ids = [f"buildings:way/{w}" if w else f"buildings:relation/{r}"
           for w, r in zip(ways, frame["osm_id"], strict=True)]  # fmt: skip
    expected = {i: h - HELSINKI_LIMIT for i, h in zip(ids, effective, strict=True)
                if h > HELSINKI_LIMIT}  # fmt: skip
    result = _run(store, indicators=["height"])
    found = {oid: p["amount"] for (oid, _), p in _violations(result).items()}
    assert len(expected) >= 3 and found == pytest.approx(expected)
    assert result.summary["buildings_checked"] == imported
    measured = pd.Series(frame["height"]).dropna()
    assert set(np.round(measured[measured > HELSINKI_LIMIT] - HELSINKI_LIMIT, 3)) <= set(
        found.values()
    )  # the measured heights among them
