"""MQTT with the app: the broker (or an external one), its access files kept up to date, the
server's client; started by the app's lifespan when ``create_app(mqtt=...)`` asks.

``mqtt`` is ``"off"``, ``"auto"`` (run Mosquitto when it is installed, on
``CIMTWIN_MQTT_PORT`` of ``CIMTWIN_HOST``'s loopback) or ``mqtt://user:password@host:port``
of a broker the operator runs (and whose accounts they manage). The server runs without
MQTT when it is off or cannot start, and logs why.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from api.events import Event, EventHub
from api.mqtt.bridge import AppLinks, Bridge, Endpoint, EntityReader, ObservationEvents
from api.mqtt.broker import Broker, BrokerConfig, BrokerError, mosquitto_path
from api.mqtt.credentials import ServerUser, acl_file, password_file, write_if_changed
from cim.ops import keys
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.catalog import catalog_fingerprint, read_catalog
from simulation.sensors.records import StoredObservation

log = logging.getLogger(__name__)

FOLDER = "mqtt"
REFRESH_SECONDS = 2.0


class AccessFiles:
    """The broker's password and ACL files, made again when keys or entities change."""

    def __init__(self, db: OpsDatabase, config: BrokerConfig, server: ServerUser) -> None:
        self.db = db
        self.config = config
        self.server = server
        self._fingerprint: tuple[object, ...] | None = None

    def fingerprint(self) -> tuple[object, ...]:
        """What changes when the files would change (counts of keys, revocations, ids)."""
        return keys.keys_fingerprint(self.db) + catalog_fingerprint(self.db)

    def write(self, force: bool = False) -> bool:
        """Write the files if the fingerprint changed (or ``force``); whether either file's
        text changed."""
        fingerprint = self.fingerprint()
        if not force and fingerprint == self._fingerprint:
            return False
        all_keys = keys.list_keys(self.db)
        catalog = read_catalog(self.db)
        self.config.folder.mkdir(parents=True, exist_ok=True)
        changed = write_if_changed(self.config.password_file, password_file(self.server, all_keys))
        changed |= write_if_changed(self.config.acl_file, acl_file(self.server, all_keys, catalog))
        self._fingerprint = fingerprint
        return changed


class Refresher:
    """A thread that rewrites the access files every ``period`` seconds when their
    fingerprint changed, or at once after an ``"entity"`` event, and reloads the broker."""

    def __init__(self, files: AccessFiles, broker: Broker, period: float = REFRESH_SECONDS):
        self.files = files
        self.broker = broker
        self.period = period
        self._wake = threading.Event()
        self._force = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-access", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def refresh(self, force: bool = False) -> bool:
        """Rewrite the files now if needed and reload the broker; whether it reloaded."""
        if self.files.write(force):
            self.broker.reload()
            return True
        return False

    def on_event(self, event: Event) -> None:
        """A hub listener: an entity changed (its jurisdiction perhaps): look again now."""
        if event.kind == "entity":
            self._force = True
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.period)
            self._wake.clear()
            force, self._force = self._force, False
            try:
                self.refresh(force)
            except Exception:  # the database is busy or down: try at the next turn
                log.exception("MQTT: the broker's access files could not be made")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()


@dataclass
class MqttService:
    """What runs for MQTT: the broker (None when external), its files, the client."""

    url: str
    bridge: Bridge
    broker: Broker | None = None
    refresher: Refresher | None = None
    hub: EventHub | None = None

    def stop(self) -> None:
        """Stop everything, the client first (it stores what it received)."""
        if self.refresher is not None:
            if self.hub is not None:
                self.hub.remove_listener(self.refresher.on_event)
            self.refresher.stop()
        self.bridge.stop()
        if self.broker is not None:
            self.broker.stop()


