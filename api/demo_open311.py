"""Citizens' reports of the demo's history, posted as a citizen app posts them: a
GeoReport v2 ``POST /open311/v2/requests.json`` (multipart with a ``media`` photo, or
form-encoded) with the demo's Open311 ``api_key``, handled in-process by the city's app
(the Open311 route and every check of it) with the app's clock set to the report's time."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI

from api.auth.state import configure
from api.errors import ApiError
from simulation.incidents.records import AttachmentIn

REQUESTS_PATH = "/open311/v2/requests.json"
US = 1_000_000


class Open311RefusedError(ApiError):
    """The app refused a report of the demo's history."""


def post_service_request(
    app: FastAPI,
    fields: Sequence[tuple[str, str]],
    *,
    at_us: int,
    media: AttachmentIn | None = None,
) -> int:
    """Post a service request (``fields``: the form's, with ``api_key``) to ``app`` as if
    at ``at_us``; the ``service_request_id`` it answers."""
    moment = datetime.fromtimestamp(at_us / US, UTC)
    configure(app, clock=lambda: moment)
    if media is None:
        body, content_type = urlencode(list(fields)).encode(), "application/x-www-form-urlencoded"
    else:
        body, content_type = _multipart(fields, media)
    status, answer = asyncio.run(_post(app, REQUESTS_PATH, body, content_type))
    if status != 201:
        raise Open311RefusedError(f"Open311 answered {status} to a demo report: {answer!r}")
    return int(json.loads(answer)[0]["service_request_id"])


def _multipart(fields: Sequence[tuple[str, str]], media: AttachmentIn) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="media";'
        f' filename="{media.filename}"\r\nContent-Type: {media.media_type}\r\n\r\n'.encode()
        + media.content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def _post(app: FastAPI, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    """One HTTP POST through the app's ASGI interface; its status and body."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"demo.localhost"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"user-agent", b"cimtwin-demo citizen app"),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("demo.localhost", 80),
        "state": {},
    }
    sent = False
    status = 0
    answer = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            answer.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(answer)
