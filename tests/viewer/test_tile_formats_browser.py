"""CesiumJS streams every tile format the tiler writes: quantized and meshopt-compressed glb
with metadata (3D Tiles 1.1), and b3dm with batch tables (3D Tiles 1.0)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cim.store import CityStore
from tests.api.conftest import build_small_city
from tests.viewer.conftest import (
    ARTIFACTS,
    ViewerPage,
    first_building_on_screen,
    open_viewer,
    serve,
)
from tiles.tileset import TilingOptions, write_tileset

pytestmark = pytest.mark.browser

FORMATS = {
    "glb-meshopt": TilingOptions(max_features=25),
    "glb-plain": TilingOptions(max_features=25, quantize=False, compress=False),
    "b3dm": TilingOptions(max_features=25, content_format="b3dm"),
}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_city(tmp_path_factory.mktemp("formats"))


@pytest.fixture(params=sorted(FORMATS))
def served(request: pytest.FixtureRequest, city: Path) -> Iterator[tuple[str, str]]:
    with CityStore.open(city) as store:
        write_tileset(store, FORMATS[request.param])
    with serve(city) as url:
        yield request.param, url


def leaf_contents(viewer: ViewerPage) -> list[str]:
    """The tile contents the page asked for that are leaves (their names hold ``_``)."""
    contents = [u for u in viewer.requests if "/tiles/content/" in u]
    return [u for u in contents if "_" in u.rsplit("/", 1)[1]]


def leaves_requested(viewer: ViewerPage, timeout_s: float = 30.0) -> None:
    """Wait until refinement has asked for a leaf tile (or ``timeout_s`` has passed)."""
    deadline = time.monotonic() + timeout_s
    while not leaf_contents(viewer) and time.monotonic() < deadline:
        viewer.page.wait_for_timeout(100)  # lets Playwright deliver the page's requests


def test_cesium_loads_and_picks_every_format(served: tuple[str, str], browser: Any) -> None:
    name, url = served
    viewer = open_viewer(browser, url)
    page = viewer.page
    leaves_requested(viewer)
    signed_fetch = "fetch('/tiles/tileset.json', {headers: window.cimtwin.util.authHeaders()})"
    tileset = json.loads(page.evaluate(signed_fetch + ".then(r => r.text())"))
    suffix = ".b3dm" if name == "b3dm" else ".glb"
    contents = [u for u in viewer.requests if "/tiles/content/" in u]
    assert contents and all(u.endswith(suffix) for u in contents), contents
    leaves = leaf_contents(viewer)
    assert leaves, f"no leaf was streamed: {contents}"
    assert tileset["asset"]["version"] == ("1.0" if name == "b3dm" else "1.1")
    target = first_building_on_screen(page)
    assert target is not None, "the building is not on screen"
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("window.cimtwin.selected !== null", timeout=20_000)
    selected = page.evaluate("window.cimtwin.selected")
    assert selected["id"] and selected["class"].startswith("Ifc")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tiles-{name}.png"))
    assert not viewer.errors, f"console errors with {name}: {viewer.errors}"
    page.close()
