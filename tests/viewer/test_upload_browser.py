"""The viewer's "Import IFC" dialog in Debian's Chromium: upload, job report, tileset reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bim.authoring import BuildingSpec, write_demo_building
from cim.store import CityStore
from tests.api.conftest import build_small_city
from tests.viewer.conftest import ARTIFACTS, first_building_on_screen, new_page, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A served small city that the test uploads into, and the city folder."""
    city = build_small_city(tmp_path_factory.mktemp("upload-city"))
    with serve(city) as url:
        yield url, city


def test_an_uploaded_ifc_is_imported_reported_and_shown(
    upload_server: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    server, city = upload_server
    east = write_demo_building(
        BuildingSpec("East Hall", 430730.0, 2557860.0, 2), tmp_path / "east-hall.ifc"
    )
    broken = tmp_path / "broken.ifc"
    broken.write_text("hello, not a model")
    page = new_page(browser, server)
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/?lang=en")
    page.wait_for_function("window.cimtwin && window.cimtwin.state === 'ready'", timeout=90_000)
    before = page.evaluate("window.__before = window.cimtwin.tileset; window.cimtwin.city")
    assert page.locator("#object-count").inner_text() == f"{before['object_count']} objects"

    page.click("#import-open")
    dialog = page.locator("#import-dialog")
    assert dialog.is_visible()
    page.wait_for_function("document.querySelector('#import-hint').textContent.includes('MB')")
    page.set_input_files("#import-files", str(east))
    page.click("#import-upload")
    page.wait_for_function(
        "window.cimtwin.lastJob && ['succeeded', 'failed'].includes(window.cimtwin.lastJob.status)",
        timeout=120_000,
    )
    job = page.evaluate("window.cimtwin.lastJob")
    assert job["status"] == "succeeded", job
    assert dialog.get_attribute("data-state") == "succeeded"
    report = page.locator('#import-result section.report[data-source="east-hall.ifc"]')
    text = report.inner_text()
    assert "IfcBuilding" in text and "IfcWall" in text and "IfcMapConversion" in text
    assert "products without mesh" in text and "Tiles rewritten" in page.inner_text(
        "#import-result"
    )
    page.click("#import-result details.without-mesh summary")
    assert "IfcOpeningElement" in report.locator("ul.missing").inner_text()

    page.wait_for_function(
        "window.cimtwin.tileset !== window.__before && window.cimtwin.state === 'ready'",
        timeout=90_000,
    )
    assert any("/tiles/tileset.json?v=" in url for url in requests), "the tileset was not reloaded"
    count = before["object_count"] + sum(job["result"]["reports"][0]["objects_by_class"].values())
    page.wait_for_function(f"window.cimtwin.city.object_count === {count}")
    assert page.locator("#object-count").inner_text() == f"{count} objects"
    assert (
        page.evaluate("window.cimtwin.viewer.scene.primitives.contains(window.__before)") is False
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-import.png"))

    page.set_input_files("#import-files", str(broken))
    page.click("#import-upload")
    page.wait_for_function(
        "window.cimtwin.lastJob && window.cimtwin.lastJob.status === 'failed'", timeout=60_000
    )
    error = page.locator("#import-result p.error")
    assert "broken.ifc: not an IFC file" in error.inner_text()
    assert dialog.get_attribute("data-state") == "failed"
    page.screenshot(path=str(ARTIFACTS / "viewer-import-failed.png"))
    page.click("#import-close")
    assert not dialog.is_visible()
    page.screenshot(path=str(ARTIFACTS / "viewer-import-closed.png"))
    assert not (city / ".uploads").exists() or not any((city / ".uploads").iterdir())
    assert not errors, f"console errors: {errors}"
    page.close()


def test_the_first_import_into_an_empty_city_shows_it(browser: Any, tmp_path: Path) -> None:
    CityStore.create(tmp_path / "city", "EPSG:4547", "Empty town").close()
    ifc = write_demo_building(BuildingSpec("First", 430760.0, 2557880.0, 2), tmp_path / "f.ifc")
    with serve(tmp_path / "city") as server:
        page = new_page(browser, server)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/?lang=en")
        page.wait_for_function("window.cimtwin && window.cimtwin.state === 'error'")
        assert "not been tiled yet" in page.inner_text("#message")
        page.click("#import-open")
        page.set_input_files("#import-files", str(ifc))
        page.click("#import-upload")
        page.wait_for_function(
            "window.cimtwin.lastJob && window.cimtwin.lastJob.status === 'succeeded'",
            timeout=120_000,
        )
        page.wait_for_function(
            "window.cimtwin.tileset && window.cimtwin.state === 'ready'", timeout=90_000
        )
        assert page.locator("#message").is_hidden()
        page.click("#import-close")
        page.wait_for_function("window.cimtwin.city.object_count > 0")
        building = first_building_on_screen(page)
        assert building is not None, "the first building is not on screen"
        page.screenshot(path=str(ARTIFACTS / "viewer-first-import.png"))
        assert not errors, f"console errors: {errors}"
        page.close()
