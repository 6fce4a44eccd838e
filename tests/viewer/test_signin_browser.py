"""The viewer's sign-in in Debian's Chromium: the form (zh-CN, English), the user and their
jurisdiction in the header, the boundary the camera frames, the import button only for those
who may import, the refresh before expiry and sign-out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pytest
from pyproj import Transformer
from shapely.geometry import box, shape

from api.auth.state import AuthConfig
from api.usecases.jurisdictions import import_jurisdictions
from cim.data import JURISDICTIONS_FILE, data_file
from cim.gis import VectorOptions, import_vector
from cim.store import CityStore
from tests.signin import PASSWORD
from tests.viewer.conftest import (
    APPS,
    ARTIFACTS,
    ViewerPage,
    add_account,
    new_page,
    screenshot,
    serve,
    session_of,
)
from tiles.tileset import write_tileset

pytestmark = pytest.mark.browser

CRS = "EPSG:4547"
TIANHE, HUACHENG = "440106000000", "440106001000"  # a county and one of its towns (streets)
# Blocks (ref, lon, lat): two in Huacheng's communities, one in Zhujiang South.
BLOCKS = [("h1", 113.3206, 23.1150), ("h2", 113.3200, 23.1220), ("z1", 113.3262, 23.1150)]


def build_jurisdiction_city(folder: Path) -> Path:
    """Blocks inside the demo's jurisdictions, the jurisdictions imported, tiled."""
    to_city = Transformer.from_crs("OGC:CRS84", CRS, always_xy=True)
    centres = [to_city.transform(lon, lat) for _, lon, lat in BLOCKS]
    blocks = gpd.GeoDataFrame(
        {"ref": [ref for ref, _, _ in BLOCKS], "height": [30.0, 20.0, 40.0]},
        geometry=[box(x - 20, y - 20, x + 20, y + 20) for x, y in centres],
        crs=CRS,
    )
    layers = folder / "blocks.gpkg"
    blocks.to_file(layers, layer="blocks", driver="GPKG")
    with CityStore.create(folder / "city", CRS, "Tianhe blocks") as store:
        import_vector(store, layers, VectorOptions(layer="blocks", id_field="ref"))
        import_jurisdictions(store, data_file(JURISDICTIONS_FILE), "code", "name")
        write_tileset(store)
    return folder / "city"


def demo_node(code: str) -> dict[str, Any]:
    """The demo jurisdiction ``code``: its properties and its bounds (lon/lat degrees)."""
    features = json.loads(data_file(JURISDICTIONS_FILE).read_text(encoding="utf-8"))["features"]
    found = next(f for f in features if f["properties"]["code"] == code)
    return {**found["properties"], "bounds": shape(found["geometry"]).bounds}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_jurisdiction_city(tmp_path_factory.mktemp("jurisdiction-city"))


@pytest.fixture(scope="module")
def server(city: Path) -> Iterator[str]:
    with serve(city) as url:
        yield url


