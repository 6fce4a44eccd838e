"""Server-sent events of the event hub: the frames a stream writes, each event encoded once
for every stream that sends it, what is queued sent in one write."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from api.events import Event, EventHub, Subscription

# A stream sends a comment this often when nothing happens (proxies close idle connections).
KEEPALIVE_SECONDS = 15.0
# How often a stream waiting for events checks that its client is still there.
DISCONNECT_POLL_SECONDS = 1.0


def _frame(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


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


async def event_frames(
    request: Request, hub: EventHub, subscription: Subscription, lifetime: float
) -> AsyncIterator[str]:
    """The text of a server-sent event stream of ``subscription``: ``ready`` first, the
    events as they come (``id`` counts them), ``dropped`` when a slow reader lost some, a
    comment when idle, ``end`` after ``lifetime`` seconds; unsubscribes when it stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    quiet_since = loop.time()
    sent = 0
    try:
        yield "retry: 3000\n" + _frame("ready", {"scope": subscription.scope.prefix})
        while (left := deadline - loop.time()) > 0:
            # short waits while idle: a closed connection is noticed within a second (when
            # events flow, writing to it fails first)
            event = await subscription.next_event(min(DISCONNECT_POLL_SECONDS, left))
            if event is None:
                if await request.is_disconnected():
                    return
                if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                    quiet_since = loop.time()
                    yield ": idle\n\n"
                continue
            frames = []
            while event is not None:  # what else is queued goes out in the same write
                sent += 1
                frames.append(f"id: {sent}\n{_ENCODED.frame(event)}")
                event = subscription.queue.get_nowait() if not subscription.queue.empty() else None
            if subscription.dropped:
                frames.append(_frame("dropped", {"count": subscription.dropped}))
                subscription.dropped = 0
            quiet_since = loop.time()
            yield "".join(frames)
        yield _frame("end", {"reason": "expired"})
    finally:
        hub.unsubscribe(subscription)
