"""The Simulate tab in Debian's Chromium (SwiftShader) at 1366x768.

A probe model defined here (registered for the test's server) is run from the panel: its
form comes from the JSON schema, the job's progress shows, the result draws a raster (an
imagery layer more), a vector layer and a legend whose class colour is the one a building
gets, the summary and two charts; two runs are compared; the labels come in Chinese and
English; the sun view moves Cesium's sun and gives the fixed light back.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import box

import simulation.models
from api.jobs import JobQueue
from cim.results import (
    Chart,
    ChartSeries,
    Feature,
    ObjectValues,
    Progress,
    RasterLayer,
    SimulationResult,
    VectorLayer,
)
from simulation.models.spec import ModelInputs, ModelSpec
from tests.viewer.conftest import ViewerPage, checked_page, opened_viewer, screenshot, serve
from tests.viewer.planner_city import BLOCKS, E, N

pytestmark = pytest.mark.browser

VALUES_TITLE = "Probe depth"
CELL = 5.0  # metres, the probe raster's cells
GRID = 20  # cells a side


class ProbeParameters(BaseModel):
    """The probe's parameters: a bounded number, an optional one, an enum, a flag."""

    model_config = ConfigDict(extra="forbid")
    water_level: float = Field(10.0, ge=0, le=50, description="level of the probe, metres")
    rain_volume_m3: float | None = Field(None, ge=0, description="unused, optional")
    shape: Literal["flat", "slope"] = Field("slope", description="how the raster varies")
    mark_blocks: bool = Field(True, description="give the GIS blocks a value")
    pause_s: float = Field(1.5, ge=0, le=5, description="seconds spent half-way")
    source: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        None, description="[longitude, latitude] picked on the map"
    )
    layers: list[Literal["raster", "vector"]] = Field(
        ["raster", "vector"], description="unused: several of an enum"
    )
    proposed_footprint: dict[str, Any] | None = Field(
        None, description="unused: a GeoJSON Polygon in lon/lat drawn on the map"
    )
    proposed_height: float | None = Field(None, gt=0, le=300, description="its height, metres")


def run_probe(inputs: ModelInputs, params: ProbeParameters, progress: Progress) -> SimulationResult:
    """Values by building (IFC buildings: the level; block i: the level plus i), a
    raster west of the halls, one polygon, a line chart and a bar chart."""
    level = params.water_level
    progress(30, "probing the buildings")
    time.sleep(params.pause_s)
    values: dict[str, float | str | None] = {}
    for obj in inputs.store.objects(scope=inputs.scope):
        if obj.cls == "IfcBuilding":
            values[obj.id] = level
    if params.mark_blocks:
        for i, block in enumerate(BLOCKS, start=1):
            values[f"blocks:{block[0]}"] = level + i
    details = {f"blocks:{b[0]}": {"block_ref": b[0]} for b in BLOCKS}
    progress(60, "drawing the layers")
    ramp = np.linspace(0.0, 1.0, GRID, dtype=np.float32)
    array = np.tile(ramp if params.shape == "slope" else np.ones(GRID, np.float32), (GRID, 1))
    array = (array * level).astype(np.float32)
    array[0, :] = np.nan
    x0, y0 = E - 100.0, N + 20.0
    raster = RasterLayer("depth", "Probe depth grid", "m", array,
                         (x0, CELL, 0.0, y0, 0.0, -CELL), inputs.store.crs)  # fmt: skip
    area = box(E - 100.0, N - 30.0, E - 60.0, N + 10.0)
    vector = VectorLayer("extent", "Probe extent", [Feature(area, {"level": level})],
                         inputs.store.crs)  # fmt: skip
    levels = [0.0, level / 2, level]
    charts = [
        Chart("area", "Area against level", "level (m)", "area (m²)", "line",
              [ChartSeries("area", list(levels), [v * 100.0 for v in levels])]),
        Chart("blocks", "Value per block", "block", "value", "bar",
              [ChartSeries("value", [b[0] for b in BLOCKS],
                           [level + i for i in range(1, len(BLOCKS) + 1)])]),
    ]  # fmt: skip
    return SimulationResult(
        model="probe",
        parameters=params.model_dump(mode="json"),
        summary={"flooded_area_m2": level * 100.0, "probed_buildings": len(values)},
        rasters=[raster],
        vectors=[vector],
        values=[ObjectValues("depth", VALUES_TITLE, "m", values, details)],
        charts=charts,
    )


