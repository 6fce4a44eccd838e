"""The delay from a threshold crossing posted over SensorThings to its ``"alert"`` event:
on the server's hub, and at a server-sent-event subscriber.

Usage::

    .venv/bin/python bench/bench_alert_latency.py [--crossings 100]

A city with one datastream and a rule on it (above 50, cleared at or below 40, no minimum
duration, an incident category: each raise opens or updates an incident) is served by
``cimtwin serve``'s app in a child process (uvicorn, MQTT off, no write rate limit). This
process posts ``POST /sta/v1.1/Observations`` values alternately above and below the
threshold, ``--crossings`` in all, waiting for each alert before the next, and prints the
delay from just before the POST to:

- the hub: the server's own listener notes when the alert engine publishes the event
  (ingest, queueing, evaluation in the engine's thread, the alert, incident and step rows
  in one transaction);
- an SSE subscriber of ``GET /api/events/stream?kinds=alert`` (the stream of every event
  kind, opened with a one-use ticket) when the server has that route; the sensor stream
  (``/api/sensors/stream``) carries observations and entity changes only.

Median, p99 and worst of each; both processes read the same clock. No peer publishes this
figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_sensor_stream import free_port
from bench_sensors import JURISDICTION, seed_datastreams
from common import admin_headers, server_env, server_secret

from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore

RAISE, CLEAR = 50.0, 40.0

# The child process: the app, with a hub listener printing when each alert is published.
SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import uvicorn
    from api.app import create_app
    from api.events import event_hub_of

    app = create_app(Path(sys.argv[1]), worker=False)

    def heard(event):
        if event.kind == "alert":
            print(f"ALERT {time.time_ns()} {event.data['status']}", flush=True)

    event_hub_of(app).add_listener(heard)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def prepare(city: Path) -> int:
    """The city, its datastream and the rule on it; the datastream's id."""
    from simulation.incidents.rules import RuleIn, create_rule

    CityStore.create(city, "EPSG:4547", "alert latency").close()
    now_us = time.time_ns() // 1000
    with OpsDatabase.for_city(city) as db:
        (stream,) = seed_datastreams(db, 1, now_us)
        rule = RuleIn("bench high water", JURISDICTION, "above", RAISE, CLEAR,
                      datastream_id=stream, category="waterlogging")  # fmt: skip
        create_rule(db, rule, creator="bench", scope=Scope.everything(), now_us=now_us)
    return stream


def start_server(city: Path) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    port = free_port()
    root = str(Path(__file__).resolve().parent.parent)
    secret = server_secret()
    headers = admin_headers(city, secret)
    env = server_env(secret, {**os.environ, "PYTHONPATH": root, "CIMTWIN_WRITE_RATE": "",
                              "CIMTWIN_MQTT": "off"})  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(city), str(port)],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            return process, url, headers
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def hub_lines(process: subprocess.Popen[str], into: queue.Queue[tuple[int, str]]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ALERT":
            into.put((int(parts[1]), parts[2]))


async def read_alerts(
    client: httpx.AsyncClient, url: str, into: asyncio.Queue[tuple[int, str]], ready: Any
) -> None:
    """Read ``alert`` frames of the event stream: (arrival ns, status)."""
    ticket = (await client.post(f"{url}/api/events/stream/ticket")).json()["ticket"]
    params = {"ticket": ticket, "kinds": "alert"}
    async with client.stream("GET", f"{url}/api/events/stream", params=params) as response:
        response.raise_for_status()
        ready.set()
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "alert":
                arrived = time.time_ns()
                status = "active" if '"status":"active"' in line else "cleared"
                await into.put((arrived, status))


async def bench(crossings: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-alert-latency-") as folder:
        city = Path(folder) / "city"
        stream = prepare(city)
        process, url, headers = start_server(city)
        heard: queue.Queue[tuple[int, str]] = queue.Queue()
        threading.Thread(target=hub_lines, args=(process, heard), daemon=True).start()
        hub_ms: list[float] = []
        sse_ms: list[float] = []
        answered_ms: list[float] = []
        try:
            async with httpx.AsyncClient(headers=headers, timeout=30) as client:
                paths = (await client.get(f"{url}/openapi.json")).json()["paths"]
                streamed: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
                reader = None
                if "/api/events/stream" in paths:
                    ready = asyncio.Event()
                    reader = asyncio.create_task(read_alerts(client, url, streamed, ready))
                    await asyncio.wait_for(ready.wait(), 10)
                base = time.time_ns() // 1000 // 1_000_000 * 1_000_000
                for i in range(crossings):
                    value, status = (
                        (RAISE + 10, "active") if i % 2 == 0 else (CLEAR - 10, "cleared")
                    )
                    when = base + i * 1_000_000
                    body = {"phenomenonTime": _iso(when), "result": value,
                            "Datastream": {"@iot.id": stream}}  # fmt: skip
                    sent = time.time_ns()
                    response = await client.post(f"{url}/sta/v1.1/Observations", json=body)
                    response.raise_for_status()
                    answered_ms.append((time.time_ns() - sent) / 1e6)
                    at, got = await asyncio.to_thread(heard.get, True, 10)
                    assert got == status, (got, status)
                    hub_ms.append((at - sent) / 1e6)
                    if reader is not None:
                        at, got = await asyncio.wait_for(streamed.get(), 10)
                        assert got == status, (got, status)
                        sse_ms.append((at - sent) / 1e6)
                if reader is not None:
                    reader.cancel()
        finally:
            process.terminate()
            process.wait(30)
    print(f"alert delay over {crossings} crossings (POST /sta/v1.1/Observations to the event):")
    print(f"  the POST answered (the observation stored): {_summary(answered_ms)}")
    print(f"  on the server's hub: {_summary(hub_ms)}")
    if sse_ms:
        print(f"  at an SSE subscriber of /api/events/stream: {_summary(sse_ms)}")
    else:
        print("  at an SSE subscriber: the server has no /api/events/stream (alerts do not go"
              " to /api/sensors/stream)")  # fmt: skip


def _iso(us: int) -> str:
    from simulation.sensors.times import format_time

    return format_time(us)


def _summary(delays: list[float]) -> str:
    ordered = sorted(delays)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"median {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms,"
            f" worst {ordered[-1]:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossings", type=int, default=100)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    asyncio.run(bench(args.crossings))


if __name__ == "__main__":
    main()
