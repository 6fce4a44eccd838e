"""Security headers on every response; CORS only for the configured origins; no cookies."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from cim.store import CityStore
from tests.signin import admin_client

INLINE = "\n      window.CESIUM_BASE_URL = '/cesium/';\n    "
EVIL = "https://evil.example"


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    viewer = tmp_path / "viewer"
    viewer.mkdir()
    (viewer / "index.html").write_text(f"<html><script>{INLINE}</script></html>")
    (viewer / "app.js").write_text("console.log(1)")
    return tmp_path / "city"


@pytest.fixture()
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set ``CIMTWIN_*`` through the returned monkeypatch before creating the app."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _client(city: Path) -> TestClient:
    get_settings.cache_clear()
    app = create_app(city, viewer_dir=city.parent / "viewer", worker=False)
    return admin_client(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/city", 200), ("/app.js", 200), ("/", 200), ("/api/objects/nope", 404),
     ("/tiles/../city.gpkg", 404), ("/imagery/99/0/0.png", 422)],
)  # fmt: skip
def test_every_response_carries_the_security_headers(city: Path, path: str, status: int) -> None:
    response = _client(city).get(path)
    assert response.status_code == status
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "worker-src 'self' blob:" in policy
    assert "strict-transport-security" not in headers


def test_the_viewers_inline_script_is_allowed_by_its_hash_only(city: Path) -> None:
    policy = _client(city).get("/").headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(INLINE.encode()).digest()).decode()
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert f"'sha256-{digest}'" in script_src and "'unsafe-inline'" not in script_src


def test_the_api_docs_get_their_cdn(city: Path) -> None:
    policy = _client(city).get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy
    assert "cdn.jsdelivr.net" not in _client(city).get("/").headers["content-security-policy"]


def test_hsts_only_when_served_over_https(city: Path, settings: pytest.MonkeyPatch) -> None:
    settings.setenv("CIMTWIN_HTTPS", "true")
    assert "max-age=" in _client(city).get("/api/city").headers["strict-transport-security"]


def test_no_origin_is_approved_by_default(city: Path) -> None:
    client = _client(city)
    preflight = client.options(
        "/api/imports",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    read = client.get("/api/city", headers={"Origin": EVIL})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


def test_a_cross_site_form_upload_gets_no_cors_approval(city: Path) -> None:
    """A multipart form needs no preflight: the browser sends it with the user's cookies and
    no Authorization header. It gets no Access-Control-Allow-Origin (the page cannot read the
    answer), and no route reads a cookie, so it carries no credential at all."""
    client = _client(city)
    client.cookies.set("session", "stolen")
    response = client.post(
        "/api/imports",
        headers={"Origin": EVIL},
        files=[("files", ("a.ifc", b"ISO-10303-21;"))],
    )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            cookies = [p for p in operation.get("parameters", []) if p.get("in") == "cookie"]
            assert not cookies, f"{path} reads a cookie"
    schemes = document.get("components", {}).get("securitySchemes", {})
    assert not [s for s in schemes.values() if s.get("in") == "cookie"]


def test_configured_origins_are_approved_without_credentials(
    city: Path, settings: pytest.MonkeyPatch
) -> None:
    settings.setenv("CIMTWIN_CORS_ORIGINS", "https://maps.example.gov.cn, https://b.example/")
    client = _client(city)
    for origin in ("https://maps.example.gov.cn", "https://b.example"):
        preflight = client.options(
            "/api/imports",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in preflight.headers
    assert (
        client.options(
            "/api/imports", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        ).status_code
        == 400
    )