def watch(page: Any) -> ViewerPage:
    """Record the page's console errors (with where they came from) and its requests."""
    watched = ViewerPage(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(f"{message.text} @ {message.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("request", lambda r: watched.requests.append(f"{r.method} {r.url}"))
    return watched


def wait_ready(page: Any) -> None:
    page.wait_for_function(
        "window.cimtwin && ['ready', 'error'].includes(window.cimtwin.state)", timeout=90_000
    )
    state = page.evaluate("({state: window.cimtwin.state, error: window.cimtwin.error})")
    assert state["state"] == "ready", state


def sign_in(page: Any, username: str, password: str) -> None:
    page.fill("#signin-username", username)
    page.fill("#signin-password", password)
    page.click("#signin-submit")


def stored_session(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("JSON.parse(sessionStorage.getItem('cimtwin.session'))"))


def test_sign_in_form_in_both_languages_then_the_header(server: str, browser: Any) -> None:
    name = add_account(APPS[server], roles=("operator",), jurisdiction=TIANHE,
                       display_name="王工程师")  # fmt: skip
    viewer = watch(browser.new_page(viewport={"width": 1366, "height": 768}))
    page = viewer.page
    page.goto(server + "/")
    page.wait_for_selector("#signin-form", state="visible")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("#signin-title").endswith("登录")
    assert "用户名" in page.inner_text("#signin-form")
    assert page.inner_text("#signin-submit") == "登录"
    assert page.locator("#user").is_hidden()
    screenshot(page, "signin-zh-CN")

    page.click("#signin-lang")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#signin-submit") == "Sign in"
    assert "User name" in page.inner_text("#signin-form")

    sign_in(page, name, "not the password")
    page.wait_for_selector("#signin-error", state="visible")
    assert page.inner_text("#signin-error") == "Wrong user name or password."
    assert page.locator("#signin").is_visible()
    assert page.input_value("#signin-password") == ""
    screenshot(page, "signin-refused-en")

    sign_in(page, name, PASSWORD)
    page.wait_for_selector("#signin", state="hidden")
    wait_ready(page)
    assert page.inner_text("#user-name") == "王工程师"
    tianhe = demo_node(TIANHE)
    assert page.inner_text("#user-jurisdiction") == f"{tianhe['name']} · county"
    assert page.get_attribute("#user-jurisdiction", "title") == TIANHE
    assert page.locator("#import-open").is_visible(), "an operator may import"
    page.click("#lang-toggle")  # back to zh-CN: the header follows
    assert page.inner_text("#user-jurisdiction") == f"{tianhe['name']} · 区县"
    screenshot(page, "signin-header")
    header = page.locator("#topbar").bounding_box()
    assert header is not None
    page.screenshot(path=str(ARTIFACTS / "signin-header-bar.png"), clip=header)
    # The one error expected: the refused password's 401 from the sign-in route.
    unexpected = [e for e in viewer.errors if not ("401" in e and "/api/auth/token" in e)]
    assert not unexpected, f"console errors: {unexpected}"
    page.close()


def test_a_town_viewer_sees_its_boundary_framed_and_no_import(server: str, browser: Any) -> None:
    session = session_of(APPS[server], roles=("viewer",), jurisdiction=HUACHENG)
    viewer = watch(new_page(browser, server, session))
    page = viewer.page
    page.goto(server + "/")
    wait_ready(page)
    town = demo_node(HUACHENG)
    assert page.inner_text("#user-jurisdiction") == f"{town['name']} · 街道/乡镇"
    assert page.locator("#import-open").is_hidden(), "a viewer may not import"
    assert page.inner_text("#object-count") == "2 个对象"  # the town's two blocks of three
    drawn = page.evaluate(
        """() => {
            const source = window.cimtwin.viewer.dataSources.getByName('jurisdiction')[0];
            if (!source) return null;
            const now = Cesium.JulianDate.now();
            return source.entities.values.map((entity) => ({
                name: entity.name,
                points: entity.polyline.positions.getValue(now).map((p) => {
                    const c = Cesium.Cartographic.fromCartesian(p);
                    return [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude)];
                }),
            }));
        }"""
    )
    assert drawn, "no boundary drawn"
    assert {entity["name"] for entity in drawn} == {town["name"]}
    lons = [lon for entity in drawn for lon, _ in entity["points"]]
    lats = [lat for entity in drawn for _, lat in entity["points"]]
    west, south, east, north = town["bounds"]
    assert min(lons) == pytest.approx(west, abs=1e-6) and max(lons) == pytest.approx(east, abs=1e-6)
    assert min(lats) == pytest.approx(south, abs=1e-6) and max(lats) == pytest.approx(
        north, abs=1e-6
    )

    view = page.evaluate(
        """() => {
            const r = window.cimtwin.viewer.camera.computeViewRectangle();
            return [r.west, r.south, r.east, r.north].map(Cesium.Math.toDegrees);
        }"""
    )
    screenshot(page, "signin-town-framed")
    v_west, v_south, v_east, v_north = view
    assert v_west <= west and v_south <= south and v_east >= east and v_north >= north, (view, town)
    # Framed: along one side (the other follows the screen's shape) the town fills most of
    # the view, a margin left around it.
    fill = max((east - west) / (v_east - v_west), (north - south) / (v_north - v_south))
    assert 0.6 < fill < 0.98, (view, town)
    assert not viewer.errors, f"console errors: {viewer.errors}"
    page.close()


def test_the_token_refreshes_before_expiry_and_sign_out_revokes(city: Path, browser: Any) -> None:
    lifetime = timedelta(seconds=10)  # the viewer refreshes at half that life
    # A second server of the city (the module's keeps the job worker).
    with serve(city, auth=AuthConfig(access_lifetime=lifetime), worker=False) as url:
        name = add_account(APPS[url], roles=("viewer",), jurisdiction=HUACHENG)
        viewer = watch(browser.new_page(viewport={"width": 1366, "height": 768}))
        page = viewer.page
        refreshes: list[Any] = []
        page.on("requestfinished", lambda r: refreshes.append(r) if "/refresh" in r.url else None)
        page.goto(url + "/")
        sign_in(page, name, PASSWORD)
        page.wait_for_selector("#user", state="visible")
        first = stored_session(page)
        page.wait_for_function(
            "(old) => JSON.parse(sessionStorage.getItem('cimtwin.session')).accessToken !== old",
            arg=first["accessToken"],
            timeout=20_000,
        )
        assert refreshes and refreshes[0].url == f"{url}/api/auth/refresh"
        sent = refreshes[0].timing["startTime"]  # ms since the epoch
        assert sent < first["expiresAt"], "the refresh was sent after the token expired"
        # Past the first token's expiry: the server refuses it, the page's requests succeed.
        page.wait_for_function(f"Date.now() > {first['expiresAt'] + 1500}", timeout=20_000)
        old = httpx.get(
            f"{url}/api/me", headers={"Authorization": f"Bearer {first['accessToken']}"}
        )
        assert old.status_code == 401, old.text
        me = page.evaluate("window.cimtwin.util.getJson('/api/me')")
        assert me["username"] == name
        me_token = stored_session(page)["accessToken"]
        assert me_token != first["accessToken"]

        # Sign out while a refresh is on its way (held back a moment): the refresh completes
        # before the logout goes, and the server then refuses the refresh token it gave.
        fresh: list[str] = []

        def slow_refresh(route: Any) -> None:
            time.sleep(1.0)  # meanwhile the sign-out is clicked
            response = route.fetch()
            if response.ok:
                fresh.append(response.json()["refresh_token"])
            route.fulfill(response=response)

        page.route("**/api/auth/refresh", slow_refresh)
        page.evaluate(
            """async () => {
                const auth = await import('/auth.js');
                auth.refresh().catch(() => {});
                document.getElementById('sign-out').click();
            }"""
        )
        page.wait_for_function("document.readyState === 'complete' && !window.cimtwin?.me")
        page.wait_for_selector("#signin-form", state="visible")
        assert f"POST {url}/api/auth/logout" in viewer.requests
        assert page.evaluate("sessionStorage.getItem('cimtwin.session')") is None
        assert page.locator("#user").is_hidden()
        assert fresh, "the refresh under way was refused: the logout did not wait for it"
        refused = httpx.post(f"{url}/api/auth/refresh", json={"refresh_token": fresh[0]})
        assert refused.status_code == 401, refused.text
        assert not viewer.errors, f"console errors: {viewer.errors}"
        page.close()
