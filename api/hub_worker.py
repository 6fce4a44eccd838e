"""A thread that handles what an app's event hub publishes, in batches, off the publishing
threads: the base of the alert engine and of the live simulations.

The hub calls the worker's listener in the thread that published (an ingest, an MQTT
message); the listener only queues. The worker's own thread takes what is queued in
batches, and also wakes every ``period_seconds`` (or when :meth:`HubWorker.wake_periodic`
asks) for its periodic work. :meth:`HubWorker.drain` waits until everything queued so far
is handled, which the tests and the shutdown rely on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from api.events import Event, EventHub

log = logging.getLogger(__name__)


class Signal:
    """A request to the worker's thread, queued among the items."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Signal({self.name!r})"


#: Do the periodic work now (it is then due again ``period_seconds`` later).
PERIODIC = Signal("periodic")
#: Only wake the thread (its batch handling runs, with nothing new).
WAKE = Signal("wake")
#: End the thread once the items queued before it are handled.
STOP = Signal("stop")


class HubWorker:
    """Items queued from any thread, handled in batches by one thread of its own.

    Subclasses implement :meth:`handle` (``batch``: the items and signals taken together;
    ``periodic``: whether the periodic work is due) and queue items with :meth:`put`,
    usually from a hub listener switched on and off with :meth:`listen`.
    """

    #: The thread's name, also in the log.
    name = "hub worker"
    #: The most items handled in one batch.
    batch_max = 5000

    def __init__(
        self, hub: EventHub, period_seconds: float, wake_seconds: float | None = None
    ) -> None:
        """``wake_seconds``: wake at least that often even when nothing is queued and the
        periodic work is not due (None: sleep until it is due)."""
        self.hub = hub
        self.period_seconds = period_seconds
        self.wake_seconds = wake_seconds
        self.failures = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._lock = threading.Lock()
        self._listening = False
        self._thread: threading.Thread | None = None

    # --- life -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread; its periodic work runs first, off the server's start-up."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self.put(PERIODIC)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening and end the thread (what is queued is handled first)."""
        self.listen(False)
        if self._thread is not None:
            self.put(STOP)
            self._thread.join(timeout)
            self._thread = None

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is handled; whether it was within
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def wake_periodic(self) -> None:
        """Do the periodic work now, in the thread (:meth:`drain` waits for it)."""
        self.put(PERIODIC)

    @property
    def listening(self) -> bool:
        """Whether the listener receives the hub's events now."""
        return self._listening

    # --- what subclasses use --------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The hub listener :meth:`listen` adds: queue what :meth:`handle` needs."""
        raise NotImplementedError

    def handle(self, batch: list[object], periodic: bool) -> None:
        """Handle one batch in the worker's thread; an exception is logged and counted."""
        raise NotImplementedError

    def listen(self, on: bool) -> None:
        """Add :meth:`on_event` to the hub's listeners, or remove it."""
        with self._lock:
            if on and not self._listening:
                self.hub.add_listener(self.on_event)
            elif not on and self._listening:
                self.hub.remove_listener(self.on_event)
            self._listening = on

    def put(self, item: object) -> None:
        """Queue an item or a :class:`Signal` for the thread."""
        with self._idle:
            self._pending += 1
        self._queue.put(item)

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        next_periodic = time.monotonic() + self.period_seconds
        while True:
            until_due = max(0.0, next_periodic - time.monotonic())
            wait = until_due if self.wake_seconds is None else min(until_due, self.wake_seconds)
            batch = self._batch(wait)
            periodic = PERIODIC in batch or time.monotonic() >= next_periodic
            if periodic:
                next_periodic = time.monotonic() + self.period_seconds
            try:
                self.handle(batch, periodic)
            except Exception:  # a database down, a run refused: log, go on with the next batch
                self.failures += 1
                log.exception("%s: a batch of %d items failed", self.name, len(batch))
            finally:
                self._done(len(batch))
            if STOP in batch:
                return

    def _batch(self, wait: float) -> list[object]:
        """What is queued, waiting up to ``wait`` seconds for a first item."""
        try:
            batch = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending = max(0, self._pending - count)
            if not self._pending:
                self._idle.notify_all()
