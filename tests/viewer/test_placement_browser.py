"""Guided placement of an IFC upload without georeference, in Debian's Chromium: preview,
a click on the map, the terrain height, a rotation, warnings before anything is stored, the
origin used and the report's findings in Chinese, the fly to the model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from cim.crs import transform_arrays
from cim.gis import VectorOptions, import_vector
from cim.raster import import_dem, sample_heights
from cim.scope import Scope
from cim.store import CityStore
from tests.cim.test_raster import DEM
from tests.conftest import OPEN_HOUSE, shared_data_dir
from tests.viewer.conftest import ARTIFACTS, open_viewer, render, serve
from tiles.terrain import write_terrain
from tiles.tileset import write_tileset

pytestmark = pytest.mark.browser
CRS = "EPSG:32614"


def build_city(folder: Path) -> tuple[Path, tuple[float, float]]:
    """Nine GIS blocks near Fort Worth on its DEM and terrain; tiled. Return open ground."""
    x, y = transform_arrays("EPSG:4326", CRS, np.array([-97.33]), np.array([32.70]))
    x0, y0 = float(x[0]), float(y[0])
    blocks = [box(x0 + 60 * i, y0 + 60 * j, x0 + 60 * i + 20, y0 + 60 * j + 20)
              for i in range(3) for j in range(3)]  # fmt: skip
    path = folder / "blocks.gpkg"
    gpd.GeoDataFrame({"height": [12.0] * 9}, geometry=blocks, crs=CRS).to_file(path, layer="b")
    with CityStore.create(folder / "city", CRS, "Fort Worth") as store:
        import_vector(store, path, VectorOptions())
        import_dem(store, DEM)
        write_tileset(store)
        write_terrain(store.city_dir, max_level=15)
    return folder / "city", (x0 + 200.0, y0 + 60.0)  # east of the blocks


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    city, ground = build_city(tmp_path_factory.mktemp("placement-city"))
    with serve(city) as url:
        yield url, city, ground


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = transform_arrays(CRS, "EPSG:4326", np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def test_an_upload_without_georeference_is_placed_on_the_map(server: Any, browser: Any) -> None:
    url, city, (x, y) = server
    terrain = float(sample_heights(city, CRS, np.array([[x, y]]))[0])
    lon, lat = lonlat(x, y)
    viewer = open_viewer(browser, url)  # Chinese, the default language
    page = viewer.page

    # the hint keeps its CRS after a language switch (and back)
    page.locator("#import-open").dispatch_event("click")
    page.wait_for_function("document.querySelector('#import-hint').textContent.includes('MB')")
    for language in ("en", "zh-CN"):
        page.evaluate(f"window.cimtwin.setLanguage('{language}')")
        hint = page.inner_text("#import-hint")
        assert CRS in hint and "MB" in hint, (language, hint)
    assert "城市坐标系" in hint
    page.locator("#import-close").dispatch_event("click")

    page.evaluate(
        """([lon, lat, h]) => {
            const viewer = window.cimtwin.viewer;
            viewer.camera.lookAt(Cesium.Cartesian3.fromDegrees(lon, lat, h),
                new Cesium.HeadingPitchRange(0.4, -0.6, 260));
            viewer.camera.lookAtTransform(Cesium.Matrix4.IDENTITY);
        }""",
        [lon, lat, terrain],
    )
    page.wait_for_function(
        """([lon, lat, expected]) => {
            const scene = window.cimtwin.viewer.scene;
            scene.requestRender();
            const h = scene.globe.getHeight(Cesium.Cartographic.fromDegrees(lon, lat));
            return h !== undefined && Math.abs(h - expected) < 3;
        }""",
        arg=[lon, lat, terrain],
        timeout=60_000,
        polling=250,
    )

    # the file is previewed: it has no georeference, so it asks for a place
    page.locator("#import-open").dispatch_event("click")
    page.set_input_files("#import-files", str(shared_data_dir() / "ifc" / OPEN_HOUSE))
    page.wait_for_function("window.cimtwin.placement.state.preview !== null", timeout=60_000)
    assert page.get_attribute("#place-panel", "data-needs") == "yes"
    assert "没有地理参照" in page.inner_text("#place-note")
    page.locator("#import-upload").dispatch_event("click")  # refused: no place yet
    assert page.get_attribute("#import-dialog", "data-state") == "error"
    assert page.evaluate("window.cimtwin.lastJob") is None

    # a click on the map places it at the terrain's height there
    page.locator("#place-pick").dispatch_event("click")
    assert page.locator("#place-banner").is_visible()
    assert not page.locator("#import-dialog").is_visible()
    spot = page.evaluate(
        "([lon, lat, h]) => window.cimtwin.screenPositionOf(lon, lat, h)", [lon, lat, terrain]
    )
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_function("window.cimtwin.placement.state.modelReady", timeout=60_000)
    placed = page.evaluate("window.cimtwin.placement.state.placement")
    assert math.hypot(placed["origin"][0] - x, placed["origin"][1] - y) < 3.0
    assert placed["origin"][2] == pytest.approx(placed["terrain_height"])
    assert placed["terrain_height"] == pytest.approx(terrain, abs=1.0)
    assert placed["warnings"] == []
    assert page.get_attribute("#import-dialog", "data-state") == "idle"  # the refusal is gone
    assert page.locator("#import-dialog").is_visible() and page.locator("#place-banner").is_hidden()
    assert f"({CRS})" in page.inner_text("#place-where")
    centre = page.evaluate("window.cimtwin.placement.modelCenter()")
    assert math.hypot(*(np.subtract(lonlat(*placed["origin"][:2]), (centre["lon"], centre["lat"])))
                      ) < 1e-4  # fmt: skip

    # the rotation turns the preview: its +X runs (rotation - grid north) from true east
    page.fill("#place-rotation", "90")
    page.dispatch_event("#place-rotation", "input")
    page.wait_for_function("window.cimtwin.placement.state.placement.rotation_deg === 90")
    angle = page.evaluate(
        """() => {
            const p = window.cimtwin.placement;
            const m = p.model.modelMatrix;
            const x = Cesium.Matrix4.multiplyByPointAsVector(m, Cesium.Cartesian3.UNIT_X,
                new Cesium.Cartesian3());
            const enu = Cesium.Transforms.eastNorthUpToFixedFrame(
                Cesium.Matrix4.getTranslation(m, new Cesium.Cartesian3()));
            const local = Cesium.Matrix4.multiplyByPointAsVector(
                Cesium.Matrix4.inverseTransformation(enu, new Cesium.Matrix4()), x,
                new Cesium.Cartesian3());
            return Cesium.Math.toDegrees(Math.atan2(local.y, local.x));
        }"""
    )
    grid_north = placed["grid_north_deg"]
    assert 0.5 < grid_north < 1.5
    assert angle == pytest.approx(90.0 - grid_north, abs=0.01)
    render(page)
    page.screenshot(path=str(ARTIFACTS / "placement-preview.png"))

    # sunk 6 m: warned before anything is stored; a second click imports anyway
    page.fill("#place-height", f"{terrain - 6:.2f}")
    page.dispatch_event("#place-height", "input")
    warning = page.locator('#place-warnings li[data-code="below-terrain"]')
    warning.wait_for(timeout=30_000)
    assert "地形以下" in warning.inner_text()
    page.screenshot(path=str(ARTIFACTS / "placement-warning.png"))
    page.fill("#place-height", f"{terrain:.2f}")
    page.dispatch_event("#place-height", "input")
    warning.wait_for(state="detached", timeout=30_000)
    page.fill("#place-height", f"{terrain - 6:.2f}")
    page.dispatch_event("#place-height", "input")
    warning.wait_for(timeout=30_000)
    page.locator("#import-upload").dispatch_event("click")
    assert page.get_attribute("#import-dialog", "data-state") == "warned"
    assert page.evaluate("window.cimtwin.lastJob") is None
    with CityStore.open(city) as store:
        assert "IfcBuilding" not in store.counts_by_class(scope=Scope.everything())
    page.fill("#place-height", f"{terrain:.2f}")
    page.dispatch_event("#place-height", "input")
    warning.wait_for(state="detached", timeout=30_000)
    page.locator("#import-upload").dispatch_event("click")
    page.wait_for_function(
        "window.cimtwin.lastJob && ['succeeded', 'failed'].includes(window.cimtwin.lastJob.status)",
        timeout=120_000,
    )
    job = page.evaluate("window.cimtwin.lastJob")
    assert job["status"] == "succeeded", job
    georef = job["result"]["reports"][0]["georeference"]
    assert georef["method"] == "user origin" and georef["rotation_deg"] == pytest.approx(90.0)
    assert georef["origin"][2] == pytest.approx(terrain, abs=0.01)

    # the report: the origin used, the findings in Chinese; then the camera flies to it
    page.wait_for_function("window.cimtwin.placement.state.preview === null", timeout=60_000)
    report = page.locator(f'#import-result section.report[data-source="{OPEN_HOUSE}"]')
    used = report.locator("dd.origin-used").inner_text()
    assert f"E {georef['origin'][0]:.3f}" in used and CRS in used
    findings = report.locator("ul.findings").inner_text()
    assert "长度单位" in findings and "毫米" in findings and "用户指定原点" in findings
    camera = page.evaluate(
        "(() => { const c = window.cimtwin.viewer.camera.positionCartographic;"
        " return [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude)]; })()"
    )
    assert math.hypot((camera[0] - lon) * 93_000, (camera[1] - lat) * 111_000) < 400
    page.screenshot(path=str(ARTIFACTS / "placement-imported.png"))
    page.evaluate("window.cimtwin.setLanguage('en')")
    report = page.locator(f'#import-result section.report[data-source="{OPEN_HOUSE}"]')
    assert "length unit: millimetre" in report.locator("ul.findings").inner_text()
    assert not viewer.errors, viewer.errors
    page.close()
