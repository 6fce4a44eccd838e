"""The app's event hub: what the domain created (observations, entity changes, alerts,
incidents), fanned out to server-sent-event streams and to listeners (the MQTT publisher).

Publishing is thread-safe and never blocks: routes run in worker threads and the MQTT
client in its own. Every published event gets a hub-wide id, ``<boot>-<seq>`` (``boot``
random for each hub, ``seq`` counting from 1), and is kept in a bounded replay ring, so a
stream opened again with the last id it received (``Last-Event-ID``) first gets what it
missed, then the live events: none lost, none twice. An id of another boot (the server
restarted) or older than the ring cannot be resumed: the stream is told to ``reset``.

A stream gets only events inside its scope that pass its :class:`EventFilter` (kinds,
categories, area), in a bounded queue, rather than slowing ingest: a subscriber too slow
to keep up stops taking live events until it has read its queue, then catches up from
the ring; only what the ring no longer holds is lost, and the stream is told
(``dropped``).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeGuard

from fastapi import FastAPI, Request

from cim.scope import Scope

# Events a stream holds before dropping its oldest.
STREAM_QUEUE = 1000
# Events the hub keeps for streams that resume (the CIMTWIN_EVENT_REPLAY setting).
REPLAY_EVENTS = 20_000
# Kinds whose events carry a "category" (the category filter applies to them only).
CATEGORIZED_KINDS = frozenset({"alert", "incident"})

BBox = tuple[float, float, float, float]
# An event and its sequence number on its hub.
Stamped = tuple[int, "Event"]


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


@dataclass(frozen=True)
class EventFilter:
    """Which events of its scope a stream wants.

    - ``kinds``: the event kinds (empty: every kind).
    - ``categories``: alert and incident events pass only when their ``category`` is one of
      these (empty: any); events of other kinds carry no category and are not held back.
    - ``bbox``: (west, south, east, north) in CRS84 on the data's ``lon``/``lat``; an event
      without both passes unless ``strict_area`` (then only located events inside pass).
    """

    kinds: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    bbox: BBox | None = None
    strict_area: bool = False

    def passes(self, event: Event) -> bool:
        """Whether ``event`` passes this filter (the scope aside)."""
        if self.kinds and event.kind not in self.kinds:
            return False
        data = event.data
        if (
            self.categories
            and event.kind in CATEGORIZED_KINDS
            and data.get("category") not in self.categories
        ):
            return False
        if self.bbox is not None:
            lon, lat = data.get("lon"), data.get("lat")
            if not (_is_number(lon) and _is_number(lat)):
                return not self.strict_area
            west, south, east, north = self.bbox
            return west <= lon <= east and south <= lat <= north
        return True


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


EVERYTHING = EventFilter()


@dataclass(eq=False)
class Subscription:
    """One stream's events: what it missed first (``backlog``), then the live ones from its
    queue; read them with ``await next_stamped()`` (or ``next_event()``).

    ``reset`` holds the reason a resume was refused (the stream should reload its state);
    ``start_seq``, the hub's last sequence number when the stream subscribed; ``last_seq``,
    that of the last event handed out (none is handed out twice); ``dropped``, how many
    events (at least) the stream lost.
    """

    scope: Scope
    loop: asyncio.AbstractEventLoop
    filter: EventFilter = EVERYTHING
    queue: asyncio.Queue[Stamped] = field(default_factory=lambda: asyncio.Queue(STREAM_QUEUE))
    dropped: int = 0
    backlog: deque[Stamped] = field(default_factory=deque)
    reset: str | None = None
    start_seq: int = 0
    last_seq: int = 0
    # where a stream that fell behind reads what it missed (the hub's ring), and from which
    # event it missed them
    catching_up: Callable[[int], tuple[list[Stamped], bool]] | None = None
    behind_from: int | None = None
    # whether this stream receives an event
    wants: Callable[[Event], bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.wants = _wanting(self.scope, self.filter)

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this stream receives (empty: every kind)."""
        return self.filter.kinds

    def offer(self, stamped: Stamped) -> None:
        """Queue an event (on the stream's loop). When the queue is full, the stream falls
        behind: it takes no more live events until it has read its queue, then catches up
        from the hub's replay ring; without a ring (or once the ring no longer holds what
        it missed) the oldest are dropped and counted."""
        if self.behind_from is not None:
            return
        if self.queue.full():
            if self.catching_up is not None:
                self.behind_from = stamped[0]
                return
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(stamped)

    def _catch_up(self, behind_from: int) -> None:
        """Read what the stream missed since event ``behind_from`` from the ring."""
        assert self.catching_up is not None
        kept, complete = self.catching_up(behind_from)
        if not complete:
            self.dropped += 1  # at least: the ring no longer holds them all
        self.backlog.extend(item for item in kept if self.wants(item[1]))

    def _take(self, stamped: Stamped) -> bool:
        """Whether ``stamped`` is new to the stream (and note it as sent)."""
        if stamped[0] <= self.last_seq:
            return False
        self.last_seq = stamped[0]
        return True

    def take_ready(self, limit: int) -> list[Stamped]:
        """Up to ``limit`` events that need no waiting, in order, each once."""
        taken: list[Stamped] = []
        while len(taken) < limit:
            if self.backlog:
                stamped = self.backlog.popleft()
            elif not self.queue.empty():
                stamped = self.queue.get_nowait()
            elif self.behind_from is not None:  # the queue is read: catch up, take live ones
                behind_from, self.behind_from = self.behind_from, None
                self._catch_up(behind_from)
                continue
            else:
                break
            if self._take(stamped):
                taken.append(stamped)
        return taken

    async def next_stamped(self, timeout: float | None = None) -> Stamped | None:
        """The next event and its sequence number, or None after ``timeout`` seconds
        without one."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            ready = self.take_ready(1)
            if ready:
                return ready[0]
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                stamped = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                return None
            if self._take(stamped):
                return stamped

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds without one."""
        stamped = await self.next_stamped(timeout)
        return None if stamped is None else stamped[1]