MODEL = ModelSpec("probe", "Probe", "探针", "A model of the browser test.", ProbeParameters,
                  run_probe)  # fmt: skip


@pytest.fixture(scope="module")
def viewer(
    small_planner_city: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ViewerPage]:
    """The viewer on a copy of the planner city whose jobs run in this process (the probe
    model is registered here only), closed afterwards."""
    city = tmp_path_factory.mktemp("simulation") / "city"
    shutil.copytree(small_planner_city, city)
    stop = threading.Event()

    def drain() -> None:
        queue = JobQueue(city)
        while not stop.is_set():
            if not queue.drain():
                stop.wait(0.2)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(simulation.models.MODULES, "probe", __name__)
        worker = threading.Thread(target=drain, daemon=True)
        worker.start()
        try:
            with serve(city, worker=False) as url, opened_viewer(browser, url, 60_000) as opened:
                yield opened
        finally:
            stop.set()
            worker.join(timeout=30)


def run_from_panel(page: Any, level: float) -> dict[str, Any]:
    """Set the water level in the form, press Run, wait until the result is shown."""
    page.fill('[data-param="water_level"] input[type="number"]', str(level))
    page.click(".sim-run")
    page.wait_for_function(
        "() => { const s = window.cimtwin.simulation.state();"
        " return !s.busy && s.result.run && s.result.rasters.length && s.result.coloring"
        " && window.cimtwin.style.coloring && !document.getElementById('legend').hidden; }"
    )
    state: dict[str, Any] = page.evaluate("window.cimtwin.simulation.state()")
    assert state["error"] is None, state["error"]
    return state


def check_layer_tree_row(page: Any, run: str) -> None:
    """The layer tree's 模拟结果 row holds the open run: its two map layers hide, fade and
    come back together, over the Simulate tab's own boxes."""
    page.click("[data-tab=layers]")
    row = page.locator(f'[data-layer="simulation"][data-run="{run}"]')
    assert row.locator(".layer-count").inner_text() == "2"  # the depth raster and the extent
    model = page.locator(".sim-result .sim-run-head b").text_content()
    assert model and row.locator(".layer-note").inner_text() == model
    result = "window.cimtwin.simulation.result.state()"
    row.locator(".layer-visible").click()
    state = page.evaluate(result)
    assert [r["show"] for r in state["rasters"] + state["vectors"]] == [False, False]
    row.locator(".layer-opacity").fill("40")
    state = page.evaluate(result)
    assert state["mapLayer"]["alpha"] == [pytest.approx(0.75 * 0.4)]
    row.locator(".layer-visible").click()
    state = page.evaluate(result)
    assert [r["show"] for r in state["rasters"] + state["vectors"]] == [True, True]
    assert state["mapLayer"] == {"visible": True, "opacity": 0.4, "alpha": [pytest.approx(0.3)]}
    screenshot(page, "simulation-layer-row")
    row.locator(".layer-opacity").fill("100")
    page.click('[data-tab="simulation"]')


