"""The zones import: columns mapped to the standard indicators, values checked, nothing
stored on error; and the command line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from api.cli import app
from cim.gis import GisError
from cim.scope import Scope
from cim.store import CityStore
from cim.zones import ZoneValueError, import_zones, zone_indicators
from tests.conftest import LOCAL_CRS, make_city

X0, Y0 = 430000.0, 2557000.0


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    gpd.GeoDataFrame(rows, geometry="geometry", crs=LOCAL_CRS).to_file(path, driver="GPKG")
    return path


def _chinese_zones(path: Path) -> Path:
    return _write(path, [
        {"单元编号": "TH-A", "控高": 24, "容积率": 2.5, "建筑密度": 35, "绿地率": 30, "退线": 8,
         "用地性质": "R2", "geometry": box(X0, Y0, X0 + 100, Y0 + 100)},
        {"单元编号": "TH-B", "控高": 100, "容积率": 6.0, "建筑密度": 50, "绿地率": None, "退线": 5,
         "用地性质": "B1", "geometry": box(X0 + 100, Y0, X0 + 200, Y0 + 100)},
    ])  # fmt: skip


def test_chinese_columns_are_recognised_and_percentages_converted(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    done = import_zones(store, _chinese_zones(tmp_path / "zones.gpkg"))
    assert done.columns["max_height_m"] == "控高" and done.columns["max_far"] == "容积率"
    assert set(done.percent_columns) == {"max_coverage", "min_green_ratio"}
    stored = store.objects(cls="zone", scope=Scope.everything())
    zones = {z.attributes["zone_code"]: z for z in stored}
    assert set(zones) == {"TH-A", "TH-B"}
    a = zone_indicators(zones["TH-A"].attributes, "TH-A")
    assert (a.max_height_m, a.max_far, a.max_coverage, a.min_green_ratio, a.setback_m) == (
        24,
        2.5,
        pytest.approx(0.35),
        pytest.approx(0.30),
        8,
    )
    assert a.land_use == "R2" and zones["TH-A"].attributes["控高"] == 24  # the source kept
    assert zone_indicators(zones["TH-B"].attributes, "TH-B").min_green_ratio is None


def test_fractions_stay_fractions_and_named_columns_win(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    path = _write(tmp_path / "z.gpkg", [
        {"code": "Z1", "H_LIMIT": 30.0, "density": 0.4, "height_limit": 99.0,
         "geometry": box(X0, Y0, X0 + 50, Y0 + 50)},
    ])  # fmt: skip
    done = import_zones(store, path, {"max_height_m": "H_LIMIT", "max_coverage": "density"})
    assert done.percent_columns == []
    (zone,) = store.objects(cls="zone", scope=Scope.everything())
    assert (zone.attributes["max_height_m"], zone.attributes["max_coverage"]) == (30.0, 0.4)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("容积率", -1.0, "容积率 (max_far) = '-1.0': expected a floor area ratio above 0"),
        ("容积率", 0.0, "容积率 (max_far) = '0.0': expected a floor area ratio above 0"),
        ("建筑密度", 140, "建筑密度 (max_coverage) = '140': expected a ratio in 0..1 or a"),
        ("控高", 1200, "控高 (max_height_m) = '1200': expected 0..1000 m"),
        ("退线", "far", "退线 (setback_m) = 'far': not a number"),
    ],
)
def test_a_bad_value_is_refused_naming_feature_and_field_and_nothing_is_stored(
    tmp_path: Path, column: str, value: object, message: str
) -> None:
    store = make_city(tmp_path)
    rows = gpd.read_file(_chinese_zones(tmp_path / "good.gpkg"))
    rows[column] = rows[column].astype(object)
    rows.loc[1, column] = value
    bad = tmp_path / "bad.gpkg"
    rows.to_file(bad, driver="GPKG")
    with pytest.raises(ZoneValueError) as raised:
        import_zones(store, bad)
    assert f"bad.gpkg layer bad, feature 2 (TH-B): {message}" in str(raised.value)
    assert store.objects(cls="zone", scope=Scope.everything()) == []
    assert store.sources(scope=Scope.everything()) == []


def test_a_layer_without_any_limit_column_is_refused(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    path = _write(tmp_path / "z.gpkg", [{"name": "x", "geometry": box(X0, Y0, X0 + 9, Y0 + 9)}])
    with pytest.raises(GisError, match="no column gives a zone limit"):
        import_zones(store, path)
    with pytest.raises(GisError, match="the max_far column 'FAR' does not exist"):
        import_zones(store, path, {"max_far": "FAR"})


def test_the_command_imports_and_a_bad_file_exits_non_zero(tmp_path: Path) -> None:
    make_city(tmp_path).close()
    city = tmp_path / "city"
    runner = CliRunner()
    good = _chinese_zones(tmp_path / "zones.gpkg")
    result = runner.invoke(app, ["import", "zones", str(good), "--city", str(city)])
    assert result.exit_code == 0, result.output
    assert "2 of 2 zones imported" in result.output and "max_far <- 容积率" in result.output
    bad = _write(tmp_path / "bad.gpkg", [
        {"控高": -3, "geometry": box(X0, Y0, X0 + 9, Y0 + 9)},
    ])  # fmt: skip
    result = runner.invoke(app, ["import", "zones", str(bad), "--city", str(city)])
    assert result.exit_code == 1
    assert "控高 (max_height_m) = -3" in result.output
    with CityStore.open(city) as store:
        assert len(store.objects(cls="zone", scope=Scope.everything())) == 2
    named = _write(tmp_path / "named.gpkg", [
        {"FAR_X": 3.5, "H": 50, "geometry": box(X0, Y0, X0 + 9, Y0 + 9)},
    ])  # fmt: skip
    args = ["import", "zones", str(named), "--city", str(city), "--far-field", "FAR_X",
            "--max-height-field", "H", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"max_far": "FAR_X"' in result.output and '"max_height_m": "H"' in result.output
    with CityStore.open(city) as store:
        zones = store.objects(cls="zone", scope=Scope.everything())
        assert [(z.attributes["max_far"], z.attributes["max_height_m"]) for z in zones][-1] == (
            3.5,
            50,
        )
