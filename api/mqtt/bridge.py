"""The server's own MQTT client: it stores what devices publish and publishes what the
server created.

Creating: it subscribes to ``v1.1/+/Observations`` with QoS 1 in a persistent session
(MQTT 3.1.1, clean session off: paho decodes an MQTT 5 message's properties at a cost
that capped ingest; the broker's ``max_inflight_messages`` lets a batch's worth of
messages wait for their acknowledgement) and acknowledges
manually: a message's PUBACK goes out only once the batch holding it is committed, so an
observation the broker accepted is stored or still waits in the broker for the next
connection, whatever happens to the server. Messages are stored in batches (up to
``batch_size`` or ``batch_wait`` seconds) through :func:`simulation.sensors.ingest.ingest`.
Only ``v1.1/Datastreams(<id>)/Observations`` creates: the broker's ACL lets a device
publish there for the datastreams of its jurisdiction only, and as the broker does not
say who published, an observation is stored with the scope of the whole city (the ACL
already checked it). A body naming another datastream than its topic is refused. A
message that cannot be read, or a row the ingest rejects, is acknowledged (sending it
again would not help) and logged with its reason.

Publishing: every ``"observation"`` event of the app's hub goes to ``v1.1/Observations``,
``v1.1/Datastreams(<id>)/Observations`` and ``v1.1/FeaturesOfInterest(<id>)/Observations``
(QoS 0) as its SensorThings JSON. An observation created over MQTT is not published again
to its datastream's topic: the device's own message (its JSON as sent, without
``@iot.id``) already went to that topic's subscribers; the two other topics carry the
stored one. ``v1.1/Observations(<id>)`` is not published at creation: nobody can have
subscribed to an id not yet given. The announcements (sent by :mod:`api.mqtt.announcer`
on a connection of its own) come back to this client on the topics it reads: a message
carrying ``@iot.selfLink`` announces a stored entity, is no creation, and is dropped
unread (acknowledged when it came with QoS 1). An ``"entity"`` event publishes the entity's JSON:
a created one to its collection (``v1.1/Things``), an updated one to its own topic
(``v1.1/Things(3)``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from api.events import Event, EventHub
from api.mqtt.announcer import Announcer
from api.mqtt.broker import BrokerError
from api.mqtt.topics import (
    CREATE_FILTER,
    datastream_of,
    entity_topics,
    observation_topics,
    sta_payload,
)
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.errors import SensorError
from simulation.sensors.ingest import ingest
from simulation.sensors.parse import observation_from_json
from simulation.sensors.records import IngestResult, ObservationIn, StoredObservation

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
BATCH_WAIT = 0.02
# Unacknowledged messages the broker may send the server (MQTT 5 Receive Maximum).
# What marks a message as the announcement of a stored entity, not a creation.
ANNOUNCEMENT = b'"@iot.selfLink"'
CONNECT_WAIT = 10.0
READ_AHEAD = 65536
RETRY_WAIT_MAX = 5.0

ObservationEvents = Callable[[Sequence[StoredObservation]], list[Event]]
EntityReader = Callable[[str, int], dict[str, Any] | None]


@dataclass(frozen=True)
class AppLinks:
    """What the MQTT side uses of the app: its database and hub, how to make the events of
    stored observations, and how to read an entity's JSON (None: entity changes are not
    published)."""

    db: OpsDatabase
    hub: EventHub
    events_of: ObservationEvents
    read_entity: EntityReader | None = None


@dataclass(frozen=True)
class Endpoint:
    """A broker's address and the server's account on it."""

    host: str
    port: int
    user: str
    password: str


class _ReadAheadClient(mqtt.Client):
    """paho's client reading the socket in large chunks: paho asks for each packet's bytes
    in three or more ``recv`` calls after a ``select``; this serves them from one read of up
    to ``READ_AHEAD`` bytes; and dropping the server's own announcements unread (relies on
    paho 2's ``_sock_recv``, ``_sock_close``, ``loop_read``, ``_handle_publish`` and
    ``_in_packet``)."""

    _chunk = b""
    _offset = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._offset >= len(self._chunk):
            self._chunk, self._offset = super()._sock_recv(READ_AHEAD), 0  # may raise EAGAIN
        start = self._offset
        self._offset = min(len(self._chunk), start + bufsize)
        return self._chunk[start : self._offset]

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # what was read ahead is invisible to select(): handle all of it now
        code = super().loop_read(max_packets)
        while code == mqtt.MQTT_ERR_SUCCESS and self._offset < len(self._chunk) and self._sock:
            code = super().loop_read(max_packets)
        return code

    def _sock_close(self) -> None:
        self._chunk, self._offset = b"", 0
        super()._sock_close()

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        # the server's own announcements (QoS 0, with a self link) come back on the
        # datastream topics it subscribes to: drop them before paho builds a message
        packet = self._in_packet
        if not packet["command"] & 0x06 and ANNOUNCEMENT in packet["packet"]:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_publish()


@dataclass(frozen=True)
class _Received:
    """A message waiting to be stored, with the connection it came on."""

    message: mqtt.MQTTMessage
    connection: int


class Bridge:
    """The server's MQTT client (see the module's description)."""

    def __init__(
        self,
        links: AppLinks,
        endpoint: Endpoint,
        *,
        client_id: str,
        batch_size: int = BATCH_SIZE,
        batch_wait: float = BATCH_WAIT,
    ) -> None:
        self.links = links
        self.db = links.db
        self.hub = links.hub
        self.endpoint = endpoint
        self.events_of = links.events_of
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.stored = 0
        self.rejected = 0
        self._received: queue.SimpleQueue[_Received] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._connection = 0
        self._refusal: str | None = None
        self._from_devices = threading.local()
        self._worker = threading.Thread(target=self._store_loop, name="mqtt-ingest", daemon=True)
        # stored observations whose events are still to publish (None: no more)
        self._created: queue.SimpleQueue[list[StoredObservation] | None] = queue.SimpleQueue()
        self._announcer = threading.Thread(
            target=self._announce_loop, name="mqtt-events", daemon=True
        )
        self.client = _ReadAheadClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=False,
            manual_ack=True,
        )
        self.announcer = Announcer(
            endpoint.host, endpoint.port, endpoint.user, endpoint.password,
            f"{client_id}-announce", self._messages_of,
        )  # fmt: skip
        self.client.username_pw_set(endpoint.user, endpoint.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self, timeout: float = CONNECT_WAIT) -> None:
        """Connect, subscribe, and start storing and publishing.

        Raises
        ------
        BrokerError
            When the broker refuses the server's account or cannot be reached.
        """
        try:
            self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=30)
        except OSError as exc:
            raise BrokerError(f"cannot reach the MQTT broker: {exc}") from None
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._subscribed.wait(0.05):
            if self._refusal is not None or time.monotonic() > deadline:
                self.client.loop_stop()
                raise BrokerError(
                    f"the MQTT broker refused the server: {self._refusal or 'no answer'}"
                )
        try:
            self.announcer.start()
        except BrokerError:
            self.client.loop_stop()
            raise
        self._worker.start()
        self._announcer.start()
        self.hub.add_listener(self.publish_event)

    def stop(self) -> None:
        """Stop publishing, store what was received, and disconnect."""
        self.hub.remove_listener(self.publish_event)
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join()
        self._created.put(None)
        if self._announcer.is_alive():
            self._announcer.join()
        self.announcer.stop()
        self.client.disconnect()
        self.client.loop_stop()

    # --- receiving ------------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _: object, flags: Any, reason: ReasonCode, __: Any
    ) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            client.disconnect()  # no reconnection with a refused account
            return
        client.subscribe(CREATE_FILTER, qos=1)

    def _on_subscribe(self, *_: Any) -> None:
        self._subscribed.set()

    def _on_disconnect(self, *_: Any) -> None:
        # messages of the closed connection are sent again on the next one: never
        # acknowledge them on the new connection, where their ids mean other messages
        self._connection += 1

    def _on_message(self, _: mqtt.Client, __: object, message: mqtt.MQTTMessage) -> None:
        self._received.put(_Received(message, self._connection))

    def _store_loop(self) -> None:
        while not (self._stopping.is_set() and self._received.empty()):
            batch = self._next_batch()
            if batch:
                self._store(batch)

    def _next_batch(self) -> list[_Received]:
        try:
            batch = [self._received.get(timeout=0.1)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_size:
            wait = deadline - time.monotonic()
            try:
                batch.append(
                    self._received.get(timeout=wait) if wait > 0 else self._received.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[_Received]) -> None:
        rows: list[ObservationIn] = []
        problems: list[str] = []
        for received in batch:
            if ANNOUNCEMENT in received.message.payload:  # the server's own
                continue
            try:
                rows.append(_parse(received.message))
            except (ValueError, SensorError) as exc:
                problems.append(f"{received.message.topic}: {exc}")
        result = self._ingest(rows)
        if result is None:  # stopping while the database fails: the broker keeps them
            return
        problems += [f"row {r.index}: {r.reason}" for r in result.rejected]
        self.stored += len(result.created)
        self.rejected += len(problems)
        if problems:
            log.warning("MQTT: %d observation(s) refused, first: %s", len(problems), problems[0])
        if result.created:  # announced by another thread, while this one stores the next
            self._created.put(result.created)
        for received in batch:
            if received.message.qos > 0 and received.connection == self._connection:
                self.client.ack(received.message.mid, received.message.qos)

    def _announce_loop(self) -> None:
        while (created := self._created.get()) is not None:
            self._publish_created(created)

    def _publish_created(self, created: list[StoredObservation]) -> None:
        """Hand the stored observations' events to the hub (they are stored: a failure here
        is logged, and their messages are acknowledged all the same)."""
        self._from_devices.active = True
        try:
            self.hub.publish_all(self.events_of(created))
        except Exception:
            log.exception("MQTT: the events of %d stored observations were lost", len(created))
        finally:
            self._from_devices.active = False

    def _ingest(self, rows: list[ObservationIn]) -> IngestResult | None:
        """``ingest(rows)``, tried again while the database fails (nothing is acknowledged
        meanwhile); None when stopping first."""
        wait = 0.1
        while True:
            try:
                return ingest(self.db, rows, Scope.everything())
            except Exception:  # the database is down or busy: try again
                log.exception("MQTT: storing %d observations failed; trying again", len(rows))
            if self._stopping.wait(wait):
                return None
            wait = min(wait * 2, RETRY_WAIT_MAX)

    # --- publishing -----------------------------------------------------------------------

    def publish_event(self, event: Event) -> None:
        """Queue a hub event for the extension's topics (a hub listener: it never blocks;
        the announcer publishes)."""
        if event.kind in ("observation", "entity"):
            self.announcer.put((event, getattr(self._from_devices, "active", False)))

    def _messages_of(self, item: object) -> list[tuple[str, bytes]]:
        """The topics and payload of a queued event (in the announcer's thread)."""
        assert isinstance(item, tuple)
        event, from_device = item
        assert isinstance(event, Event)
        if event.kind == "observation":
            topics = observation_topics(event.data, with_datastream=not from_device)
            payload = json.dumps(sta_payload(event.data), separators=(",", ":")).encode()
        elif event.kind == "entity" and self.links.read_entity is not None:
            kind, entity_id = str(event.data["type"]), int(event.data["id"])
            if event.data.get("change") not in ("created", "updated"):
                return []
            body = self.links.read_entity(kind, entity_id)
            if body is None:  # deleted since
                return []
            created = event.data["change"] == "created"
            topics = entity_topics(kind, entity_id, created=created)
            payload = json.dumps(body, separators=(",", ":")).encode()
        else:
            return []
        return [(topic, payload) for topic in topics]


def _parse(message: mqtt.MQTTMessage) -> ObservationIn:
    datastream = datastream_of(message.topic)
    if datastream is None:
        raise ValueError("observations are created on v1.1/Datastreams(<id>)/Observations only")
    return observation_from_json(json.loads(message.payload), datastream)
