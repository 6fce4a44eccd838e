"""Thematic maps read against their legend, in Debian's Chromium (SwiftShader) at 1366x768.

The rendered pixels of a façade are compared with its legend swatch; the lighting is fixed
(not the clock's sun) and the same after a tileset reload; legend classes can be clicked to
show only that class; the selection is an outline no class colour can be taken for; class
breaks fit the data; while isolating, the rest is ghosted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.conftest import (
    ViewerPage,
    checked_page,
    render,
    reset_view,
    screenshot,
    viewer_at,
)

pytestmark = pytest.mark.browser

# Largest difference of a channel (0-255) between a lit façade and its swatch: the flat look
# dims a face turned from the light by at most 15 % (lighting.js FLAT_SHADE_MIN); the south
# façades seen here face the light (about 6 %).
SWATCH_TOLERANCE = 24
OUTLINE = (0x00, 0xF0, 0xFF)


@pytest.fixture(scope="module")
def viewer(small_planner_city: Path, browser: Any) -> Iterator[ViewerPage]:
    with viewer_at(browser, small_planner_city) as opened:
        yield opened


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    """The shared page; no console error may appear during a test."""
    reset = reset_view("await a.colorBy(null);")
    with checked_page(viewer, reset) as page:
        yield page


def look_at_blocks_from_the_south(page: Any) -> None:
    """Put the camera south of the GIS blocks, looking north at their south façades."""
    page.evaluate(
        """async () => {
            const { getJson } = window.cimtwin.util;
            const e = await getJson('/api/objects/blocks:b2/extent');
            const camera = window.cimtwin.viewer.camera;
            const target = Cesium.Cartesian3.fromDegrees(e.center.lon, e.center.lat, 12);
            camera.lookAt(target, new Cesium.HeadingPitchRange(0, -0.12, 150));
            camera.lookAtTransform(Cesium.Matrix4.IDENTITY);
        }"""
    )
    render(page)


def facade_points(page: Any) -> dict[str, dict[str, float]]:
    """Screen position of the middle of each block's south façade (4 m above its foot)."""
    points: dict[str, dict[str, float]] = page.evaluate(
        """async () => {
            const { getJson } = window.cimtwin.util;
            const out = {};
            for (const ref of ['b1', 'b2', 'b3']) {
                const e = await getJson(`/api/objects/blocks:${ref}/extent`);
                const [w, s, east] = e.bbox;
                out[ref] = window.cimtwin.screenPositionOf((w + east) / 2, s, e.base_height + 4);
            }
            return out;
        }"""
    )
    return points


def colours_at(page: Any, png: bytes, points: dict[str, dict[str, float]]) -> dict[str, list[int]]:
    """Median colour of the 7x7 pixels around each point of a PNG screenshot."""
    found: dict[str, list[int]] = page.evaluate(
        """async ([data, points]) => {
            const blob = await (await fetch('data:image/png;base64,' + data)).blob();
            const bitmap = await createImageBitmap(blob);
            const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
            const context = canvas.getContext('2d');
            context.drawImage(bitmap, 0, 0);
            const out = {};
            for (const [key, p] of Object.entries(points)) {
                const x = Math.round(p.x), y = Math.round(p.y);
                const pixels = context.getImageData(x - 3, y - 3, 7, 7).data;
                const channels = [[], [], []];
                for (let i = 0; i < pixels.length; i += 4)
                    for (let c = 0; c < 3; c++) channels[c].push(pixels[i + c]);
                out[key] = channels.map((v) => v.sort((a, b) => a - b)[v.length >> 1]);
            }
            return out;
        }""",
        [base64.b64encode(png).decode(), points],
    )
    return found


def swatch_of(page: Any, label: str) -> list[int]:
    """The legend swatch's rendered colour (RGB) of the class whose label starts with ``label``."""
    rgb: list[int] = page.evaluate(
        """(label) => {
            const row = [...document.querySelectorAll('#legend-items .legend-class')]
                .find((b) => b.textContent.startsWith(label));
            const css = getComputedStyle(row.querySelector('.swatch')).backgroundColor;
            return css.match(/\\d+/g).slice(0, 3).map(Number);
        }""",
        label,
    )
    return rgb


