"""The building card in Debian's Chromium: a BIM hall and a GIS block of the planner city in
planning terms (zh-CN first, English on demand), the storey list isolating storeys up and
down, the source attributes translated, the internal fields hidden.

One page for the module; each test puts the view back as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.conftest import ViewerPage, checked_page, reset_view, screenshot, viewer_at

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer(small_planner_city: Path, browser: Any) -> Iterator[ViewerPage]:
    with viewer_at(browser, small_planner_city) as opened:
        yield opened


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    """The shared page in Chinese; no console error may appear during a test."""
    viewer.page.evaluate("window.cimtwin.setLanguage('zh-CN')")
    reset = reset_view("a.setLanguage('zh-CN');")
    with checked_page(viewer, reset) as page:
        yield page


def _building_id(page: Any, name: str) -> str:
    found: str = page.evaluate(
        """async (name) => {
            const body = await window.cimtwin.util.getJson('/api/objects?class=IfcBuilding');
            return body.objects.find((o) => o.name === name).id;
        }""",
        name,
    )
    return found


def _select(page: Any, object_id: str) -> None:
    page.evaluate("(id) => window.cimtwin.select(id)", object_id)
    page.wait_for_selector(f"#info[data-object-id='{object_id}'] #building-card")


def _press(page: Any, selector: str) -> None:
    """Press a shown, enabled button of the card through its own click (Playwright's
    pointer clicks wait for animation frames, which software rendering makes scarce)."""
    pressed = page.eval_on_selector(
        selector,
        """(button) => {
            button.scrollIntoView({ block: "nearest" });
            const box = button.getBoundingClientRect();
            if (button.disabled || !box.width || !box.height) return false;
            button.click();
            return true;
        }""",
    )
    assert pressed, f"{selector} is hidden or disabled"


def _figures(page: Any) -> dict[str, str]:
    """The card's figures as shown, by key (``card.height``...)."""
    shown: dict[str, str] = page.eval_on_selector_all(
        "#building-card dd[data-figure]",
        "(dds) => Object.fromEntries(dds.map((dd) => [dd.dataset.figure, dd.innerText]))",
    )
    return shown


def test_a_bim_hall_in_planning_terms(page: Any) -> None:
    _select(page, _building_id(page, "North Hall"))
    assert page.inner_text("#building-card h3").startswith("规划指标")
    figures = _figures(page)
    assert figures["card.height"].startswith("7.00 m") and "首层地坪" in figures["card.height"]
    assert figures["card.storeys"].startswith("地上 2 层，地下 0 层")  # noqa: RUF001
    gfa = figures["card.gfa"]
    assert gfa.startswith("480 m²") and "楼板" in gfa and "估算" not in gfa
    assert figures["card.footprint"] == "240 m²"
    assert figures["card.plot"] == "TH-0001（660 m²）"  # noqa: RUF001
    assert figures["card.year"] == "2020"
    assert figures["card.lonlat"].startswith("113.32")
    assert figures["card.datum"].startswith("未声明") and "高程按源数据" in figures["card.datum"]
    panel = page.inner_text("#info")
    assert "CGCS2000" in panel and "IfcBuilding" in panel
    assert "step_id" not in panel
    screenshot(page, "card-bim-hall")


def test_the_storey_list_isolates_storeys_up_and_down(page: Any) -> None:
    _select(page, _building_id(page, "South Hall"))
    rows = page.locator("#card-storeys button.storey")
    assert rows.count() == 3
    assert page.inner_text("#card-storeys .storey-list").split("\n")[0] == "Level 3"
    levels = [page.get_attribute(f"#card-storeys li:nth-child({i}) button", "data-storey-id")
              for i in (1, 2, 3)]  # fmt: skip
    # nothing isolated: down starts at the ground floor, up climbs storey by storey
    _press(page, "#card-storeys [data-storey-step=down]")
    page.wait_for_function("(id) => window.cimtwin.style.isolation?.storey === id", arg=levels[2])
    page.wait_for_selector(f"#card-storeys button[data-storey-id='{levels[2]}'][aria-current]")
    assert page.is_disabled("#card-storeys [data-storey-step=down]")
    _press(page, "#card-storeys [data-storey-step=up]")
    page.wait_for_function("(id) => window.cimtwin.style.isolation?.storey === id", arg=levels[1])
    screenshot(page, "card-storey-isolated")
    _press(page, f"#card-storeys button[data-storey-id='{levels[0]}']")
    page.wait_for_function("(id) => window.cimtwin.style.isolation?.storey === id", arg=levels[0])
    page.wait_for_selector("#card-storeys [data-storey-step=up]:disabled")
    assert page.evaluate("window.cimtwin.card.currentStorey()") == levels[0]


def test_a_gis_block_with_translated_source_attributes(page: Any) -> None:
    _select(page, "blocks:b1")
    figures = _figures(page)
    assert figures["card.height"].startswith("18.00 m")
    assert figures["card.storeys"].startswith("地上 6 层") and "估算" in figures["card.storeys"]
    gfa = figures["card.gfa"]
    assert gfa.startswith("2,400 m²") and "估算" in gfa and "基底面积 × 6 层" in gfa  # noqa: RUF001
    assert figures["card.address"] == "天河路 101号"
    assert figures["card.plot"].startswith("TH-0002")
    street = page.locator("#card-source tr[data-key='addr:street'] th")
    assert street.inner_text().split("\n") == ["街道", "addr:street"]
    assert "height_source" not in page.inner_text("#info")
    screenshot(page, "card-gis-block")


def test_the_card_in_english(page: Any) -> None:
    _select(page, _building_id(page, "North Hall"))
    page.evaluate("window.cimtwin.setLanguage('en')")
    page.wait_for_function(
        "document.querySelector('#building-card h3').textContent.startsWith('Planning figures')"
    )
    figures = _figures(page)
    assert figures["card.storeys"].startswith("2 above ground, 0 below")
    assert "floor slabs" in figures["card.gfa"]
    assert page.inner_text("#card-storeys h4").startswith("Storeys")
    screenshot(page, "card-english")
