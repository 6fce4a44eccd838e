"""A rate limit on writes: a token bucket per client address and one per principal.

ASGI middleware, so that no route can forget it: every request under ``/api`` whose
method is not GET, HEAD or OPTIONS takes a token from the bucket of its client address
and from that of its principal, or is answered 429 with ``Retry-After``. Left out: sign-in
and tokens (``/api/auth/``, throttled by the auth module itself) and the queries sent by
POST because their body is too large for a URL (:data:`READ_POSTS`): they change nothing.

The principal is told by :func:`credential_subject` (the credential the request carries in
a header, hashed), so two addresses using one token or key share its bucket; an app can
pass a function that names the principal behind a credential instead.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads that take their question as a JSON body.
READ_POSTS = frozenset({"/api/objects/query", "/api/objects/values", "/api/stats"})
EXEMPT_PREFIX = "/api/auth/"
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# Buckets kept before the full ones (idle long enough to have refilled) are dropped.
MAX_BUCKETS = 10_000


class RateSettingError(ApiError):
    """``CIMTWIN_WRITE_RATE`` is not ``N/second``, ``N/minute`` or ``N/hour``."""


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests per ``seconds`` (a bucket of ``count`` tokens)."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """``"30/minute"`` as a rate; None (no limit) for an empty text.

        Raises
        ------
        RateSettingError
            When the text is neither empty nor ``N/second|minute|hour`` with N > 0.
        """
        text = text.strip()
        if not text:
            return None
        match = re.fullmatch(r"(\d+)\s*/\s*(second|minute|hour)", text)
        if match is None or int(match[1]) == 0:
            raise RateSettingError(
                f"write rate {text!r}: expected N/second, N/minute or N/hour with N > 0"
                " (CIMTWIN_WRITE_RATE; empty for no limit)"
            )
        return cls(int(match[1]), PERIODS[match[2]])

    def __str__(self) -> str:
        period = next(name for name, seconds in PERIODS.items() if seconds == self.seconds)
        return f"{self.count} a {period}"


class TokenBuckets:
    """Token buckets of one rate, by key, refilled continuously."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key: (tokens, when)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has a token (0: it has one now)."""
        tokens = self._tokens(key)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.rate.seconds / self.rate.count

    def take(self, key: str) -> None:
        """Take a token of ``key`` (after :meth:`wait` said 0)."""
        self._buckets[key] = (self._tokens(key) - 1, self.clock())
        if len(self._buckets) > MAX_BUCKETS:
            self._drop_full()

    def _tokens(self, key: str) -> float:
        tokens, when = self._buckets.get(key, (self.rate.count, self.clock()))
        refill = (self.clock() - when) * self.rate.count / self.rate.seconds
        return min(float(self.rate.count), tokens + refill)

    def _drop_full(self) -> None:
        full = [key for key in self._buckets if self._tokens(key) >= self.rate.count]
        for key in full:
            del self._buckets[key]


def credential_subject(headers: Headers) -> str | None:
    """A name for the credential of a request (bearer token or API key), or None."""
    credential = headers.get("authorization") or headers.get("x-api-key")
    if not credential:
        return None
    return "credential:" + hashlib.sha256(credential.strip().encode()).hexdigest()[:32]


def is_write(method: str, path: str) -> bool:
    """Whether a request counts against the write rate."""
    return (
        method not in SAFE_METHODS
        and (path.startswith("/api/") or path == "/api")
        and not path.startswith(EXEMPT_PREFIX)
        and path.rstrip("/") not in READ_POSTS
    )


class WriteRateLimit:
    """ASGI middleware answering 429 to writes over ``rate`` per address or per principal
    (``rate`` None: no limit). Parse the setting with :meth:`Rate.parse` before adding it, as
    Starlette builds middleware at the first request."""

    def __init__(
        self,
        app: ASGIApp,
        rate: Rate | None,
        subject_of: Callable[[Headers], str | None] = credential_subject,
    ) -> None:
        self.app = app
        self.buckets = None if rate is None else TokenBuckets(rate)
        self.subject_of = subject_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 429 when its buckets are empty."""
        if (
            self.buckets is None
            or scope["type"] != "http"
            or not is_write(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        keys = [f"address:{client[0] if client else 'unknown'}"]
        subject = self.subject_of(Headers(scope=scope))
        if subject is not None:
            keys.append(subject)
        wait = max(self.buckets.wait(key) for key in keys)
        if wait > 0:
            await self._refuse(send, wait)
            return
        for key in keys:
            self.buckets.take(key)
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, wait: float) -> None:
        assert self.buckets is not None
        seconds = max(1, math.ceil(wait))
        detail = (
            f"too many writes: at most {self.buckets.rate} from one address or one account"
            f" (CIMTWIN_WRITE_RATE); retry in {seconds} s"
        )
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
