"""The viewer in Debian's Chromium, driven by Playwright, on a served city."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.api.conftest import build_small_city
from tests.viewer.conftest import ARTIFACTS, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(build_small_city(tmp_path_factory.mktemp("browser-city"))) as url:
        yield url


def test_viewer_streams_tiles_and_picks_an_element(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/")
    page.wait_for_function(
        "window.cimtwin && ['ready', 'error'].includes(window.cimtwin.state)", timeout=90_000
    )
    state = page.evaluate("({state: window.cimtwin.state, error: window.cimtwin.error})")
    assert state["state"] == "ready", state
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-loaded.png"))
    tiles = [u for u in requests if "/tiles/" in u and u.endswith(".glb")]
    assert tiles, "no glb tile was requested"
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(server).netloc}, f"requests left the server: {hosts}"

    target = page.evaluate(
        """async () => {
            const body = await (await fetch('/api/objects?class=IfcBuilding&limit=1')).json();
            const building = await (await fetch('/api/objects/' + body.objects[0].id)).json();
            const p = building.position;
            return window.cimtwin.screenPositionOf(p.lon, p.lat, p.height * 0.5);
        }"""
    )
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
