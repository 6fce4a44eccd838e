"""Context while looking into the city, in Debian's Chromium at 1366x768: the camera frames
an isolated storey in the part of the canvas the panels leave free, the horizontal cut starts
in the building at hand with a storey-scale range, the layer tree counts buildings and names
parcels, the status speaks of readiness (tiles only in the debug view), the measure tool
lets go after Esc and after a result, the isolation section explains itself, and the ground
is drawn before any imagery has arrived.

One city (the planner city with a parcel layer) is served for the module, one page shared.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.conftest import (
    ViewerPage,
    api,
    changed_pixels,
    checked_page,
    new_page,
    opened_viewer,
    render,
    reset_view,
    screenshot,
    serve,
    wait_for_flight,
)
from tests.viewer.planner_city import PARCELS as PLANNER_PARCELS

pytestmark = pytest.mark.browser

PARCELS = len(PLANNER_PARCELS)  # the planner city has its parcel layer


@pytest.fixture(scope="module")
def server(small_planner_city: Path) -> Iterator[str]:
    with serve(small_planner_city) as url:
        yield url


@pytest.fixture(scope="module")
def viewer(server: str, browser: Any) -> Iterator[ViewerPage]:
    with opened_viewer(browser, server, timeout_ms=90_000) as opened:  # software rendering
        yield opened


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    """The shared page; no console error may appear during a test."""
    reset = reset_view("a.measure.clear();")
    with checked_page(viewer, reset) as page:
        yield page
    viewer.page.click("[data-tab=layers]")


def on_screen(page: Any, lon: float, lat: float, height: float) -> dict[str, float] | None:
    spot: dict[str, float] | None = page.evaluate(
        "([lon, lat, h]) => window.cimtwin.screenPositionOf(lon, lat, h)", [lon, lat, height]
    )
    return spot


def centre_on_screen(page: Any, extent: dict[str, Any]) -> dict[str, float] | None:
    centre = extent["center"]
    return on_screen(page, centre["lon"], centre["lat"], centre["height"])


def building(page: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = api(page, f"/api/search?q={name.replace(' ', '%20')}")["results"][0]
    return found


def test_isolation_section_explains_itself_before_any_isolation(page: Any) -> None:
    page.click("[data-tab=tools]")
    text = page.inner_text("#isolation-tool")
    assert "未隔离" in text and "隔离楼层" in text
    page.click("#lang-toggle")
    assert "Isolate storey" in page.inner_text("#isolation-tool")
    page.click("#lang-toggle")


def test_status_reads_ready_and_counts_tiles_only_in_the_debug_view(page: Any) -> None:
    assert page.inner_text("#status") == "就绪"
    assert page.evaluate("window.cimtwin.context.debug") is False
    page.evaluate("window.cimtwin.context.setDebug(true)")
    assert "瓦片" in page.inner_text("#status")
    assert page.evaluate("document.body.classList.contains('debug')") is True
    page.evaluate("window.cimtwin.context.setDebug(false)")
    assert page.inner_text("#status") == "就绪"


def test_layer_tree_counts_buildings_and_names_parcels(page: Any) -> None:
    counts = page.evaluate("window.cimtwin.city.objects_by_class")
    bim = page.locator("[data-layer=bim]")
    assert bim.locator(".layer-count").inner_text() == "2" == str(counts["IfcBuilding"])
    ifc_objects = sum(n for cls, n in counts.items() if cls.startswith("Ifc"))
    assert ifc_objects > 20
    assert str(ifc_objects) in (bim.get_attribute("title") or "")
    assert page.locator("[data-layer=gis] .layer-count").inner_text() == "3"

    parcels = page.locator("[data-layer=parcels]")
    assert parcels.locator(".layer-name").inner_text() == "地块"
    assert parcels.locator(".layer-count").inner_text() == str(PARCELS)
    assert page.locator("[data-layer=other]").count() == 0
    parcels.locator(".layer-visible").click()
    assert page.evaluate("window.cimtwin.style.layers.parcels.visible") is False
    parcels.locator(".layer-visible").click()
    page.click("#lang-toggle")
    assert page.locator("[data-layer=parcels] .layer-name").inner_text() == "Parcels"
    screenshot(page, "context-layer-tree")
    page.click("#lang-toggle")


def test_isolated_storey_is_framed_beside_the_panels(page: Any) -> None:
    hall = building(page, "South Hall")
    storeys = api(page, f"/api/objects?class=IfcBuildingStorey&building={hall['id']}")["objects"]
    level2 = next(s for s in storeys if s["name"] == "Level 2")
    page.evaluate("(id) => window.cimtwin.select(id)", level2["id"])
    page.wait_for_selector("#info:not([hidden])")
    page.evaluate("(id) => window.cimtwin.isolateStorey(id)", level2["id"])
    wait_for_flight(page)

    area = page.evaluate("window.cimtwin.freeArea()")
    sidebar = page.locator("#sidebar").bounding_box()
    info = page.locator("#info").bounding_box()
    assert area["left"] == pytest.approx(sidebar["x"] + sidebar["width"], abs=1)
    assert area["right"] == pytest.approx(info["x"], abs=1)
    extent = api(page, f"/api/objects/{level2['id']}/extent")
    centre = centre_on_screen(page, extent)
    assert centre is not None
    assert abs(centre["x"] - area["x"]) < 12 and abs(centre["y"] - area["y"]) < 12, (centre, area)
    west, south, east, north = extent["bbox"]
    for lon in (west, east):
        for lat in (south, north):
            for height in (extent["base_height"], extent["top_height"]):
                corner = on_screen(page, lon, lat, height)
                assert corner is not None
                assert area["left"] < corner["x"] < area["right"], (corner, area)
                assert area["top"] < corner["y"] < area["bottom"], (corner, area)
    # The storey fills a fair part of the free area (not a speck far away).
    floor = [
        on_screen(page, x, y, extent["base_height"]) for x in (west, east) for y in (south, north)
    ]
    xs = [spot["x"] for spot in floor if spot is not None]
    assert max(xs) - min(xs) > 0.3 * area["width"]
    screenshot(page, "context-storey-framed")


def test_cut_starts_in_the_selected_building_with_a_storey_scale_range(page: Any) -> None:
    hall = building(page, "South Hall")
    extent = api(page, f"/api/objects/{hall['id']}/extent")
    page.evaluate("(id) => window.cimtwin.select(id)", hall["id"])
    page.wait_for_function("(id) => window.cimtwin.selected?.id === id", arg=hall["id"])
    page.evaluate("(id) => window.cimtwin.flyToObject(id)", hall["id"])
    wait_for_flight(page)
    page.click("[data-tab=tools]")
    before = screenshot(page, "context-before-cut")
    page.check("#clip-enable")
    page.wait_for_function("!document.querySelector('#clip-up').disabled")
    render(page)
    after = screenshot(page, "context-cut-building")
    base, top = extent["base_height"], extent["top_height"]
    cut = page.evaluate("window.cimtwin.clip.at.height")
    assert cut == pytest.approx((base + top) / 2, abs=0.01)
    low = float(page.get_attribute("#clip-height", "min") or "nan")
    high = float(page.get_attribute("#clip-height", "max") or "nan")
    assert low <= base and high >= top and high - low <= top - base + 4
    assert changed_pixels(page, before, after) > 0.005, "the cut removed nothing"
    page.click("#clip-up")
    assert page.evaluate("window.cimtwin.clip.at.height") == pytest.approx(cut + 3, abs=0.01)
    page.click("#clip-down")
    page.click("#clip-down")
    assert page.evaluate("window.cimtwin.clip.at.height") == pytest.approx(cut - 3, abs=0.01)
    page.uncheck("#clip-enable")
    assert page.evaluate("window.cimtwin.clip.enabled") is False

    # Nothing selected: a plan cut through every building, over a few storeys' range.
    page.evaluate("window.cimtwin.clearSelection()")
    page.check("#clip-enable")
    page.wait_for_function("window.cimtwin.clip.enabled")
    ground = page.evaluate("window.cimtwin.city.center.height")
    assert page.evaluate("window.cimtwin.clip.at.height") == pytest.approx(ground + 1.2, abs=0.01)
    high = float(page.get_attribute("#clip-height", "max") or "nan")
    assert high - ground <= 61
    page.uncheck("#clip-enable")


def test_measure_lets_go_after_esc_and_after_a_result(page: Any) -> None:
    page.click("[data-tab=tools]")
    distance = page.locator("[data-measure=distance]")
    distance.click()
    assert "active" in (distance.get_attribute("class") or "")
    page.keyboard.press("Escape")
    assert "active" not in (distance.get_attribute("class") or "")
    assert page.evaluate("window.cimtwin.measure.active") is False

    hall = building(page, "North Hall")
    extent = page.evaluate("(id) => window.cimtwin.flyToObject(id)", hall["id"])
    wait_for_flight(page)
    target = centre_on_screen(page, extent)
    assert target is not None
    distance.click()
    page.mouse.click(target["x"] - 160, target["y"] + 150)
    page.mouse.click(target["x"] + 160, target["y"] + 150)
    page.wait_for_function("window.cimtwin.measure.last && window.cimtwin.measure.last.value > 0")
    assert "active" not in (distance.get_attribute("class") or "")
    screenshot(page, "context-measured")
    # The next click on the building picks it: the tool is no longer armed.
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("window.cimtwin.selected !== null", timeout=20_000)
    assert page.evaluate("window.cimtwin.selected.building_id") == hall["id"]
    assert page.evaluate("window.cimtwin.measure.points.length") == 0


def test_ground_is_drawn_before_imagery_arrives(browser: Any, server: str) -> None:
    page = new_page(browser, server)
    page.set_default_timeout(90_000)
    held: list[Any] = []
    page.route("**/Assets/Textures/NaturalEarthII/**", lambda route: held.append(route))
    try:
        page.goto(server + "/")
        page.wait_for_function("window.cimtwin && window.cimtwin.state === 'ready'", timeout=90_000)
        assert held, "the base map was not asked for"
        assert page.evaluate("window.cimtwin.viewer.imageryLayers.length") == 0
        render(page)
        shot = screenshot(page, "context-ground-before-imagery")
        # Share of the canvas right of the sidebar and under the top bar that is near black.
        dark = page.evaluate(
            """async (data) => {
                const blob = await (await fetch('data:image/png;base64,' + data)).blob();
                const bitmap = await createImageBitmap(blob);
                const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
                const context = canvas.getContext('2d');
                context.drawImage(bitmap, 0, 0);
                const x0 = 300, y0 = 60;
                const [w, h] = [bitmap.width - x0 - 80, bitmap.height - y0];
                const pixels = context.getImageData(x0, y0, w, h).data;
                let dark = 0;
                for (let i = 0; i < pixels.length; i += 4) {
                    if (pixels[i] < 45 && pixels[i + 1] < 45 && pixels[i + 2] < 45) dark += 1;
                }
                return dark / (pixels.length / 4);
            }""",
            base64.b64encode(shot).decode(),
        )
        assert dark < 0.05, f"{dark:.1%} of the view is black before the imagery"
    finally:
        for route in held:
            route.abort()
        page.close()
