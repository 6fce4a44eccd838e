"""A cap on the size of request bodies other than uploads, counted as they arrive.

A JSON query of a few megabytes is already far more geometry than any route accepts
(polygons are capped at 10 000 vertices); the cap stops a huge body before it is parsed.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bodies of POST /api/imports are checked by the upload route against its own limit.
UPLOAD_PATHS = ("/api/imports",)


class BodyLimit:
    """ASGI middleware answering 413 when a request body passes ``max_bytes``.

    ``Content-Length`` over the cap is refused before anything is read; a body without
    one is counted as it arrives and stopped by an ``HTTPException`` (413), the one error
    FastAPI's body parser passes on as it is (any other becomes a 400).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path prefix, cap): routes taking photos have a cap of their own
        self.larger = larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UPLOAD_PATHS):
            await self.app(scope, receive, send)
            return
        cap = next((n for p, n in self.larger if scope["path"].startswith(p)), self.max_bytes)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > cap:
            await self._refuse(send, cap)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > cap:
                raise HTTPException(413, self._detail(cap))
            return message

        await self.app(scope, counted_receive, send)

    def _detail(self, cap: int) -> str:
        return f"request body larger than {cap / 2**20:g} MiB"

    async def _refuse(self, send: Send, cap: int) -> None:
        body = json.dumps({"detail": self._detail(cap)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
