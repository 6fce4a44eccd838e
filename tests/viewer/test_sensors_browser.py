"""Live sensors in the viewer, in Debian's Chromium: markers coloured by level, buildings by
the worst level of their sensors, a new observation recolouring a marker and its building
without a reload, a click on a marker opening its zoomable chart, and the zh-CN page."""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth.state import auth_state_of, configure
from api.events import event_hub_of
from api.sta.linking import city_placement
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore
from simulation.sensors.times import format_time
from tests.sensor_rows import HOUR_US, add_datastream
from tests.signin import signed_in
from tests.viewer.conftest import APPS, ViewerPage, open_viewer, render, screenshot, serve

pytestmark = pytest.mark.browser

TOWN = "440106001000"
LIMITS = {"warning": 2.0, "alarm": 3.0}
MINUTE_US = 60 * 1_000_000
# The markers' colours (viewer/src/sensors.js)
CSS = {"normal": "#2fb351", "warning": "#f5a623", "alarm": "#e5322d", "stale": "#8b939c",
       "unknown": "#ffffff"}  # fmt: skip


@dataclass(frozen=True)
class SensorCity:
    folder: Path
    ids: dict[str, int]  # datastream id by name
    buildings: dict[str, str]  # "north", "south", "block" -> object id
    levels: dict[str, str]  # expected level by sensor name


def _now_us() -> int:
    return time.time_ns() // 1000


@pytest.fixture(scope="module")
def sensor_city(small_planner_city: Path, tmp_path_factory: pytest.TempPathFactory) -> SensorCity:
    """The planner's city (a copy) with five sensors: normal in North Hall's first storey
    (three days of minute values), warning in South Hall, stale on Block One, unknown
    (no value yet) on the street."""
    folder = tmp_path_factory.mktemp("sensor-city") / "city"
    shutil.copytree(small_planner_city, folder, ignore=shutil.ignore_patterns("ops.sqlite*"))
    everything = Scope.everything()
    with CityStore.open(folder) as store:
        halls = {o.name: o for o in store.objects(cls="IfcBuilding", scope=everything)}
        north, south = halls["North Hall"], halls["South Hall"]
        storey = store.objects(cls="IfcBuildingStorey", building_id=north.id, scope=everything)[0]
        block = next(o for o in store.objects(cls="building", scope=everything)
                     if o.name == "Block One")  # fmt: skip
        street = store.objects(cls="road", scope=everything)[0]
        places = {key: city_placement(store, everything, obj.id)
                  for key, obj in (("north", storey), ("south", south), ("block", block),
                                   ("street", street))}  # fmt: skip
    now = _now_us()
    minutes = [(now - (3 * 24 * 60 - i) * MINUTE_US, 1.0 + (i % 600) / 1000) for i in range(4320)]
    plan = {
        "North Hall strain": ("north", storey.id, minutes),
        "South Hall humidity": ("south", south.id, [(now - MINUTE_US, 2.5)]),
        "Block One power": ("block", block.id, [(now - 5 * HOUR_US, 1.0)]),
        "Tianhe Road noise": ("street", None, []),
    }
    ids = {}
    with OpsDatabase.for_city(folder) as db:
        for name, (key, city_object, values) in plan.items():
            place = places[key]
            ids[name] = add_datastream(
                db, name=name, jurisdiction=TOWN, city_object=city_object, lon=place.lon,
                lat=place.lat, height=place.height, thresholds=LIMITS, observations=values,
            )  # fmt: skip
    levels = {"North Hall strain": "normal", "South Hall humidity": "warning",
              "Block One power": "stale", "Tianhe Road noise": "unknown"}  # fmt: skip
    buildings = {"north": north.id, "south": south.id, "block": block.id}
    return SensorCity(folder, ids, buildings, levels)


@pytest.fixture(scope="module")
def server(sensor_city: SensorCity) -> Iterator[str]:
    with serve(sensor_city.folder) as url:
        yield url


@pytest.fixture(scope="module")
def viewer(server: str, browser: Any) -> Iterator[ViewerPage]:
    opened = open_viewer(browser, server)
    opened.page.wait_for_function(
        "window.cimtwin.sensors.loaded && window.cimtwin.sensors.streamState === 'open'",
        timeout=30_000,
    )
    yield opened
    opened.page.close()


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    before = len(viewer.errors)
    yield viewer.page
    assert viewer.errors[before:] == [], f"console errors: {viewer.errors[before:]}"


def _pixel(page: Any, x: float, y: float) -> list[int]:
    """The page's rendered colour at (x, y), from a screenshot (RGB)."""
    render(page)
    clip = {"x": round(x) - 1, "y": round(y) - 1, "width": 3, "height": 3}
    png = page.screenshot(clip=clip)
    rgb: list[int] = page.evaluate(
        """async (data) => {
            const blob = await (await fetch('data:image/png;base64,' + data)).blob();
            const bitmap = await createImageBitmap(blob);
            const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
            const context = canvas.getContext('2d');
            context.drawImage(bitmap, 0, 0);
            const [r, g, b] = context.getImageData(1, 1, 1, 1).data;
            return [r, g, b];
        }""",
        base64.b64encode(png).decode(),
    )
    return rgb