def start_mqtt(
    mode: str,
    links: AppLinks,
    *,
    city_dir: Path,
    host: str = "127.0.0.1",
    port: int = 1883,
    websockets_port: int | None = None,
) -> MqttService | None:
    """Start MQTT as ``mode`` says (see the module); None, with a logged reason, when it is
    off or cannot start. Call from a thread that lives as long as the broker should."""
    mode = mode.strip()
    if mode.lower() in ("", "off", "false", "no", "0"):
        log.info("MQTT is off (CIMTWIN_MQTT=off)")
        return None
    client_id = "cimtwin-" + hashlib.sha256(str(city_dir.resolve()).encode()).hexdigest()[:16]
    try:
        if mode.lower() == "auto":
            config = BrokerConfig(city_dir / FOLDER, port, host, websockets_port)
            return _start_managed(config, links, client_id)
        return _start_external(mode, links, client_id)
    except BrokerError as exc:
        log.warning("MQTT is off: %s", exc)
        return None


def _start_managed(config: BrokerConfig, links: AppLinks, client_id: str) -> MqttService:
    if mosquitto_path() is None:
        raise BrokerError("Mosquitto is not installed (apt-get install mosquitto)")
    server = ServerUser.new()
    files = AccessFiles(links.db, config, server)
    files.write(force=True)
    broker = Broker.start(config)
    endpoint = Endpoint(config.host, config.port, server.name, server.password)
    bridge = Bridge(links, endpoint, client_id=client_id)
    try:
        bridge.start()
    except BrokerError:
        broker.stop()
        raise
    refresher = Refresher(files, broker)
    refresher.start()
    links.hub.add_listener(refresher.on_event)
    log.info("MQTT broker on %s (devices: user = API key id, password = the key)", broker.url)
    return MqttService(broker.url, bridge, broker, refresher, links.hub)


def _start_external(url: str, links: AppLinks, client_id: str) -> MqttService:
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise BrokerError(f"CIMTWIN_MQTT={url!r}: use off, auto or mqtt://user:password@host:port")
    endpoint = Endpoint(
        parts.hostname, parts.port or 1883, parts.username or "", parts.password or ""
    )
    bridge = Bridge(links, endpoint, client_id=client_id)
    bridge.start()
    address = f"mqtt://{endpoint.host}:{endpoint.port}"
    log.info("MQTT: the server's client is connected to %s", address)
    return MqttService(address, bridge)


def observation_events(db: OpsDatabase, base_url: str) -> ObservationEvents:
    """The hub events of observations stored from MQTT, as those of the HTTP writes (their
    SensorThings JSON with self links under ``base_url``, datastream, thing and feature of
    interest ids, city object, level)."""
    from api.sta import publish

    def events_of(created: Sequence[StoredObservation]) -> list[Event]:
        return publish.observation_events(db, created, base_url)

    return events_of


def entity_reader(db: OpsDatabase, base_url: str) -> EntityReader:
    """The SensorThings JSON of an entity by its type name and id (None once deleted)."""
    from api.sta.serialize import read_entity
    from simulation.sensors.errors import EntityNotFoundError

    def read(kind: str, entity_id: int) -> dict[str, Any] | None:
        try:
            return read_entity(db, kind, entity_id, Scope.everything(), base_url)
        except EntityNotFoundError:
            return None

    return read


def start_for_app(app: FastAPI) -> MqttService | None:
    """Start MQTT for ``app`` as ``app.state.mqtt`` says (None or "off": not at all), the
    broker on ``app.state.mqtt_port`` (default ``CIMTWIN_MQTT_PORT``). Call it from the
    thread running the app's lifespan: the broker stops when that thread ends."""
    from api.auth.state import auth_state_of
    from api.events import event_hub_of
    from api.settings import get_settings

    mode: str | None = getattr(app.state, "mqtt", None)
    if mode is None or mode.strip().lower() == "off":
        return None
    settings = get_settings()
    base_url = getattr(app.state, "base_url", None) or f"http://{settings.host}:{settings.port}"
    db = auth_state_of(app).db
    links = AppLinks(
        db, event_hub_of(app), observation_events(db, base_url), entity_reader(db, base_url)
    )
    service = start_mqtt(
        mode,
        links,
        city_dir=app.state.city_dir,
        host=getattr(app.state, "mqtt_host", "127.0.0.1"),
        port=getattr(app.state, "mqtt_port", settings.mqtt_port),
        websockets_port=settings.mqtt_websockets_port or None,
    )
    app.state.mqtt_service = service
    return service
