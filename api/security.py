"""Security headers on every response, and the CORS origins from the settings.

The Content-Security-Policy fits the CesiumJS viewer: everything from this origin; Cesium's
workers start from ``blob:`` URLs and load their code from there with ``importScripts``
(hence ``blob:`` for workers and scripts), its textures and fonts come as ``data:`` and
``blob:`` URLs, and Cesium.js does not load without ``'unsafe-eval'`` (it compiles code at
run time). The viewer's one inline script (setting ``CESIUM_BASE_URL`` before Cesium
loads) is allowed by its SHA-256, read from the served ``index.html``. The API
documentation pages load Swagger UI and ReDoc from their CDN and get a policy of their own.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = ("/docs", "/redoc")
DOCS_CDN = "https://cdn.jsdelivr.net"
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), fullscreen=(self)"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def inline_script_hashes(index_html: Path | None) -> list[str]:
    """CSP sources (``'sha256-...'``) of the inline scripts of the viewer's page."""
    if index_html is None or not index_html.is_file():
        return []
    scripts = _INLINE_SCRIPT.findall(index_html.read_text(encoding="utf-8"))
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    ]


def viewer_policy(script_hashes: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of the viewer and the API."""
    scripts = " ".join(["'self'", "'unsafe-eval'", "blob:", *script_hashes])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "img-src 'self' data: blob:",
        "connect-src 'self' data: blob:",
        "font-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])  # fmt: skip


def docs_policy() -> str:
    """The Content-Security-Policy of the Swagger UI and ReDoc pages."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {DOCS_CDN}",
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com",
        "font-src 'self' data: https://fonts.gstatic.com",
        "img-src 'self' data: https:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ])  # fmt: skip


def cors_options(setting: str) -> dict[str, Any]:
    """Options of the CORS middleware for the origins of ``CIMTWIN_CORS_ORIGINS``
    (comma-separated; empty: same origin only). No credentials: a write carries its token
    in a header, never a cookie."""
    origins = [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]
    return {
        "allow_origins": origins,
        "allow_methods": ["*"],
        "allow_headers": ["Authorization", "Content-Type", "X-API-Key"],
        "allow_credentials": False,
        "expose_headers": ["ETag", "Location", "Retry-After"],
    }


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response.

    A header a route set itself is kept. ``hsts`` adds Strict-Transport-Security (only
    for a server reached over https: ``CIMTWIN_HTTPS``).
    """

    def __init__(self, app: ASGIApp, viewer_index: Path | None = None, hsts: bool = False):
        self.app = app
        common = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Permissions-Policy": PERMISSIONS,
            "Cross-Origin-Opener-Policy": "same-origin",
        }
        if hsts:
            common["Strict-Transport-Security"] = HSTS
        policy = viewer_policy(inline_script_hashes(viewer_index))
        self.headers = {**common, "Content-Security-Policy": policy}
        self.docs_headers = {**common, "Content-Security-Policy": docs_policy()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path in DOCS_PATHS or path.startswith("/docs/")
        extra = self.docs_headers if docs else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