def _close_to(rgb: list[int], css: str, tolerance: int = 40) -> bool:
    wanted = [int(css[i : i + 2], 16) for i in (1, 3, 5)]
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, wanted, strict=True))


def _marker_pixel(page: Any, datastream: int) -> list[int]:
    spot = page.evaluate("(id) => window.cimtwin.sensors.screenPosition(id)", datastream)
    assert spot is not None, f"marker {datastream} is off screen"
    return _pixel(page, spot["x"], spot["y"])


def _building_css(page: Any, building: str) -> str | None:
    """The colour the tiles' style gives the first loaded feature of ``building``."""
    css: str | None = page.evaluate(
        """(building) => {
            const app = window.cimtwin;
            let found = null;
            const visit = (tile) => {
                const content = tile.content;
                for (let i = 0; !found && content && i < content.featuresLength; i += 1) {
                    const f = content.getFeature(i);
                    if (f.getProperty('id') === building || f.getProperty('building') === building)
                        found = f;
                }
                for (const child of tile.children) if (!found) visit(child);
            };
            visit(app.tileset.root);
            if (!found) return null;
            return app.style.colorOf(found, new Cesium.Color()).toCssHexString().slice(0, 7);
        }""",
        building,
    )
    return css


def test_markers_and_buildings_take_their_levels_colours(
    page: Any, sensor_city: SensorCity
) -> None:
    sensors = page.evaluate(
        "Object.fromEntries([...window.cimtwin.sensors.sensors.values()]"
        ".map((s) => [s.name, s.level]))"
    )
    assert sensors == sensor_city.levels
    for name, level in sensor_city.levels.items():
        datastream = sensor_city.ids[name]
        assert (
            page.evaluate("(id) => window.cimtwin.sensors.markerCss(id)", datastream) == CSS[level]
        )
        if level != "unknown":  # drawn hollow: a white ring round what lies behind
            rgb = _marker_pixel(page, datastream)
            assert _close_to(rgb, CSS[level]), (name, rgb)
    for key, level in (("north", "normal"), ("south", "warning"), ("block", "stale")):
        assert _building_css(page, sensor_city.buildings[key]) == CSS[level], key
    row = page.inner_text("[data-layer=sensors]")
    assert "传感器" in row and "4" in row and "告警" in row
    page.click("[data-layer=sensors] .layer-visible")
    render(page)
    assert page.evaluate("window.cimtwin.style.sensorColors") is None
    assert _building_css(page, sensor_city.buildings["south"]) != CSS["warning"]
    page.click("[data-layer=sensors] .layer-visible")
    assert _building_css(page, sensor_city.buildings["south"]) == CSS["warning"]


