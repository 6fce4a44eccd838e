"""Announcing what the server stored, at QoS 0, off the request path and in bulk.

Every stored observation goes to two or three topics; through paho each publish costs about
20 µs of the server's one interpreter, spent in the thread that stored it. The announcer
keeps a connection of its own (MQTT 3.1.1, the server's account, no keep-alive) and
writes QoS 0 PUBLISH packets itself: a fixed header, the topic, the payload (about 3 µs
each), many per ``sendall``. Events wait in a queue that
the publishing threads fill without blocking; one thread turns them into packets. QoS 0
means at most once: when the connection breaks, the announcements in flight are dropped
and the next batch reconnects.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterable

from api.mqtt.broker import BrokerError

log = logging.getLogger(__name__)

# What one event becomes: (topic, payload) pairs.
Messages = Callable[[object], Iterable[tuple[str, bytes]]]
# Events turned into packets per write.
BATCH = 2000
CONNECT_TIMEOUT = 5.0


def remaining_length(size: int) -> bytes:
    """MQTT's variable-length encoding of a packet's remaining length."""
    out = bytearray()
    while True:
        digit, size = size % 128, size // 128
        out.append(digit | 0x80 if size else digit)
        if not size:
            return bytes(out)


def publish_packet(topic: str, payload: bytes) -> bytes:
    """A QoS 0 PUBLISH packet (no packet id, not retained)."""
    name = topic.encode()
    rest = len(name).to_bytes(2, "big") + name + payload
    return b"\x30" + remaining_length(len(rest)) + rest


def connect_packet(client_id: str, user: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with a clean session, a user name and a password, and no
    keep-alive (the broker never closes it for silence)."""

    def text(value: str) -> bytes:
        raw = value.encode()
        return len(raw).to_bytes(2, "big") + raw

    header = b"\x00\x04MQTT\x04" + bytes([0b1100_0010]) + b"\x00\x00"
    body = header + text(client_id) + text(user) + text(password)
    return b"\x10" + remaining_length(len(body)) + body


class Announcer:
    """A queue of events and the thread that publishes them (``messages`` says what each
    becomes)."""

    def __init__(
        self, host: str, port: int, user: str, password: str, client_id: str, messages: Messages
    ) -> None:
        self._address = (host, port)
        self._connect = connect_packet(client_id, user, password)
        self._messages = messages
        self._queue: queue.SimpleQueue[object | None] = queue.SimpleQueue()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="mqtt-announce", daemon=True)
        self.sent = 0
        self.dropped = 0

    def start(self) -> None:
        """Connect (refused: :class:`BrokerError`) and start publishing."""
        self._socket = self._open()
        self._thread.start()

    def put(self, event: object) -> None:
        """Queue an event (any thread; never blocks)."""
        self._queue.put(event)

    def stop(self) -> None:
        """Publish what is queued, then disconnect."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.sendall(b"\xe0\x00")  # DISCONNECT
            self._socket.close()
            self._socket = None

    def _open(self) -> socket.socket:
        try:
            connection = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT)
            connection.sendall(self._connect)
            answer = connection.recv(4)
        except OSError as exc:
            raise BrokerError(f"the announcer cannot reach the MQTT broker: {exc}") from None
        if len(answer) < 4 or answer[0] != 0x20 or answer[3] != 0:
            connection.close()
            code = answer[3] if len(answer) == 4 else "none"
            raise BrokerError(f"the MQTT broker refused the announcer (CONNACK code {code})")
        connection.settimeout(None)
        return connection

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(event is None for event in batch)
            self._send([event for event in batch if event is not None])
            if stopping:
                return

    def _send(self, events: list[object]) -> None:
        packets = []
        for event in events:
            try:
                packets += [publish_packet(t, p) for t, p in self._messages(event)]
            except Exception:  # one bad event must not stop the announcements
                log.exception("MQTT: an event could not be announced")
        if not packets:
            return
        try:
            if self._socket is None:
                self._socket = self._open()
            self._socket.sendall(b"".join(packets))
            self.sent += len(packets)
        except (OSError, BrokerError) as exc:
            self.dropped += len(packets)
            log.warning("MQTT: %d announcements dropped: %s", len(packets), exc)
            if self._socket is not None:
                self._socket.close()
            self._socket = None
