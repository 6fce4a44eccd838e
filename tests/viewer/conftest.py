"""Browser test plumbing: a city served by uvicorn, Debian's Chromium through Playwright."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.auth import service
from api.auth.state import AuthConfig, auth_state_of, configure
from cim.ops import users
from tests.signin import PASSWORD, PASSWORD_HASH
from tests.viewer.planner_city import build_planner_city

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
]  # fmt: skip
# Screenshots the browser tests keep: CIMTWIN_ARTIFACTS, else a folder in the temp directory.
ARTIFACTS = Path(
    os.environ.get("CIMTWIN_ARTIFACTS") or Path(tempfile.gettempdir()) / "cimtwin-artifacts"
)


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The session of an admin of each served city, by base URL: the pages open signed in.
SESSIONS: dict[str, dict[str, Any]] = {}
# The app behind each served base URL (to add its users).
APPS: dict[str, Any] = {}


@contextmanager
def serve(city: Path, auth: AuthConfig | None = None, **options: Any) -> Iterator[str]:
    """Serve ``city`` with uvicorn on a free loopback port; yield the base URL. An admin of
    the province is signed in for the pages :func:`new_page` opens there. ``auth`` replaces
    the token lifetimes and throttling of the settings."""
    port = free_port()
    app = create_app(city, **options)
    if auth is not None:
        configure(app, config=auth)
    APPS[f"http://127.0.0.1:{port}"] = app
    SESSIONS[f"http://127.0.0.1:{port}"] = session_of(app)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class ViewerPage:
    """A page of the viewer with what it logged and requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def add_account(app: Any, **account: Any) -> str:
    """Add a user of ``app`` (password :data:`PASSWORD`; default an admin of the province,
    ``name``, ``roles``, ``jurisdiction`` and ``display_name`` as given); its name."""
    state = auth_state_of(app)
    name = account.pop("name", None) or f"viewer-{secrets.token_hex(4)}"
    users.add_user(state.db, name, password_hash=PASSWORD_HASH, now=state.clock(),
                   **{"roles": ("admin",), "jurisdiction": "440000000000", **account})  # fmt: skip
    return str(name)


def session_of(app: Any, **account: Any) -> dict[str, Any]:
    """The viewer's stored session (as auth.js keeps it) of a new user of ``app``."""
    state = auth_state_of(app)
    name = add_account(app, **account)
    pair = service.sign_in(state, name, PASSWORD, "browser")
    return {"accessToken": pair.access_token, "refreshToken": pair.refresh_token,
            "expiresAt": (time.time() + pair.expires_in) * 1000,
            "lifetimeMs": pair.expires_in * 1000}  # fmt: skip


def new_page(browser: Any, url: str, session: dict[str, Any] | None = None) -> Any:
    """A 1366x768 page whose tab holds the session of the server at ``url`` (its admin's,
    unless ``session`` is given): the viewer opens signed in."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    stored = json.dumps(session or SESSIONS[url])
    page.add_init_script(f"sessionStorage.setItem('cimtwin.session', {json.dumps(stored)})")
    return page


def open_viewer(browser: Any, url: str) -> ViewerPage:
    """Open the viewer at ``url`` on a 1366x768 page, signed in, and wait until its tiles
    are ready."""
    opened = ViewerPage(new_page(browser, url))
    page = opened.page
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.on("request", lambda r: opened.requests.append(r.url))
    page.goto(url + "/")
    page.wait_for_function(
        "window.cimtwin && ['ready', 'error'].includes(window.cimtwin.state)", timeout=90_000
    )
    state = page.evaluate("({state: window.cimtwin.state, error: window.cimtwin.error})")
    assert state["state"] == "ready", state
    return opened


@pytest.fixture(scope="session")
def small_planner_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two IFC buildings, three GIS blocks and a street, tiled (see planner_city)."""
    return build_planner_city(tmp_path_factory.mktemp("planner-city"))