def difference(a: list[int], b: list[int]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


BLOCK_USES = {"b1": "residential", "b2": "office", "b3": "retail"}


def test_facades_are_drawn_in_their_legend_colour(page: Any) -> None:
    page.evaluate("window.cimtwin.colorBy('use')")
    look_at_blocks_from_the_south(page)
    points = facade_points(page)
    assert all(points.values()), points
    rendered = colours_at(page, screenshot(page, "theme-use-facades"), points)
    for ref, use in BLOCK_USES.items():
        swatch = swatch_of(page, use)
        assert difference(rendered[ref], swatch) <= SWATCH_TOLERANCE, (ref, rendered, swatch)

    # by height: one class per distinct height, the ramp's yellow and red among them
    legend = page.evaluate("window.cimtwin.colorBy('height')")["legend"]
    assert {"#fee08b", "#d7191c"} <= {e["color"] for e in legend}, legend
    render(page)
    rendered = colours_at(page, screenshot(page, "theme-height-facades"), points)
    for ref, height in {"b1": "18 m", "b2": "45 m", "b3": "9 m"}.items():
        swatch = swatch_of(page, height)
        assert difference(rendered[ref], swatch) <= SWATCH_TOLERANCE, (ref, rendered, swatch)


def test_lighting_is_fixed_not_the_clock_and_survives_a_reload(page: Any) -> None:
    look_at_blocks_from_the_south(page)
    points = facade_points(page)
    lit = page.evaluate("window.cimtwin.theme.lighting.state()")
    assert lit["lightIsSun"] is False and lit["shouldAnimate"] is False
    before = colours_at(page, screenshot(page, "theme-lit-noon"), points)
    # twelve hours later by the clock (as if the machine's time were night): nothing changes
    page.evaluate(
        """() => { const clock = window.cimtwin.viewer.clock; const { JulianDate } = Cesium;
            clock.currentTime = JulianDate.addHours(clock.currentTime, 12, new JulianDate()); }"""
    )
    render(page)
    render(page)
    night = colours_at(page, screenshot(page, "theme-lit-clock-night"), points)
    for ref in points:
        assert difference(before[ref], night[ref]) <= 6, (ref, before, night)
    assert page.evaluate("window.cimtwin.theme.lighting.state().direction") == lit["direction"]

    page.evaluate("async () => { await window.cimtwin.reloadTileset(); }")
    page.wait_for_function("window.cimtwin.state === 'ready'", timeout=60_000)
    render(page)
    reloaded = colours_at(page, screenshot(page, "theme-lit-reloaded"), points)
    for ref in points:
        assert difference(before[ref], reloaded[ref]) <= 6, (ref, before, reloaded)

    # colouring after the reload: the new tileset is drawn flat, in the legend's colours
    page.evaluate("window.cimtwin.colorBy('use')")
    render(page)
    rendered = colours_at(page, screenshot(page, "theme-use-reloaded"), points)
    for ref, use in BLOCK_USES.items():
        swatch = swatch_of(page, use)
        assert difference(rendered[ref], swatch) <= SWATCH_TOLERANCE, (ref, rendered, swatch)


def test_legend_has_units_and_a_clicked_class_shows_only_itself(page: Any) -> None:
    page.click("[data-tab=style]")
    page.select_option("#color-by", "height")
    page.wait_for_function(
        "document.querySelector('#legend-title').textContent === '高度\uff08m\uff09'"
    )
    labels = page.locator("#legend-items .legend-class").all_inner_texts()
    assert labels[0].endswith(" m") and "45 m" in labels and labels[-1] == "无数据"

    page.select_option("#color-by", "use")
    page.wait_for_function("document.querySelector('#legend-title').textContent === '用途'")
    total = page.evaluate("window.cimtwin.featureStats().total")
    page.click("#legend-items .legend-class >> text=residential (1)")
    render(page)
    stats = page.evaluate("window.cimtwin.featureStats()")
    assert stats["shownIds"] == ["blocks:b1"]
    assert page.inner_text(".legend-class[aria-pressed=true]") == "residential (1)"
    screenshot(page, "theme-only-residential")
    # office: the GIS block and every element of the two halls (their buildings' use)
    page.click("#legend-items .legend-class >> text=office (3)")
    render(page)
    shown = page.evaluate("window.cimtwin.featureStats().shownIds")
    assert "blocks:b2" in shown and len(shown) > 20
    assert not {"blocks:b1", "blocks:b3", "s1", "streets:s1"} & set(shown)
    page.click(".legend-class[aria-pressed=true]")  # again: all classes
    render(page)
    assert page.evaluate("window.cimtwin.featureStats().shown") == total
    page.click("[data-tab=layers]")


def test_selection_is_an_outline_no_class_colour_resembles(page: Any) -> None:
    legend = page.evaluate("window.cimtwin.colorBy('use')")["legend"]
    look_at_blocks_from_the_south(page)
    unselected = screenshot(page, "theme-unselected")
    page.evaluate("window.cimtwin.select('blocks:b1', {fly: false})")
    page.wait_for_function("window.cimtwin.theme.outline.enabled")
    render(page)
    selected = screenshot(page, "theme-selected-outline")
    # the selected block keeps its class colour
    colour = page.evaluate(
        """() => { const f = window.cimtwin.theme.outline.features[0];
            return [f.getProperty('id'), f.color.toCssHexString()]; }"""
    )
    residential = next(e["color"] for e in legend if e["label"].startswith("residential"))
    assert colour == ["blocks:b1", residential]
    # the outline's cyan is far from every class colour and drawn around the block
    for entry in legend:
        rgb = [int(entry["color"][i : i + 2], 16) for i in (1, 3, 5)]
        assert difference(rgb, list(OUTLINE)) > 90, entry
    near_outline = """async (data) => {
        const blob = await (await fetch('data:image/png;base64,' + data)).blob();
        const bitmap = await createImageBitmap(blob);
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext('2d');
        context.drawImage(bitmap, 0, 0);
        const d = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i] < 60 && d[i + 1] > 200 && d[i + 2] > 220) n += 1;
        return n; }"""
    before = page.evaluate(near_outline, base64.b64encode(unselected).decode())
    after = page.evaluate(near_outline, base64.b64encode(selected).decode())
    assert after > before + 100, (before, after)


def test_class_breaks_fit_the_data(page: Any) -> None:
    classes = page.evaluate(
        """async () => {
            const { Coloring } = await import('/style.js');
            const make = (values) => new Coloring('x', {kind: 'number', owners: values.length,
                values: Object.fromEntries(values.map((v, i) => ['o' + i, v]))});
            const six = make([9, 18, 18, 45, 60.5, 99, 9]);
            const many = make(Array.from({length: 70}, (_, i) => 1950 + i));
            const skewed = make(Array.from({length: 50}, (_, i) => 3 * 1.12 ** i));
            const count = (c, values) =>
                c.entries.map((e) => values.filter((v) => e.matches(v)).length);
            return {
                six: six.entries.map((e) => e.label),
                many: many.entries.map((e) => e.label),
                manyCounts: count(many, Array.from({length: 70}, (_, i) => 1950 + i)),
                skewedCounts: count(skewed, Array.from({length: 50}, (_, i) => 3 * 1.12 ** i)),
            };
        }"""
    )
    assert classes["six"] == ["9", "18", "45", "60.5", "99"]  # one class per distinct value
    assert len(classes["many"]) == 7 and classes["many"][0].startswith("1950 \u2013 ")
    assert classes["many"][-1].endswith(" \u2013 2019")  # en dashes
    assert sum(classes["manyCounts"]) == 70 and max(classes["manyCounts"]) <= 12
    # quantiles, not equal widths: no class of a skewed distribution holds most of it
    assert sum(classes["skewedCounts"]) == 50 and max(classes["skewedCounts"]) <= 10


def test_isolating_a_storey_ghosts_the_other_storeys_and_neighbours(page: Any) -> None:
    hall = page.evaluate("window.cimtwin.util.getJson('/api/search?q=South%20Hall')")["results"][0]
    storeys = page.evaluate(
        "(id) => window.cimtwin.util.getJson("
        "`/api/objects?class=IfcBuildingStorey&building=${id}`)",
        hall["id"],
    )["objects"]
    level2 = next(s for s in storeys if s["name"] == "Level 2")
    look_at_blocks_from_the_south(page)
    points = facade_points(page)
    plain = colours_at(page, screenshot(page, "theme-before-isolation"), points)
    page.evaluate("(id) => window.cimtwin.isolateStorey(id)", level2["id"])
    page.evaluate("window.cimtwin.viewer.camera.cancelFlight()")
    look_at_blocks_from_the_south(page)
    stats = page.evaluate("window.cimtwin.featureStats()")
    assert stats["ghosted"] > 3 and stats["shown"] > 0
    ghost = page.evaluate(
        """() => { const s = window.cimtwin.style; const out = [];
            const visit = (tile) => { const c = tile.content;
                for (let i = 0; c && i < c.featuresLength; i++) { const f = c.getFeature(i);
                    if (f.getProperty('id') === 'blocks:b2')
                        out.push([f.show, f.color.alpha, s.isGhost(f)]); }
                tile.children.forEach(visit); };
            visit(window.cimtwin.tileset.root); return out[0]; }"""
    )
    assert ghost[0] is True and ghost[1] < 0.3 and ghost[2] is True
    ghosted = colours_at(page, screenshot(page, "theme-isolated-ghosts"), points)
    page.evaluate(
        "() => { const s = window.cimtwin.style; s.setIsolation({...s.isolation, ghost: false}); }"
    )
    render(page)
    hidden = colours_at(page, screenshot(page, "theme-isolated-hidden"), points)
    # the ghost is seen: its pixels are neither the block as drawn nor what is behind it
    for ref in points:
        assert difference(ghosted[ref], hidden[ref]) >= 8, (ref, ghosted, hidden)
        assert difference(ghosted[ref], plain[ref]) >= 20, (ref, ghosted, plain)
