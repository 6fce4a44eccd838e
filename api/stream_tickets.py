"""Stream tickets: how a browser's ``EventSource`` opens an authenticated event stream.

``EventSource`` cannot send an ``Authorization`` header. Rather than accept the access
token in the URL (where it would sit in server logs, proxies and the browser's history for
its whole lifetime, and be good for every route), the page trades its token for a ticket
(``POST /api/events/stream/ticket``, bearer token in the header): a random value, good for
one connection to the stream route only, within :data:`TICKET_SECONDS`, held by this
server process. Only its SHA-256 is kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI

from api.auth.principal import Principal
from api.auth.tokens import new_opaque_token, token_hash
from api.errors import NotAuthenticatedError

# How long a ticket may wait before it is used.
TICKET_SECONDS = 60
# Tickets held at most (unused ones of a client that never connects): the oldest go first.
MAX_TICKETS = 10_000
_MAKING = threading.Lock()


@dataclass(frozen=True)
class _Held:
    principal: Principal
    expires_at: datetime


class StreamTickets:
    """The unused tickets of one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}

    def issue(self, principal: Principal, now: datetime) -> str:
        """A new ticket standing for ``principal`` until ``now`` + :data:`TICKET_SECONDS`."""
        ticket = new_opaque_token()
        with self._lock:
            self._forget_expired(now)
            while len(self._held) >= MAX_TICKETS:
                self._held.pop(next(iter(self._held)))
            self._held[token_hash(ticket)] = _Held(
                principal, now + timedelta(seconds=TICKET_SECONDS)
            )
        return ticket

    def redeem(self, ticket: str, now: datetime) -> Principal:
        """The principal of ``ticket``, which is used up; an unknown, used or expired ticket
        is refused (401)."""
        with self._lock:
            held = self._held.pop(token_hash(ticket), None)
        if held is None or held.expires_at <= now:
            raise NotAuthenticatedError(
                "unknown, used or expired stream ticket: ask for a new one"
                " (POST /api/events/stream/ticket or /api/sensors/stream/ticket)"
            )
        return held.principal

    def _forget_expired(self, now: datetime) -> None:
        for key in [key for key, held in self._held.items() if held.expires_at <= now]:
            del self._held[key]


def stream_tickets_of(app: FastAPI) -> StreamTickets:
    """The app's tickets, made at first use."""
    with _MAKING:
        tickets: StreamTickets | None = getattr(app.state, "stream_tickets", None)
        if tickets is None:
            tickets = StreamTickets()
            app.state.stream_tickets = tickets
    return tickets
