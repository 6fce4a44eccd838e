"""The planner's viewer in Debian's Chromium at 1366x768: offline load, tiles on screen,
language, search, picking, layers, colouring by data, isolation, clipping and measuring.

One page is opened for the module (a load costs seconds of software rendering); each test
puts the view back as it found it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.viewer.conftest import (
    ViewerPage,
    api,
    changed_pixels,
    checked_page,
    render,
    reset_view,
    screenshot,
    viewer_at,
    wait_for_flight,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer(small_planner_city: Path, browser: Any) -> Iterator[ViewerPage]:
    with viewer_at(browser, small_planner_city) as opened:
        yield opened


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    """The shared page; no console error may appear during a test."""
    reset = reset_view("await a.colorBy(null);", "a.measure.clear();")
    with checked_page(viewer, reset) as page:
        yield page


def test_loads_offline_and_draws_tiles(viewer: ViewerPage, page: Any) -> None:
    hosts = {urlparse(u).netloc for u in viewer.requests if u.startswith(("http:", "https:"))}
    assert hosts == {urlparse(page.url).netloc}, f"requests left the server: {hosts}"
    assert not [u for u in viewer.requests if "ion" in urlparse(u).netloc]
    assert [u for u in viewer.requests if u.endswith(".glb")], "no glb tile was requested"
    metrics = page.evaluate("window.cimtwin.metrics")
    assert metrics["firstTileMs"] is not None and metrics["firstTileMs"] > 0
    assert page.viewport_size == {"width": 1366, "height": 768}

    render(page)
    with_tiles = screenshot(page, "planner-loaded")
    page.evaluate("window.cimtwin.tileset.show = false")
    render(page)
    without_tiles = screenshot(page, "planner-no-tiles")
    page.evaluate("window.cimtwin.tileset.show = true")
    render(page)
    share = changed_pixels(page, with_tiles, without_tiles)
    assert share > 0.02, f"the tiles change only {share:.2%} of the canvas"


def test_chinese_by_default_then_english(page: Any) -> None:
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("[data-tab=layers]") == "图层"
    assert "BIM 建筑" in page.inner_text("#layer-tree")
    assert page.get_attribute("#search-input", "placeholder") == "搜索编号、名称或地址"
    page.click("#lang-toggle")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("[data-tab=layers]") == "Layers"
    assert "BIM buildings" in page.inner_text("#layer-tree")
    assert page.inner_text("#status") == "ready"  # the tile count is for the debug view
    assert page.evaluate("localStorage.getItem('cimtwin.lang')") == "en"
    screenshot(page, "planner-english")
    page.click("#lang-toggle")
    assert page.inner_text("[data-tab=tools]") == "工具"
    assert "个对象" in page.inner_text("#object-count")


def test_layer_tree_visibility_opacity_and_empty_layers(page: Any) -> None:
    rows = page.locator("#layer-tree [data-layer]")
    keys = [rows.nth(i).get_attribute("data-layer") for i in range(rows.count())]
    assert keys[:3] == ["bim", "gis", "roads"]
    assert {"terrain", "imagery", "sensors", "incidents", "simulation"} <= set(keys)
    page.wait_for_function("window.cimtwin.sensors.loaded && window.cimtwin.incidents.loaded")
    for empty in ("sensors", "incidents", "simulation"):
        row = page.locator(f"[data-layer={empty}]")
        assert "暂无数据" in row.inner_text()
        # sensors and incidents may come at any time: their layers can be switched while empty
        assert row.locator(".layer-visible").is_disabled() == (empty == "simulation")

    stats = page.evaluate("window.cimtwin.featureStats()")
    assert stats["byLayer"]["gis"]["shown"] == 3 and stats["byLayer"]["bim"]["shown"] > 20
    page.click("[data-layer=gis] .layer-visible")
    render(page)
    hidden = page.evaluate("window.cimtwin.featureStats()")["byLayer"]
    assert hidden["gis"]["shown"] == 0 and hidden["bim"] == stats["byLayer"]["bim"]
    page.click("[data-layer=gis] .layer-visible")
    page.locator("[data-layer=bim] .layer-opacity").fill("40")
    render(page)
    alpha = page.evaluate(
        """() => { const s = window.cimtwin.style; const t = window.cimtwin.tileset.root;
            const find = (tile) => { const c = tile.content;
                for (let i = 0; c && i < c.featuresLength; i++) {
                    const f = c.getFeature(i);
                    if (!String(f.getProperty('id')).includes(':')) return f; }
                for (const child of tile.children) { const f = find(child); if (f) return f; } };
            return {layer: s.layers.bim.opacity, feature: find(t).color.alpha}; }"""
    )
    assert alpha == {"layer": 0.4, "feature": pytest.approx(0.4)}
    screenshot(page, "planner-bim-translucent")
    page.locator("[data-layer=bim] .layer-opacity").fill("100")
    page.click("[data-layer=imagery] .layer-visible")
    assert page.evaluate("window.cimtwin.viewer.imageryLayers.get(0).show") is False
    page.click("[data-layer=imagery] .layer-visible")
    assert page.evaluate("window.cimtwin.viewer.imageryLayers.get(0).show") is True


def test_search_by_name_and_address_flies_to_the_object(page: Any) -> None:
    page.fill("#search-input", "South Hall")
    page.wait_for_selector("#search-results .search-item")
    assert page.inner_text("#search-results .search-item >> nth=0").startswith("South Hall")
    page.press("#search-input", "Enter")
    page.wait_for_function("window.cimtwin.selected?.name === 'South Hall'")
    wait_for_flight(page)
    building = page.evaluate("window.cimtwin.selected")
    assert page.get_attribute("#info", "data-object-id") == building["id"]
    p = building["position"]
    spot = page.evaluate(
        "([lon, lat, h]) => window.cimtwin.screenPositionOf(lon, lat, h)",
        [p["lon"], p["lat"], p["height"] * 0.8],
    )
    assert spot is not None and abs(spot["x"] - 683) < 300 and abs(spot["y"] - 384) < 250
    screenshot(page, "planner-search")

    page.fill("#search-input", "天河路")
    page.wait_for_function(
        "document.querySelector('#search-results').textContent.includes('天河路 103号')"
    )
    assert page.locator("#search-results .search-item").count() == 2
    assert "地址: 天河路 101号" in page.inner_text("#search-results")
    page.fill("#search-input", "zzz-nothing")
    page.wait_for_selector("#search-results .search-message")
    page.press("#search-input", "Escape")


def test_pick_shows_attributes_psets_and_spatial_path(page: Any) -> None:
    hall = api(page, "/api/search?q=North%20Hall")["results"][0]
    page.evaluate("(id) => window.cimtwin.flyToObject(id)", hall["id"])
    wait_for_flight(page)
    extent = api(page, f"/api/objects/{hall['id']}/extent")
    target = page.evaluate(
        "([lon, lat, h]) => window.cimtwin.screenPositionOf(lon, lat, h)",
        [extent["center"]["lon"], extent["center"]["lat"], extent["center"]["height"]],
    )
    assert target is not None
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("window.cimtwin.selected !== null", timeout=20_000)
    picked = page.evaluate("window.cimtwin.selected")
    assert picked["building_id"] == hall["id"]
    panel = page.locator("#info")
    assert panel.get_attribute("data-object-id") == picked["id"]
    path = page.inner_text("#info-path")
    assert "Planner district" in path and "North Hall" in path
    assert picked["class"] in panel.inner_text()
    if picked["psets"]:
        assert page.locator("#info details[data-pset]").count() >= 1
    assert page.locator("[data-action=isolate-building]").count() == 1
    screenshot(page, "planner-picked")
    page.click('#info-path button.step >> text="North Hall"')
    page.wait_for_function(
        "(id) => window.cimtwin.selected && window.cimtwin.selected.id === id", arg=hall["id"]
    )
    wait_for_flight(page)


def test_isolate_a_building_then_a_storey_cut_open(page: Any) -> None:
    hall = api(page, "/api/search?q=South%20Hall")["results"][0]
    storeys = api(page, f"/api/objects?class=IfcBuildingStorey&building={hall['id']}")["objects"]
    level2 = next(s for s in storeys if s["name"] == "Level 2")
    members = api(page, f"/api/objects?building={hall['id']}&limit=1000")["objects"]
    in_building = {o["id"] for o in members} | {hall["id"]}
    on_storey = {o["id"] for o in members if o["storey"] == level2["id"]}

    page.evaluate("(id) => window.cimtwin.isolateBuilding(id)", hall["id"])
    render(page)
    shown = set(page.evaluate("window.cimtwin.featureStats().shownIds"))
    assert shown and shown <= in_building
    assert "South Hall" in page.inner_text("#isolation")

    page.evaluate("(id) => window.cimtwin.isolateStorey(id)", level2["id"])
    wait_for_flight(page)
    shown = set(page.evaluate("window.cimtwin.featureStats().shownIds"))
    assert shown and shown <= on_storey, shown - on_storey
    assert page.evaluate("window.cimtwin.clip.enabled") is True
    cut = page.evaluate("window.cimtwin.clip.at.height")
    extent = api(page, f"/api/objects/{level2['id']}/extent")
    assert extent["base_height"] < cut < extent["top_height"]
    assert page.get_attribute("#isolation", "data-storey") == level2["id"]
    assert "Level 2" in page.inner_text("#isolation")
    screenshot(page, "planner-storey")

    page.click("#isolation-clear")
    render(page)
    stats = page.evaluate("window.cimtwin.featureStats()")
    assert stats["shown"] == stats["total"]
    assert page.evaluate("window.cimtwin.clip.enabled") is False
    assert page.is_hidden("#isolation")


def test_colour_by_use_and_by_an_api_attribute_with_a_legend(page: Any) -> None:
    page.click("[data-tab=style]")
    page.select_option("#color-by", "use")
    page.wait_for_selector("#legend:not([hidden])")
    legend = page.inner_text("#legend")
    assert "office (3)" in legend and "residential (1)" in legend and "无数据" in legend
    colours = page.evaluate(
        """() => { const seen = {}; const visit = (tile) => { const c = tile.content;
                for (let i = 0; c && i < c.featuresLength; i++) { const f = c.getFeature(i);
                    seen[f.getProperty('id')] = f.color.toCssHexString(); }
                tile.children.forEach(visit); };
            visit(window.cimtwin.tileset.root); return seen; }"""
    )
    assert colours["blocks:b1"] != colours["blocks:b2"]  # residential, office
    assert colours["blocks:b3"] not in (colours["blocks:b1"], colours["blocks:b2"])
    screenshot(page, "planner-colour-use")

    page.select_option("#color-by", "year")
    page.wait_for_function("document.querySelector('#legend-title').textContent === '建成年份'")
    # three years, three classes (one per value), not ranges of round width
    classes = page.locator("#legend-items .legend-class").all_inner_texts()
    assert classes[:3] == ["1998", "2005", "2012"]

    page.select_option("#color-by", "custom")
    page.fill("#color-attr", "addr:street")
    page.click("#color-apply")
    page.wait_for_function("document.querySelector('#legend-title').textContent === 'addr:street'")
    assert "体育西路 8号 (1)" in page.inner_text("#legend")
    page.select_option("#color-by", "none")
    page.wait_for_selector("#legend", state="hidden")
    page.click("[data-tab=layers]")


def test_measure_distance_height_and_area(page: Any) -> None:
    city = page.evaluate("window.cimtwin.city.center")
    lon, lat, h = city["lon"], city["lat"], city["height"]
    metres_per_degree_lon = 111_320 * math.cos(math.radians(lat))
    result = page.evaluate(
        """([lon, lat, h, dlon, dlat]) => { const m = window.cimtwin.measure;
            const at = (x, y, z) =>
                Cesium.Cartesian3.fromDegrees(lon + x * dlon, lat + y * dlat, h + z);
            m.start('distance'); m.addPoint(at(0, 0, 0)); m.addPoint(at(100, 0, 0));
            const distance = m.last.value;
            m.start('height'); m.addPoint(at(0, 0, 2)); m.addPoint(at(5, 5, 17));
            const height = m.last.value;
            m.start('area');
            [[0, 0], [20, 0], [20, 20], [0, 20]].forEach(([x, y]) => m.addPoint(at(x, y, 0)));
            m.finish();
            return {distance, height, area: m.last.value, perimeter: m.last.perimeter,
                    text: document.querySelector('#measure-result').textContent}; }""",
        [lon, lat, h, 1 / metres_per_degree_lon, 1 / 110_574],
    )
    assert result["distance"] == pytest.approx(100, rel=0.01)
    assert result["height"] == pytest.approx(15, abs=0.01)
    assert result["area"] == pytest.approx(400, rel=0.02)
    assert result["perimeter"] == pytest.approx(80, rel=0.02)
    assert "面积" in result["text"]

    # With the mouse: two clicks on the scene give a distance.
    page.click("[data-tab=tools]")
    page.click("[data-measure=distance]")
    page.mouse.click(600, 450)
    page.mouse.click(760, 470)
    page.wait_for_function("window.cimtwin.measure.last && window.cimtwin.measure.last.value > 0")
    assert "距离" in page.inner_text("#measure-result")
    screenshot(page, "planner-measure")
    page.click("[data-measure=clear]")
    page.click("[data-tab=layers]")


def test_clipping_plane_tool_and_compass(page: Any) -> None:
    page.evaluate("window.cimtwin.home()")
    wait_for_flight(page)
    page.click("[data-tab=tools]")
    render(page)
    before = screenshot(page, "planner-before-clip")
    page.check("#clip-enable")
    page.locator("#clip-height").fill(page.get_attribute("#clip-height", "min") or "0")
    render(page)
    after = screenshot(page, "planner-clipped")
    assert page.evaluate("window.cimtwin.clip.enabled") is True
    assert changed_pixels(page, before, after) > 0.01, "the cut removed nothing"
    page.uncheck("#clip-enable")
    assert page.evaluate("window.cimtwin.clip.enabled") is False

    page.evaluate(
        "() => { const c = window.cimtwin.viewer.camera;"
        " c.setView({orientation: {heading: Math.PI / 2, pitch: c.pitch, roll: 0}}); }"
    )
    render(page)
    assert "rotate(-90" in page.get_attribute("#compass-needle", "style")
    page.click("#compass")
    wait_for_flight(page)
    heading = page.evaluate("window.cimtwin.viewer.camera.heading")
    assert min(heading, 2 * math.pi - heading) < 0.02
    page.click("[data-tab=layers]")
