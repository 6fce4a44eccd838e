"""No request reaches a file outside the folder a route serves: tiles, terrain, imagery and
the viewer's static files, asked with dot segments in every encoding, absolute paths,
backslashes, NUL bytes and symbolic links that point out."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI

from api.app import create_app
from cim.layout import CityLayout
from cim.store import CityStore

SECRET = b"TOP-SECRET"
# Paths as a client sends them (percent-encoded); the server decodes them once, as uvicorn
# does, so "%2e%2e%2f" reaches the routes as "../".
ESCAPES = [
    "../secret.json",
    "../../secret.json",
    "..%2fsecret.json",
    "%2e%2e%2fsecret.json",
    "%2e%2e/%2e%2e/secret.json",
    "%252e%252e%252fsecret.json",
    "..%252fsecret.json",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "..\\secret.json",
    "..%5csecret.json",
    "..%5c..%5csecret.json",
    "secret.json%00.json",
    "tileset.json%00/../../secret.json",
    "link.json",
    "linked/secret.json",
    "./../secret.json",
    "inner/../../secret.json",
    "....//secret.json",
    "%c0%ae%c0%ae/secret.json",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """A city whose served folders each hold a file and links out; secrets all around."""
    root = tmp_path_factory.mktemp("traversal")
    city = root / "city"
    CityStore.create(city, "EPSG:4547").close()
    layout = CityLayout(city)
    viewer = root / "viewer"
    (root / "secret.json").write_bytes(SECRET)
    (city / "secret.json").write_bytes(SECRET)
    for folder in (layout.tiles, layout.terrain, layout.imagery / "0" / "0", viewer):
        (folder / "inner").mkdir(parents=True)
        (folder / "secret.json").parent.mkdir(parents=True, exist_ok=True)
        (folder / "link.json").symlink_to(root / "secret.json")
        (folder / "linked").symlink_to(root, target_is_directory=True)
    (layout.tiles / "tileset.json").write_text("{}")
    (layout.terrain / "layer.json").write_text("{}")
    (layout.imagery / "0" / "0" / "0.png").write_bytes(b"png")
    (layout.imagery / "0" / "0" / "1.png").symlink_to(root / "secret.json")
    (viewer / "index.html").write_text("<html>viewer</html>")
    # anonymous reading on: the paths, not the credentials, are under test here
    return create_app(city, viewer_dir=viewer, worker=False, anonymous_read=True)


def asgi_get(app: FastAPI, raw_path: str) -> tuple[int, bytes]:
    """GET ``raw_path`` (percent-encoded, sent as is) through the ASGI interface."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": unquote(raw_path), "raw_path": raw_path.encode(),
        "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client stays connected until the response ends
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@pytest.mark.parametrize("prefix", ["/tiles/", "/terrain/", "/"])
@pytest.mark.parametrize("escape", ESCAPES)
def test_no_file_outside_the_served_folder(app: FastAPI, prefix: str, escape: str) -> None:
    status, body = asgi_get(app, prefix + escape)
    assert 400 <= status < 500, (status, body[:200])
    assert SECRET not in body


@pytest.mark.parametrize(
    "path", ["/imagery/0/0/1.png", "/imagery/..%2f..%2f/0/0.png", "/imagery/0/0/..%2f0.png",
             "/imagery/%2e%2e/0/0.png", "/imagery/0/0/0.png%00"],
)  # fmt: skip
def test_imagery_tiles_are_numbers_only_and_links_out_are_refused(app: FastAPI, path: str) -> None:
    status, body = asgi_get(app, path)
    assert 400 <= status < 500 and SECRET not in body


@pytest.mark.parametrize(
    "path", ["/tiles/tileset.json", "/terrain/layer.json", "/imagery/0/0/0.png", "/",
             "/index.html", "/tiles/inner/../tileset.json"],
)  # fmt: skip
def test_the_files_inside_are_served(app: FastAPI, path: str) -> None:
    assert asgi_get(app, path)[0] == 200