def test_a_run_from_the_panel_is_shown_coloured_charted_and_compared(viewer: ViewerPage) -> None:
    with checked_page(viewer) as page:
        page.evaluate("window.cimtwin.setLanguage('zh-CN')")
        tab = page.locator('[data-tab="simulation"]')
        assert tab.text_content() == "模拟"
        tab.click()
        page.wait_for_function("window.cimtwin.simulation.state().loaded")
        page.select_option(".sim-model", "probe")
        assert page.locator(".sim-model option:checked").text_content() == "探针"
        kinds = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('.sim-field')]"
            ".map((f) => [f.dataset.param, f.dataset.kind]))"
        )
        assert kinds == {"water_level": "range", "rain_volume_m3": "number", "shape": "select",
                         "mark_blocks": "boolean", "pause_s": "range", "source": "point",
                         "layers": "multi", "proposed_footprint": "polygon",
                         "proposed_height": "range"}  # fmt: skip
        # a point picked on the map
        page.click('[data-param="source"] button')
        page.mouse.click(900, 420)
        picked = page.evaluate("window.cimtwin.simulation.form.values().source")
        center = page.evaluate("window.cimtwin.city.center")
        assert abs(picked[0] - center["lon"]) < 0.01 and abs(picked[1] - center["lat"]) < 0.01
        # a footprint drawn on the map, raised as the proposed building
        page.click('[data-param="proposed_footprint"] button')
        for x, y in ((860, 380), (960, 380), (960, 460)):
            page.mouse.click(x, y)
        page.click('[data-param="proposed_footprint"] button')
        footprint = page.evaluate("window.cimtwin.simulation.form.values().proposed_footprint")
        ring = footprint["coordinates"][0]
        assert footprint["type"] == "Polygon" and len(ring) == 4 and ring[0] == ring[-1]
        page.fill('[data-param="proposed_height"] input[type="number"]', "30")
        assert page.evaluate("window.cimtwin.simulation.sun.state().proposed")
        page.click('[data-param="proposed_footprint"] button:has-text("清除")')
        assert not page.evaluate("window.cimtwin.simulation.sun.state().proposed")
        assert page.evaluate("window.cimtwin.simulation.form.values().layers") == [
            "raster",
            "vector",
        ]
        label = page.locator('[data-param="water_level"] .sim-label')
        assert label.text_content() == "水位"
        # the optional volume is left out: the model's default (None) applies
        assert "rain_volume_m3" not in page.evaluate("window.cimtwin.simulation.form.values()")

        simulation_row = page.locator('[data-layer="simulation"]')
        assert "empty" in (simulation_row.get_attribute("class") or "")
        assert simulation_row.locator(".layer-visible").is_disabled()
        layers_before = page.evaluate("window.cimtwin.viewer.imageryLayers.length")
        first = run_from_panel(page, 10)
        screenshot(page, "simulation-result")
        log = first["jobLog"]
        assert any(e["status"] == "running" and 0 < e["progress"] < 100 for e in log), log
        assert log[-1]["status"] == "succeeded"
        assert page.evaluate("window.cimtwin.viewer.imageryLayers.length") == layers_before + 1
        assert first["result"]["vectors"] == [{"name": "extent", "show": True, "features": 1}]
        assert first["result"]["rasters"][0]["max"] == pytest.approx(10.0)
        charts = {c["name"]: c["marks"] for c in first["result"]["charts"]}
        assert charts == {"area": 3, "blocks": 3}
        check_layer_tree_row(page, first["result"]["run"])
        area = page.locator('.sim-summary dd[data-key="flooded_area_m2"]')
        assert area.text_content() == "1,000 m²"
        assert page.locator(".sim-summary dt").first.text_content() == "淹没面积"
        assert page.locator("#legend-title").text_content() == f"{VALUES_TITLE}（m）"  # noqa: RUF001

        # Block b2 holds 12: its colour is that of the legend's class for 12.
        colours = page.evaluate(
            """() => {
                const app = window.cimtwin;
                let feature = null;
                const visit = (tile) => {
                    const c = tile.content;
                    for (let i = 0; c && i < c.featuresLength && !feature; i += 1) {
                        const f = c.getFeature(i);
                        if (f.getProperty('id') === 'blocks:b2') feature = f;
                    }
                    for (const child of tile.children) visit(child);
                };
                visit(app.tileset.root);
                const entry = app.style.coloring.entries.find((e) => e.matches(12));
                const row = [...document.querySelectorAll('#legend-items .legend-class')]
                    .find((b) => b.dataset.class === String(entry.index));
                return {
                    feature: app.style.colorOf(feature, new Cesium.Color()).toCssHexString(),
                    swatch: Cesium.Color.fromCssColorString(row.dataset.color).toCssHexString(),
                    label: row.textContent,
                };
            }"""
        )
        assert colours["feature"] == colours["swatch"], colours
        assert colours["label"] == "12 m"

        # the selected block's result, with its details
        page.evaluate("window.cimtwin.select('blocks:b2')")
        selected = page.locator('.sim-selection[data-object="blocks:b2"]')
        selected.wait_for()
        assert selected.locator("dd").all_text_contents() == ["12 m", "b2"]
        page.evaluate("window.cimtwin.clearSelection()")

        second = run_from_panel(page, 20)
        assert second["result"]["run"] != first["result"]["run"]
        assert second["runs"][:2] == [second["result"]["run"], first["result"]["run"]]
        for side, run in (("a", first), ("b", second)):
            row = f'.sim-run-row[data-run="{run["result"]["run"]}"]'
            page.check(f'{row} input[name="sim-compare-{side}"]')
        page.click(".sim-compare-btn")
        differences = page.locator('.sim-differences[data-values="depth"]')
        differences.wait_for()
        assert differences.get_attribute("data-count") == "5"  # two halls and three blocks
        compared = page.locator('.sim-compare-table tr[data-key="flooded_area_m2"] td')
        assert compared.all_text_contents() == ["1,000 m²", "2,000 m²", "1,000 m²"]
        assert page.locator('.sim-raster-diff[data-raster="depth"]').count() == 1
        screenshot(page, "simulation-compare")

        page.evaluate("window.cimtwin.setLanguage('en')")
        assert tab.text_content() == "Simulate"
        assert label.text_content() == "Water level"
        assert page.locator(".sim-model option:checked").text_content() == "Probe"
        assert page.locator(".sim-summary dt").first.text_content() == "Flooded area"
        assert page.locator(".sim-run").text_content() == "Run"
        page.evaluate("window.cimtwin.setLanguage('zh-CN')")


