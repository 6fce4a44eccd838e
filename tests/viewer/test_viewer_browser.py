"""The viewer in Debian's Chromium, driven by Playwright, on a served city."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.api.conftest import build_small_city
from tests.viewer.conftest import ARTIFACTS, first_building_on_screen, open_viewer, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(build_small_city(tmp_path_factory.mktemp("browser-city"))) as url:
        yield url


def test_viewer_streams_tiles_and_picks_an_element(server: str, browser: Any) -> None:
    viewer = open_viewer(browser, server)
    page, errors, requests = viewer.page, viewer.errors, viewer.requests
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-loaded.png"))
    tiles = [u for u in requests if "/tiles/" in u and u.endswith(".glb")]
    assert tiles, "no glb tile was requested"
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(server).netloc}, f"requests left the server: {hosts}"

    target = first_building_on_screen(page)
    assert target is not None, "the building is not on screen"
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("window.cimtwin.selected !== null", timeout=20_000)
    selected = page.evaluate("window.cimtwin.selected")
    assert selected["class"].startswith("Ifc") and selected["id"]
    panel = page.locator("#info")
    assert panel.get_attribute("data-object-id") == selected["id"]
    assert selected["class"] in panel.inner_text()
    page.screenshot(path=str(ARTIFACTS / "viewer-picked.png"))
    assert not errors, f"console errors: {errors}"
    page.close()
