"""The app's event hub: what the domain created (observations, later alerts and incidents),
fanned out to server-sent-event streams and to the MQTT publisher.

Publishing is thread-safe and never blocks: routes run in worker threads and the MQTT
client in its own. A stream subscriber gets only events inside its scope, in a bounded
queue; a subscriber too slow to keep up loses the oldest events and is told how many
(``dropped``), rather than slowing ingest.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from cim.scope import Scope

# Events a stream holds before dropping its oldest.
STREAM_QUEUE = 1000


@dataclass(frozen=True)
class Event:
    """Something that happened: its kind, the jurisdiction it happened in, its JSON data;
    ``source`` is the domain record it was made from for listeners in the process (an
    ``"observation"``'s :class:`~simulation.sensors.records.StoredObservation`), never
    sent anywhere."""

    kind: str
    jurisdiction: str
    data: dict[str, Any]
    source: Any = field(default=None, compare=False, repr=False)


@dataclass(eq=False)
class Subscription:
    """One stream's queue of events (read it with ``await next_event()``)."""

    scope: Scope
    kinds: frozenset[str]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(STREAM_QUEUE))
    dropped: int = 0

    def wants(self, event: Event) -> bool:
        """Whether this stream receives ``event``."""
        return (not self.kinds or event.kind in self.kinds) and self.scope.contains(
            event.jurisdiction
        )

    def offer(self, event: Event) -> None:
        """Queue ``event`` (on the stream's loop), dropping the oldest when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


Listener = Callable[[Event], None]


class EventHub:
    """Subscriptions and listeners of one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every listener and every stream that wants it (any thread)."""
        self.publish_all([event])

    def publish_all(self, events: list[Event]) -> None:
        """Publish several events in order (any thread). Each event loop holding streams is
        woken once for them all, not once per stream and event: a hundred viewers at a
        thousand events per second would otherwise cost 100 000 wake-ups a second."""
        with self._lock:
            subscriptions = list(self._subscriptions)
            listeners = list(self._listeners)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscription, list[Event]]]] = {}
        for subscription in subscriptions:
            wanted = [event for event in events if subscription.wants(event)]
            if wanted:
                by_loop.setdefault(subscription.loop, []).append((subscription, wanted))
        for loop, deliveries in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, deliveries)
            except RuntimeError:  # the loop has closed: its streams are gone
                for subscription, _ in deliveries:
                    self.unsubscribe(subscription)
        for event in events:
            for listener in listeners:
                listener(event)

    def subscribe(self, scope: Scope, kinds: frozenset[str] = frozenset()) -> Subscription:
        """A new stream of the events in ``scope`` (of ``kinds``; empty: every kind); call
        from the event loop that will read it."""
        subscription = Subscription(scope, kinds, asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a stream."""
        with self._lock:
            self._subscriptions.discard(subscription)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event, in the publishing thread (keep it quick)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def has_takers(self) -> bool:
        """Whether an event published now would reach a stream or a listener (publishers
        with costly events may skip making them when none would)."""
        with self._lock:
            return bool(self._subscriptions or self._listeners)

    @property
    def stream_count(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscriptions)


def _deliver(deliveries: list[tuple[Subscription, list[Event]]]) -> None:
    """Queue events on their streams (in the streams' loop)."""
    for subscription, events in deliveries:
        for event in events:
            subscription.offer(event)


def event_hub_of(app: FastAPI) -> EventHub:
    """The app's hub, made at first use."""
    hub: EventHub | None = getattr(app.state, "events", None)
    if hub is None:
        hub = EventHub()
        app.state.events = hub
    return hub


def event_hub(request: Request) -> EventHub:
    """The hub of the app serving ``request`` (a dependency)."""
    return event_hub_of(request.app)
