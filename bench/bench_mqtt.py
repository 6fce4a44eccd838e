"""SensorThings over MQTT: observations per second created by devices, and the latency from
ingest to subscribers, through a real Mosquitto run by the app.

Usage::

    .venv/bin/python bench/bench_mqtt.py [--observations 30000] [--publishers 4]
        [--subscribers 100] [--rate 1000] [--seconds 10]

- create: ``--publishers`` device processes publish ``--observations`` observations (QoS 1,
  each with its own API key's password, over 100 datastreams) to
  ``v1.1/Datastreams(id)/Observations``; the server's client stores them in batches and
  acknowledges each once committed. Observations per second = stored / (last stored -
  first sent). The server, the broker and the devices share this machine's cores, so the
  CPU seconds of the server process (every thread) and of Mosquitto are printed too, with
  observations per CPU second of each (Orion-LD's figure is per broker CPU).
- latency: ``--subscribers`` clients (in two processes) each subscribe to one datastream's
  topic; the server ingests ``--rate`` observations per second (batches every 20 ms, as
  the HTTP create route does: ingest, then the hub's events) for ``--seconds``; each
  observation carries the time just before its ingest, and each subscriber the time it
  received it: p50, p99 and worst over every delivery.

The peers' published figures are printed beside ours: Orion-LD about 1 800 entity
updates per second per broker CPU; Hamburg's FROST about 2 000 observations per second
sustained.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_sensors import JURISDICTION, seed_datastreams
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import accounts
from api.auth.clock import utc_now
from api.auth.state import auth_state_of
from api.events import event_hub_of
from api.mqtt.broker import free_port
from api.mqtt.service import MqttService, observation_events
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.ingest import ingest
from simulation.sensors.records import ObservationIn

ORION_LD = 1_800.0  # entity updates/s per broker CPU
FROST_HAMBURG = 2_000.0  # observations/s sustained
CREATE_AIM = 5_000.0  # the aim, observations/s through MQTT
DATASTREAMS = 100
START_US = 1_800_000_000_000_000


@contextmanager
def served(folder: Path) -> Iterator[tuple[FastAPI, OpsDatabase, list[int], int]]:
    """An app with MQTT on a free port over ``DATASTREAMS`` datastreams; their ids."""
    city = folder / "city"
    city.mkdir()
    app = create_app(city, worker=False, mqtt="auto")
    port = free_port()
    app.state.mqtt_port = port
    db = auth_state_of(app).db
    streams = seed_datastreams(db, DATASTREAMS, START_US)
    with TestClient(app):
        service: MqttService | None = app.state.mqtt_service
        if service is None:
            sys.exit("MQTT did not start (is Mosquitto installed?)")
        yield app, db, streams, port


def device_key(app: FastAPI, actions: tuple[str, ...]) -> tuple[str, str]:
    """A new key's id and the key, known to the broker."""
    record, key = accounts.create_key(
        auth_state_of(app).db, "bench", jurisdiction=JURISDICTION, actions=actions,
        now=utc_now(), actor="local:bench",
    )  # fmt: skip
    service: MqttService = app.state.mqtt_service
    assert service.refresher is not None
    service.refresher.refresh()
    return record.id, key