def test_the_sun_view_moves_the_sun_and_gives_the_fixed_light_back(viewer: ViewerPage) -> None:
    with checked_page(viewer) as page:
        fixed = page.evaluate("window.cimtwin.theme.lighting.state()")
        state = page.evaluate(
            """() => {
                const sim = window.cimtwin.simulation;
                sim.sun.setVisible(true);
                sim.sun.enter();
                sim.sun.setInstant('2026-01-20', 12 * 60);
                sim.sun.showProposed([[113.3, 23.1], [113.3001, 23.1], [113.3001, 23.1001]], 30);
                return sim.sun.state();
            }"""
        )
        lon = page.evaluate("window.cimtwin.city.center.lon")
        # true solar noon at the city's longitude, less the equation of time (about -11 min)
        noon_utc = 12 * 60 - 4 * lon + 11
        hours, minutes = (int(part) for part in state["time"][11:16].split(":"))
        assert abs(hours * 60 + minutes - noon_utc) <= 2, (state, noon_utc)
        assert state["lightIsSun"] and state["shadows"] and state["proposed"]
        back = page.evaluate("window.cimtwin.simulation.sun.setVisible(false);"
                             " window.cimtwin.theme.lighting.state()")  # fmt: skip
        assert back["lightIsSun"] is False
        assert back["time"] == fixed["time"]
        assert back["direction"] == pytest.approx(fixed["direction"])
        after = page.evaluate("window.cimtwin.simulation.sun.state()")
        assert not after["active"] and not after["shadows"] and not after["proposed"]