def screenshot(page: Any, name: str) -> bytes:
    """A PNG of the page, also kept as ARTIFACTS/name.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return bytes(page.screenshot(path=str(ARTIFACTS / f"{name}.png")))


def changed_pixels(page: Any, before: bytes, after: bytes) -> float:
    """Share of pixels that differ (any channel by more than 24) between two PNG screenshots."""
    return float(
        page.evaluate(
            """async ([a, b]) => {
                const load = async (data) => {
                    const blob = await (await fetch('data:image/png;base64,' + data)).blob();
                    const bitmap = await createImageBitmap(blob);
                    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
                    const context = canvas.getContext('2d');
                    context.drawImage(bitmap, 0, 0);
                    return context.getImageData(0, 0, bitmap.width, bitmap.height).data;
                };
                const [x, y] = [await load(a), await load(b)];
                let changed = 0;
                for (let i = 0; i < x.length; i += 4) {
                    if (Math.abs(x[i] - y[i]) > 24 || Math.abs(x[i + 1] - y[i + 1]) > 24
                        || Math.abs(x[i + 2] - y[i + 2]) > 24) changed += 1;
                }
                return changed / (x.length / 4);
            }""",
            [base64.b64encode(before).decode(), base64.b64encode(after).decode()],
        )
    )


def render(page: Any) -> None:
    """Ask Cesium for a frame and wait until it is drawn (the page renders on demand)."""
    page.evaluate(
        """() => new Promise((resolve) => {
            const scene = window.cimtwin.viewer.scene;
            const remove = scene.postRender.addEventListener(() => { remove(); resolve(); });
            scene.requestRender();
        })"""
    )


def first_building_on_screen(page: Any) -> dict[str, float] | None:
    """Where the first IfcBuilding's middle is on screen (None when it is off screen)."""
    position: dict[str, float] | None = page.evaluate(
        """async () => {
            const { getJson } = window.cimtwin.util;
            const body = await getJson('/api/objects?class=IfcBuilding&limit=1');
            const building = await getJson('/api/objects/' + body.objects[0].id);
            const p = building.position;
            return window.cimtwin.screenPositionOf(p.lon, p.lat, p.height * 0.5);
        }"""
    )
    return position


@contextmanager
def opened_viewer(browser: Any, url: str, timeout_ms: int | None = None) -> Iterator[ViewerPage]:
    """The viewer at ``url`` (signed in, tiles ready), closed afterwards; ``timeout_ms``
    replaces Playwright's default wait."""
    opened = open_viewer(browser, url)
    if timeout_ms is not None:
        opened.page.set_default_timeout(timeout_ms)
    try:
        yield opened
    finally:
        opened.page.close()


@contextmanager
def viewer_at(browser: Any, city: Path, timeout_ms: int | None = None) -> Iterator[ViewerPage]:
    """Serve ``city`` and open the viewer on it, for a module's tests to share."""
    with serve(city) as url, opened_viewer(browser, url, timeout_ms) as opened:
        yield opened


@contextmanager
def checked_page(viewer: ViewerPage, reset: str | None = None) -> Iterator[Any]:
    """The shared page for one test: no console error may appear during it; the JavaScript
    ``reset`` (a function, maybe async) puts the viewer back afterwards."""
    before = len(viewer.errors)
    yield viewer.page
    assert viewer.errors[before:] == [], f"console errors: {viewer.errors[before:]}"
    if reset:
        viewer.page.evaluate(reset)


def reset_view(*more: str) -> str:
    """JavaScript that shows everything again and clears the selection, then runs ``more``
    (statements on ``a``, the viewer's ``window.cimtwin``; ``await`` allowed)."""
    then = " ".join(more)
    return f"async () => {{ const a = window.cimtwin; a.showAll(); a.clearSelection(); {then} }}"


def api(page: Any, path: str) -> Any:
    """GET ``path`` from the page, with its session (the viewer's own client)."""
    return page.evaluate("(path) => window.cimtwin.util.getJson(path)", path)


def wait_for_flight(page: Any) -> None:
    """Wait until the camera's flight and every tween have ended, then draw a frame."""
    page.wait_for_function(
        "!window.cimtwin.viewer.camera._currentFlight"
        " && window.cimtwin.viewer.scene.tweens.length === 0",
        timeout=20_000,
    )
    render(page)