def publish_part(
    port: int, user: str, password: str, streams: list[int], first: int, count: int
) -> float:
    """Publish ``count`` observations (QoS 1); the time the first was sent."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set(user, password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.time()
    last = None
    for number in range(first, first + count):
        stream = streams[number % len(streams)]
        body = f'{{"phenomenonTime":"{_iso(START_US + number * 1000)}","result":{number % 97}}}'
        last = client.publish(f"v1.1/Datastreams({stream})/Observations", body, qos=1)
        if number % 500 == 0:
            while len(client._out_messages) > 2000:  # keep the client's queue short
                time.sleep(0.001)
    if last is not None:
        last.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()
    return started


def _iso(time_us: int) -> str:
    from simulation.sensors.times import format_time

    return format_time(time_us)


def bench_create(
    app: FastAPI, port: int, streams: list[int], total: int, publishers: int
) -> dict[str, Any]:
    """Observations per second created by ``publishers`` device processes."""
    service: MqttService = app.state.mqtt_service
    assert service.broker is not None
    user, key = device_key(app, ("observe",))
    share = total // publishers
    stored_before = service.bridge.stored
    cpu_before = (_own_cpu(), _process_cpu(service.broker.process.pid))
    with multiprocessing.get_context("spawn").Pool(publishers) as pool:
        pending = pool.starmap_async(
            publish_part,
            [(port, user, key, streams, 1 + i * share, share) for i in range(publishers)],
        )
        expected = stored_before + share * publishers
        while service.bridge.stored < expected:
            time.sleep(0.05)
        done = time.time()
        first_sent = min(pending.get(120))
    stored = service.bridge.stored - stored_before
    server_cpu = _own_cpu() - cpu_before[0]
    broker_cpu = _process_cpu(service.broker.process.pid) - cpu_before[1]
    return {"stored": stored, "seconds": round(done - first_sent, 3),
            "per_second": round(stored / (done - first_sent)),
            "server_cpu_s": round(server_cpu, 2), "broker_cpu_s": round(broker_cpu, 2),
            "per_server_cpu_second": round(stored / server_cpu),
            "per_broker_cpu_second": round(stored / broker_cpu)}  # fmt: skip


def _own_cpu() -> float:
    """CPU seconds of this process (the app, its MQTT client and its ingest), every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def subscribe_part(
    port: int, user: str, password: str, topics: list[str], ready: Any, stop: Any, out: Any
) -> None:
    """One process of subscribers (one client per topic): each delivery's latency (s)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    latencies: list[float] = []
    lock = threading.Lock()

    def received(_: Any, __: Any, message: Any) -> None:
        now = time.time()
        sent = json.loads(message.payload)["result"]
        with lock:
            latencies.append(now - sent)

    clients = []
    for topic in topics:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.username_pw_set(user, password)
        client.on_message = received
        client.connect("127.0.0.1", port)
        client.subscribe(topic, 0)
        client.loop_start()
        clients.append(client)
    time.sleep(1.0)  # let every SUBSCRIBE reach the broker
    ready.set()
    stop.wait()
    for client in clients:
        client.disconnect()
        client.loop_stop()
    out.put(latencies)


def bench_latency(app: FastAPI, db: OpsDatabase, port: int, streams: list[int], subscribers: int,
                  rate: int, seconds: float) -> dict[str, Any]:  # fmt: skip
    """Ingest ``rate`` observations/s for ``seconds``; latency to ``subscribers`` clients."""
    user, key = device_key(app, ("read",))
    topics = [
        f"v1.1/Datastreams({streams[i % len(streams)]})/Observations" for i in range(subscribers)
    ]
    context = multiprocessing.get_context("spawn")
    ready = [context.Event() for _ in range(2)]
    stop, out = context.Event(), context.Queue()
    halves = [topics[: subscribers // 2], topics[subscribers // 2 :]]
    workers = [
        context.Process(target=subscribe_part, args=(port, user, key, half, flag, stop, out))
        for half, flag in zip(halves, ready, strict=True)
    ]
    for worker in workers:
        worker.start()
    for flag in ready:
        flag.wait(60)
    hub = event_hub_of(app)
    events_of = observation_events(db, "http://127.0.0.1:8000")
    batch = max(1, rate // 50)
    number = 10_000_000
    begin = time.monotonic()
    for tick in range(int(seconds * 50)):
        wait = begin + tick / 50 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        rows = []
        for _ in range(batch):
            number += 1
            rows.append(
                ObservationIn(streams[number % len(streams)], START_US + number * 1000, time.time())
            )
        result = ingest(db, rows, Scope.everything())
        hub.publish_all(events_of(result.created))
    time.sleep(1.0)
    stop.set()
    latencies = sorted(value for _ in workers for value in out.get(timeout=60))
    for worker in workers:
        worker.join()
    sent = int(seconds * 50) * batch
    if not latencies:
        return {"deliveries": 0}
    return {
        "observations": sent,
        "deliveries": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--observations", type=int, default=30_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, served(Path(folder)) as (app, db, streams, port):
        create = bench_create(app, port, streams, args.observations, args.publishers)
        print(json.dumps({"create_via_mqtt": create}))
        ours = create["per_second"]
        per_broker_cpu = create["per_broker_cpu_second"]
        print(f"  ours {ours:,}/s (aim {CREATE_AIM:,.0f}/s); FROST Hamburg {FROST_HAMBURG:,.0f}/s:"
              f" x{ours / FROST_HAMBURG:.1f}; per broker CPU second {per_broker_cpu:,}, Orion-LD"
              f" {ORION_LD:,.0f}: x{per_broker_cpu / ORION_LD:.1f}")  # fmt: skip
        latency = bench_latency(app, db, port, streams, args.subscribers, args.rate, args.seconds)
        print(json.dumps({"ingest_to_subscriber": latency | {
            "rate": args.rate, "subscribers": args.subscribers}}))  # fmt: skip


if __name__ == "__main__":
    main()
