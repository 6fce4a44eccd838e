# ruff: noqa: RUF001  (the expected texts are Chinese, with Chinese punctuation)
"""Chinese first, in Debian's Chromium: search by pinyin and address showing building and
storey, server messages and job progress in the interface language, IFC names from the code
lists.

One page for the module; each test leaves the page in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.viewer.conftest import ViewerPage, checked_page, screenshot, viewer_at
from tests.viewer.zh_city import STADIUM, build_zh_city

pytestmark = pytest.mark.browser
# An IFC GlobalId: 22 characters of IFC's base 64.
GLOBAL_ID = re.compile(r"^[0-9A-Za-z_$]{22}$")


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[ViewerPage]:
    with viewer_at(browser, build_zh_city(tmp_path_factory.mktemp("zh-city"))) as opened:
        yield opened


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    """The shared page, back in Chinese after each test; no console error may appear."""
    with checked_page(viewer, "window.cimtwin.setLanguage('zh-CN')") as page:
        yield page


def typed_search(page: Any, text: str) -> list[dict[str, str]]:
    """Type ``text`` in the search box and read the listed results once they are fresh."""
    page.fill("#search-input", text)
    page.wait_for_function(
        "() => { const l = document.getElementById('search-results');"
        " return !l.hidden && !l.classList.contains('stale')"
        " && l.querySelector('.search-item, .search-message'); }",
        timeout=60_000,
    )
    return list(
        page.evaluate(
            "() => [...document.querySelectorAll('#search-results .search-item')].map(i => ({"
            " id: i.dataset.objectId, name: i.querySelector('.search-name').textContent,"
            " cls: i.querySelector('.search-class').textContent,"
            " detail: i.querySelector('.search-detail').textContent}))"
        )
    )


def test_pinyin_finds_the_chinese_building_first(page: Any) -> None:
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    results = typed_search(page, "tianhe")
    assert results[0]["name"] == STADIUM
    assert results[0]["cls"] == "建筑 IfcBuilding"
    assert not any(GLOBAL_ID.match(r["detail"]) for r in results)
    initials = typed_search(page, "gztsg")  # 广州图书馆 by its initials
    assert [r["name"] for r in initials] == ["广州图书馆"]
    screenshot(page, "zh-search-pinyin")


def test_results_show_their_building_and_storey_not_an_id(page: Any) -> None:
    results = typed_search(page, "Sports 2-1")
    space = next(r for r in results if r["name"] == "Sports 2-1")
    assert space["detail"] == f"{STADIUM} › Level 2"
    assert space["cls"] == "空间 IfcSpace"
    found = typed_search(page, "Level 1")  # storeys "Level 1", walls "North Wall Level 1"
    storeys = found[:3]  # places before the parts of buildings
    assert {r["cls"] for r in storeys} == {"楼层 IfcBuildingStorey"}
    assert {r["detail"] for r in storeys} == {STADIUM, "North Hall", "South Hall"}
    wall = next(r for r in found if r["cls"].endswith("IfcWall"))
    assert wall["detail"].endswith(" › Level 1") and not GLOBAL_ID.match(wall["detail"])
    screenshot(page, "zh-search-storeys")


def test_an_address_split_over_street_and_number_is_found(page: Any) -> None:
    results = typed_search(page, "珠江东路4号")
    assert results[0]["name"] == "广州图书馆"
    assert results[0]["detail"] == "地址: 珠江东路 4号"
    page.keyboard.press("Escape")


def test_server_errors_come_in_the_interface_language(page: Any, viewer: ViewerPage) -> None:
    logged = len(viewer.errors)
    ask = (
        "async () => { try { await window.cimtwin.util.getJson('/api/objects/no-such-id'); }"
        " catch (e) { return e.message; } }"
    )
    assert page.evaluate(ask) == "404 Not Found: 没有编号为 'no-such-id' 的对象"
    invalid = page.evaluate(ask.replace("/api/objects/no-such-id", "/api/search?q="))
    assert invalid.startswith("422 Unprocessable Entity: 请求参数无效：q: "), invalid
    page.evaluate("window.cimtwin.setLanguage('en')")
    assert page.evaluate(ask) == "404 Not Found: no object with id 'no-such-id'"
    # the browser logs the answers asked for (404, 422): nothing else may be logged
    assert all("status of 4" in e for e in viewer.errors[logged:]), viewer.errors[logged:]
    del viewer.errors[logged:]


def test_job_progress_and_report_labels_follow_the_language(page: Any) -> None:
    job = {"status": "running", "progress": 40, "message": "importing tower.ifc"}
    line = "(job) => window.cimtwin.zh.jobText(job)"
    assert page.evaluate(line, job) == "正在导入 tower.ifc · 40 %"
    done = {"status": "succeeded", "progress": 100,
            "message": "imported 120 objects from 2 file(s); tiles rewritten"}  # fmt: skip
    assert page.evaluate(line, done) == "已从 2 个文件导入 120 个对象，瓦片已重写 · 100 %"
    assert page.evaluate(line, {"status": "queued"}) == "排队中"
    label = "(f) => window.cimtwin.zh.reportLabel(f)"
    assert page.evaluate(label, "elements_with_mesh") == "有网格的构件"
    page.evaluate("window.cimtwin.setLanguage('en')")
    assert page.evaluate(line, job) == "importing tower.ifc · 40 %"
    assert page.evaluate(label, "elements_with_mesh") == "elements with mesh"


def test_ifc_names_come_from_the_code_lists(page: Any) -> None:
    names = (
        "() => { const z = window.cimtwin.zh; return [z.psetName('Pset_WallCommon'),"
        " z.propertyName('Pset_WallCommon', 'IsExternal'),"
        " z.propertyName('Pset_SpaceCommon', 'Reference'), z.useName('apartments'),"
        " z.useName('sports'), z.psetName('CIMTwin_Demo')]; }"
    )
    assert page.evaluate(names) == [
        "墙通用属性", "外部构件", "房间编号", "住宅", "体育", "CIMTwin_Demo"]  # fmt: skip
    page.evaluate("window.cimtwin.setLanguage('en')")
    english = ["Wall, common", "Is external", "Reference", "Residential", "Sports", "CIMTwin_Demo"]
    assert page.evaluate(names) == english