def _wanting(scope: Scope, wanted: EventFilter) -> Callable[[Event], bool]:
    """Whether a stream of ``scope`` through ``wanted`` receives an event: the test made
    once per stream, as publishing runs it for every stream and event."""
    if wanted.categories or wanted.bbox is not None:
        return lambda event: scope.contains(event.jurisdiction) and wanted.passes(event)
    kinds, contains = wanted.kinds, scope.contains
    if not kinds:
        return lambda event: contains(event.jurisdiction)
    return lambda event: event.kind in kinds and contains(event.jurisdiction)


Listener = Callable[[Event], None]


class EventHub:
    """Event ids, the replay ring, subscriptions and listeners of one app.

    ``replay``: how many of the latest events are kept for streams that resume (0: none;
    every resume is then a reset unless nothing happened meanwhile).
    """

    def __init__(self, replay: int = REPLAY_EVENTS) -> None:
        if replay < 0:
            raise ValueError(f"the replay ring cannot hold {replay} events")
        self.boot = secrets.token_hex(4)
        self._lock = threading.Lock()  # the sequence, the ring, the sets
        self._publishing = threading.Lock()  # one publisher at a time: deliveries in order
        self._seq = 0
        self._ring: deque[Stamped] = deque(maxlen=replay)
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []
        self._streamed = False  # whether a stream has been opened: it may come back

    def event_id(self, seq: int) -> str:
        """The id of event ``seq`` of this hub."""
        return f"{self.boot}-{seq}"

    @property
    def last_id(self) -> str:
        """The id of the latest event (``<boot>-0`` before any)."""
        with self._lock:
            return self.event_id(self._seq)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every listener and every stream that wants it (any thread)."""
        self.publish_all([event])

    def publish_all(self, events: Iterable[Event]) -> None:
        """Publish several events in order (any thread): each gets the next id and a place
        in the replay ring. Each event loop holding streams is woken once for them all, not
        once per stream and event: a hundred viewers at a thousand events per second would
        otherwise cost 100 000 wake-ups a second."""
        events = list(events)
        if not events:
            return
        with self._publishing:
            with self._lock:
                first = self._seq + 1
                self._seq += len(events)
                stamped = list(zip(range(first, self._seq + 1), events, strict=True))
                self._ring.extend(stamped)
                subscriptions = list(self._subscriptions)
                listeners = self._listeners
            self._deliver(subscriptions, stamped)
        for event in events:
            for listener in listeners:
                listener(event)

    def _deliver(self, subscriptions: list[Subscription], stamped: list[Stamped]) -> None:
        """Queue on each stream what it wants, one wake-up per event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscription, list[Stamped]]]] = {}
        # streams of one scope and filter (viewers of one town) want the same: sorted once
        sorted_for: dict[tuple[Scope, EventFilter], list[Stamped]] = {}
        for subscription in subscriptions:
            key = (subscription.scope, subscription.filter)
            wanted = sorted_for.get(key)
            if wanted is None:
                wants = subscription.wants
                wanted = sorted_for[key] = [item for item in stamped if wants(item[1])]
            if wanted:
                by_loop.setdefault(subscription.loop, []).append((subscription, wanted))
        gone: list[Subscription] = []
        for loop, deliveries in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, deliveries)
            except RuntimeError:  # the loop has closed: its streams are gone
                gone.extend(subscription for subscription, _ in deliveries)
        if gone:
            with self._lock:
                self._subscriptions.difference_update(gone)

    def subscribe(
        self,
        scope: Scope,
        kinds: frozenset[str] = frozenset(),
        *,
        filter: EventFilter | None = None,
        last_event_id: str | None = None,
    ) -> Subscription:
        """A new stream of the events in ``scope`` that pass ``filter`` (or of ``kinds``;
        empty: every kind); call from the event loop that will read it.

        With ``last_event_id`` (the id of the last event a previous stream received), the
        events after it that the scope and filter let through come first, then the live
        ones; when they cannot be known (another boot, older than the ring, not an id of
        this hub) the subscription's ``reset`` says why and only live events follow.
        """
        if filter is None:
            filter = EventFilter(kinds=kinds)
        elif kinds and not filter.kinds:
            filter = EventFilter(kinds, filter.categories, filter.bbox, filter.strict_area)
        subscription = Subscription(scope, asyncio.get_running_loop(), filter)
        if self._ring.maxlen:
            subscription.catching_up = self.events_from
        with self._lock:
            self._subscriptions.add(subscription)
            self._streamed = True
            subscription.start_seq = subscription.last_seq = start = self._seq
            if last_event_id is None:
                return subscription
            after, subscription.reset = self._resume_point(last_event_id, start)
            missed = [] if subscription.reset else self._after(after)
        subscription.last_seq = after
        subscription.backlog.extend(item for item in missed if subscription.wants(item[1]))
        return subscription

    def _resume_point(self, last_event_id: str, start: int) -> tuple[int, str | None]:
        """The sequence number to resume after, or the reason it cannot be (under the
        lock)."""
        boot, _, number = last_event_id.strip().rpartition("-")
        if not (number.isascii() and number.isdigit()) or not boot:
            return start, f"{last_event_id!r} is not an event id of this server"
        if boot != self.boot:
            return start, "the server restarted: the events since are not known"
        seq = int(number)
        if seq > start:
            return start, f"event {last_event_id} has not happened"
        oldest = self._ring[0][0] if self._ring else start + 1
        if seq < oldest - 1:
            return start, (
                f"event {last_event_id} is older than the {self._ring.maxlen} events kept"
            )
        return seq, None

    def events_from(self, seq: int) -> tuple[list[Stamped], bool]:
        """The ring's events from ``seq`` on, and whether it still holds them all."""
        with self._lock:
            if not self._ring or seq < self._ring[0][0]:
                return list(self._ring), seq > self._seq
            return self._after(seq - 1), True

    def _after(self, seq: int) -> list[Stamped]:
        """The ring's events after ``seq`` (under the lock; ``seq`` within it)."""
        if not self._ring:
            return []
        return list(islice(self._ring, seq + 1 - self._ring[0][0], None))

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a stream."""
        with self._lock:
            self._subscriptions.discard(subscription)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event, in the publishing thread (keep it quick)."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            self._listeners = [known for known in self._listeners if known != listener]

    @property
    def has_takers(self) -> bool:
        """Whether an event published now would reach a stream or a listener, or be kept
        for a stream that resumes later (with a replay ring, once a stream has been opened:
        none can resume before). Publishers with costly events may skip making them when
        none would: an ingest without listeners makes no events until a viewer comes."""
        with self._lock:
            return bool(
                self._subscriptions or self._listeners or (self._ring.maxlen and self._streamed)
            )

    @property
    def stream_count(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscriptions)


def _deliver(deliveries: list[tuple[Subscription, list[Stamped]]]) -> None:
    """Queue events on their streams (in the streams' loop)."""
    for subscription, stamped in deliveries:
        for item in stamped:
            subscription.offer(item)


_MAKING = threading.Lock()


def event_hub_of(app: FastAPI) -> EventHub:
    """The app's hub, made at first use (its ring holds ``CIMTWIN_EVENT_REPLAY`` events)."""
    with _MAKING:
        hub: EventHub | None = getattr(app.state, "events", None)
        if hub is None:
            from api.settings import get_settings

            hub = EventHub(get_settings().event_replay)
            app.state.events = hub
    return hub


def event_hub(request: Request) -> EventHub:
    """The hub of the app serving ``request`` (a dependency)."""
    return event_hub_of(request.app)
