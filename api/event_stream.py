"""Server-sent events of the event hub: who opens a stream (a one-use ticket or the
Authorization header), where it resumes (``Last-Event-ID``), and the frames it writes, each
event encoded once for every stream that sends it, what is queued sent in one write.

Each event frame's ``id:`` is the hub's id of the event. A stream opened without a last id
(or told to ``reset``) gives the id of the hub's latest event on its first frame, so that
reopening it with the last id the client saw loses nothing from its start on.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.auth.audit import record_refusal
from api.auth.deps import PrincipalDep
from api.auth.principal import Principal
from api.auth.state import auth_state
from api.errors import NotAuthenticatedError
from api.events import Event, EventFilter, EventHub, Subscription
from api.stream_tickets import TICKET_SECONDS, stream_tickets_of

# A stream sends a comment this often when nothing happens (proxies close idle connections).
KEEPALIVE_SECONDS = 15.0
# How often a stream waiting for events checks that its client is still there.
DISCONNECT_POLL_SECONDS = 1.0
# Events sent in one write at most (a resume may have thousands to send).
WRITE_EVENTS = 1000
# What a browser's EventSource waits before it reconnects on its own (milliseconds).
RETRY_MS = 3000
# The longest last event id read (anything longer is not one of ours).
MAX_ID_CHARS = 64


def _frame(kind: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class _EncodedEvents:
    """Each event's frame, encoded once for all the streams that send it (a hundred viewers
    would otherwise encode every event a hundred times). Holding the event keeps its
    ``id()`` from being reused while it is cached; the lock, for apps served by several
    event loops of one process (tests)."""

    def __init__(self, size: int = 4096) -> None:
        self._frames: OrderedDict[int, tuple[Event, str]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def frame(self, event: Event) -> str:
        with self._lock:
            cached = self._frames.get(id(event))
        if cached is not None and cached[0] is event:
            return cached[1]
        text = _frame(event.kind, {**event.data, "jurisdiction": event.jurisdiction})
        with self._lock:
            self._frames[id(event)] = (event, text)
            if len(self._frames) > self._size:
                self._frames.popitem(last=False)
        return text


_ENCODED = _EncodedEvents()


class StreamTicket(BaseModel):
    """A one-use ticket that opens an event stream."""

    ticket: str
    expires_in: int
    url: str


def issue_ticket(request: Request, principal: Principal, stream_path: str) -> StreamTicket:
    """A ticket that opens the stream at ``stream_path`` once, within a minute (the
    browser's ``EventSource`` cannot send the ``Authorization`` header)."""
    ticket = stream_tickets_of(request.app).issue(principal, auth_state(request).clock())
    return StreamTicket(
        ticket=ticket, expires_in=TICKET_SECONDS, url=f"{stream_path}?ticket={ticket}"
    )


def stream_principal(
    request: Request,
    principal: PrincipalDep,
    ticket: str | None = Query(None, description="from POST /api/events/stream/ticket"),
) -> Principal:
    """The caller of a stream: the ticket's, or the one of the Authorization header."""
    if ticket is not None:
        try:
            return stream_tickets_of(request.app).redeem(ticket, auth_state(request).clock())
        except NotAuthenticatedError as exc:
            record_refusal(request, None, None, str(exc))
            raise
    if principal.anonymous:
        record_refusal(request, principal, None, "no credentials")
        raise NotAuthenticatedError("open the stream with a ticket or an Authorization header")
    return principal


def last_event_id(
    header: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="sent by EventSource when it reconnects"),
    ] = None,
    query: Annotated[
        str | None,
        Query(
            alias="lastEventId",
            description="the id of the last event received, for a stream opened again with a"
            " new ticket (the Last-Event-ID header wins when both are given)",
        ),
    ] = None,
) -> str | None:
    """Where a stream resumes: the id of the last event its client received, or None."""
    given = header if header else query
    return given[:MAX_ID_CHARS] if given else None


def open_stream(
    request: Request,
    hub: EventHub,
    principal: Principal,
    event_filter: EventFilter,
    resume_after: str | None,
) -> StreamingResponse:
    """The server-sent event stream of ``principal``'s scope through ``event_filter``,
    resumed after ``resume_after`` when given; it ends when an access token would have
    expired."""
    subscription = hub.subscribe(principal.scope, filter=event_filter, last_event_id=resume_after)
    lifetime = auth_state(request).config.access_lifetime.total_seconds()
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        event_frames(request, hub, subscription, lifetime, resumed=resume_after is not None),
        media_type="text/event-stream",
        headers=headers,
    )


def _opening(hub: EventHub, subscription: Subscription, resumed: bool) -> str:
    """The first frames: ``ready`` (with the id to resume from unless resuming), and
    ``reset`` when a resume was refused."""
    ready = {"scope": subscription.scope.prefix}
    start_id = hub.event_id(subscription.start_seq)
    if subscription.reset is not None:
        return _frame("ready", ready) + _frame(
            "reset", {"reason": subscription.reset}, event_id=start_id
        )
    return _frame("ready", ready, event_id=None if resumed else start_id)


async def event_frames(
    request: Request,
    hub: EventHub,
    subscription: Subscription,
    lifetime: float,
    *,
    resumed: bool = False,
) -> AsyncIterator[str]:
    """The text of a server-sent event stream of ``subscription``: ``ready`` first
    (``reset`` after it when a resume was refused), what the stream missed then the live
    events with their hub ids, ``dropped`` when a slow reader lost some, a comment when
    idle, ``end`` after ``lifetime`` seconds; unsubscribes when it stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    quiet_since = loop.time()
    try:
        yield f"retry: {RETRY_MS}\n" + _opening(hub, subscription, resumed)
        while (left := deadline - loop.time()) > 0:
            # short waits while idle: a closed connection is noticed within a second (when
            # events flow, writing to it fails first)
            first = await subscription.next_stamped(min(DISCONNECT_POLL_SECONDS, left))
            if first is None:
                if await request.is_disconnected():
                    return
                if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                    quiet_since = loop.time()
                    yield ": idle\n\n"
                continue
            # what else is ready goes out in the same write
            ready = [first, *subscription.take_ready(WRITE_EVENTS - 1)]
            frames = [f"id: {hub.event_id(seq)}\n{_ENCODED.frame(event)}" for seq, event in ready]
            if subscription.dropped:
                frames.append(_frame("dropped", {"count": subscription.dropped}))
                subscription.dropped = 0
            quiet_since = loop.time()
            yield "".join(frames)
        yield _frame("end", {"reason": "expired"})
    finally:
        hub.unsubscribe(subscription)