def _observe(url: str, datastream: int, value: float) -> None:
    """Send a new value now through SensorThings, as a device does: the server stores it and
    publishes its event with the level it gives."""
    headers = signed_in(APPS[url], roles=("operator",), jurisdiction=TOWN)
    body = {"result": value, "phenomenonTime": format_time(_now_us()),
            "Datastream": {"@iot.id": datastream}}  # fmt: skip
    answer = httpx.post(f"{url}/sta/v1.1/Observations", json=body, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text


def test_a_new_observation_recolours_without_reload(
    page: Any, server: str, sensor_city: SensorCity
) -> None:
    page.evaluate("window.__sameDocument = true")
    north = sensor_city.ids["North Hall strain"]
    _observe(server, north, 3.4)
    page.wait_for_function(
        "(id) => window.cimtwin.sensors.markerCss(id) === '#e5322d'", arg=north, timeout=10_000
    )
    assert _close_to(_marker_pixel(page, north), CSS["alarm"])
    assert _building_css(page, sensor_city.buildings["north"]) == CSS["alarm"]
    assert page.evaluate("window.__sameDocument") is True


def test_the_stream_opens_again_after_it_ends(
    viewer: ViewerPage, page: Any, server: str, sensor_city: SensorCity
) -> None:
    app = APPS[server]

    def tickets() -> int:
        return sum("/api/sensors/stream/ticket" in url for url in viewer.requests)

    before = tickets()
    connections = page.evaluate("window.cimtwin.sensors.connections")
    lifetime = auth_state_of(app).config
    configure(app, config=replace(lifetime, access_lifetime=timedelta(seconds=1)))
    try:  # streams now end after a second: the page takes a new ticket each time
        page.evaluate("window.cimtwin.sensors.connect()")
        page.wait_for_function(
            "(n) => window.cimtwin.sensors.connections >= n", arg=connections + 2, timeout=15_000
        )
    finally:
        configure(app, config=lifetime)
    assert tickets() >= before + 2
    time.sleep(1.5)  # the last short stream ends; the next one lasts
    page.wait_for_function("window.cimtwin.sensors.streamState === 'open'")
    south = sensor_city.ids["South Hall humidity"]
    _observe(server, south, 3.2)
    page.wait_for_function(
        "(id) => window.cimtwin.sensors.markerCss(id) === '#e5322d'", arg=south, timeout=10_000
    )
    assert _building_css(page, sensor_city.buildings["south"]) == CSS["alarm"]


def test_a_broken_stream_resumes_with_what_happened_meanwhile(
    viewer: ViewerPage, page: Any, server: str, sensor_city: SensorCity
) -> None:
    hub = event_hub_of(APPS[server])
    page.wait_for_function("window.cimtwin.sensors.streamState === 'open'")
    page.evaluate("""() => {  // the connection breaks
        const sensors = window.cimtwin.sensors;
        sensors.stream.close();
        sensors.stream = null;
    }""")
    received, resume_from = page.evaluate(
        "[window.cimtwin.sensors.events, window.cimtwin.sensors.lastEventId]"
    )
    assert resume_from.startswith(hub.boot + "-")
    published = hub.last_id
    annex = sensor_city.ids["North Hall strain"]
    _observe(server, annex, 1.25)
    deadline = time.monotonic() + 10
    while hub.last_id == published:  # the event is out while no stream is open
        assert time.monotonic() < deadline, "the observation was not published"
        time.sleep(0.05)
    page.evaluate("window.cimtwin.sensors.connect()")
    page.wait_for_function(
        "(id) => window.cimtwin.sensors.sensors.get(id).result === 1.25", arg=annex, timeout=10_000
    )
    assert page.evaluate("window.cimtwin.sensors.events") > received  # through the stream
    opened = [url for url in viewer.requests if "/api/sensors/stream?" in url][-1]
    assert f"lastEventId={resume_from}" in opened


def test_a_click_on_a_marker_opens_its_zoomable_chart(
    page: Any, server: str, sensor_city: SensorCity
) -> None:
    north = sensor_city.ids["North Hall strain"]
    spot = page.evaluate("(id) => window.cimtwin.sensors.screenPosition(id)", north)
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_selector("#sensor-panel[data-chart=loaded]", timeout=15_000)
    assert page.inner_text("#sensor-title") == "North Hall strain"
    state = page.evaluate("window.cimtwin.sensors.chartState")
    assert state["resolution"] == "5min" and state["rows"] > 800
    assert page.locator("#sensor-chart svg path.line").count() == 1
    assert page.locator("#sensor-chart svg path.band").count() == 1
    assert "5min" in page.inner_text("#sensor-chart-status")

    # a new value while the chart is open: the value and the chart follow
    requests = state["requests"]
    _observe(server, north, 1.5)
    page.wait_for_function(
        "(n) => window.cimtwin.sensors.chartState.requests > n"
        " && window.cimtwin.sensors.chartState.state === 'loaded'",
        arg=requests,
    )
    assert page.inner_text("#sensor-panel .sensor-value") == "1.5"
    assert page.get_attribute("#sensor-panel", "data-level") == "normal"
    # the last interval holds the alarm (3.4) and the value after it: the chart reaches it
    ticks = page.locator("#sensor-chart svg text.tick.y").evaluate_all(
        "(texts) => texts.map((text) => text.textContent)"
    )
    assert max(float(tick) for tick in ticks) == pytest.approx(3.4)

    # wheel over the chart: a narrower span, asked again at a finer resolution
    box = page.locator("#sensor-chart svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    for _ in range(4):
        page.mouse.wheel(0, -200)
    page.wait_for_function(
        "window.cimtwin.sensors.chartState.state === 'loaded'"
        " && window.cimtwin.sensors.chartState.resolution !== '5min'",
        timeout=10_000,
    )
    zoomed = page.evaluate("window.cimtwin.sensors.chartState")
    assert zoomed["resolution"] in (None, "5s", "10s", "30s", "1min")
    assert zoomed["start"] > state["start"]
    screenshot(page, "sensors-chart-zh")
    page.dblclick("#sensor-chart svg")
    page.wait_for_function("window.cimtwin.sensors.chartState.resolution === '5min'")
    page.click("#sensor-close")
    assert page.is_hidden("#sensor-panel")


def test_an_objects_panel_lists_its_sensors(page: Any, sensor_city: SensorCity) -> None:
    page.evaluate("(id) => window.cimtwin.select(id)", sensor_city.buildings["north"])
    page.wait_for_selector("#info details.sensors .sensor-item")
    assert "North Hall strain" in page.inner_text("#info details.sensors")
    page.click("#info details.sensors .sensor-item")
    page.wait_for_selector("#sensor-panel[data-chart=loaded]")
    assert page.is_hidden("#info")
    assert "时间序列" in page.inner_text("#sensor-panel")
    screenshot(page, "sensors-zh")
    page.evaluate("window.cimtwin.setLanguage('en')")
    text = page.inner_text("#sensor-panel")
    assert "Time series" in text and "observed" in text and "intervals of 5min" in text
    assert "alarm" in page.inner_text("[data-layer=sensors]")
    page.evaluate("window.cimtwin.setLanguage('zh-CN')")
    page.click("#sensor-close")
