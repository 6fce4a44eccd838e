"""The viewer's sensor routes over HTTP: the latest state of the whole city, and the delay
from an event published in the server to the server-sent-event streams of many viewers.

Usage::

    .venv/bin/python bench/bench_sensor_stream.py [--datastreams 10000] [--repeat 10]
        [--subscribers 100] [--rate 1000] [--seconds 5]

- state: ``GET /api/sensors/state`` of ``--datastreams`` datastreams (seeded as
  bench_sensors.py does) through a real server (uvicorn, the route's JSON and the roll-up
  to buildings included); mean and worst of ``--repeat`` requests, beside the domain call
  :func:`simulation.sensors.state.latest_states` alone, measured in the same run.
- stream: the server (a child process) publishes ``--rate`` observation events per second
  on its event hub for ``--seconds`` once ``--subscribers`` streams are open
  (``GET /api/sensors/stream`` with the Authorization header); this process reads them all and
  prints the delay from publishing to reading (both processes read the same clock): median,
  p99, worst, and how many events arrived. The readers share the machine's cores with the
  server, so the delays include their own parsing. No peer publishes this figure for
  server-sent events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from bench_sensors import JURISDICTION, seed_datastreams
from common import admin_headers, server_env, server_secret

from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore

STATE_AIM_MS = 200.0
# Events are read by pattern: json.loads per event would weigh on the readers' delays.
_SENT = re.compile(rb'"sentNs":(\d+)')

# The child process: the app, and events at the asked rate once the asked number of streams
# is open.
SERVER = textwrap.dedent(
    """
    import sys, threading, time
    import uvicorn
    from api.app import create_app
    from api.events import Event, event_hub_of

    city, code = sys.argv[1], sys.argv[6]
    port, subscribers, rate, seconds = map(int, sys.argv[2:6])
    app = create_app(__import__("pathlib").Path(city), worker=False)

    def publish():
        hub = event_hub_of(app)
        while hub.stream_count < subscribers:
            time.sleep(0.05)
        time.sleep(0.5)
        start = time.perf_counter()
        for i in range(rate * seconds):
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            hub.publish(Event("observation", code, {"Datastream@iot.id": i % 100 + 1,
                "result": 1.0, "level": "normal", "sentNs": time.time_ns()}))

    if subscribers:
        threading.Thread(target=publish, daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    city: Path, subscribers: int, rate: int, seconds: int
) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    port = free_port()
    command = [sys.executable, "-c", SERVER, str(city), str(port), str(subscribers), str(rate),
               str(seconds), JURISDICTION]  # fmt: skip
    root = str(Path(__file__).resolve().parent.parent)
    secret = server_secret()
    headers = admin_headers(city, secret)
    process = subprocess.Popen(command, env=server_env(secret, {**os.environ, "PYTHONPATH": root}))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
    return process, url, headers


def bench_state(city: Path, count: int, repeat: int) -> None:
    from simulation.sensors.state import latest_states

    now_us = time.time_ns() // 1000
    with OpsDatabase.for_city(city) as db:
        seed_datastreams(db, count, now_us)
        scope = Scope.of(JURISDICTION)
        domain = []
        for _ in range(repeat):
            started = time.perf_counter()
            latest_states(db, scope, now_us=now_us)
            domain.append((time.perf_counter() - started) * 1000)
    process, url, headers = start_server(city, 0, 0, 0)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            body = client.get("/api/sensors/state").json()  # warm
            times: dict[str, list[float]] = {"gzip": [], "identity": []}
            for _ in range(repeat):
                for encoding, spent in times.items():
                    started = time.perf_counter()
                    response = client.get(
                        "/api/sensors/state", headers={"Accept-Encoding": encoding}
                    )
                    response.raise_for_status()
                    spent.append((time.perf_counter() - started) * 1000)
    finally:
        process.terminate()
        process.wait(30)
    alone = statistics.fmean(domain)
    for encoding, spent in times.items():
        print(
            f"GET /api/sensors/state ({encoding}), {len(body['sensors'])} datastreams,"
            f" {len(body['buildings'])} buildings, {len(response.content) / 2**20:.1f} MiB"
            f" of JSON: mean {statistics.fmean(spent):.0f} ms, worst {max(spent):.0f} ms"
            f" (latest_states alone: mean {alone:.0f} ms, ratio"
            f" {statistics.fmean(spent) / alone:.1f}x; aim {STATE_AIM_MS:.0f} ms for the state;"
            " FROST: times out, #1107/#287)"
        )


async def read_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], delays: list[float]
) -> None:
    # the header rather than a ticket: a hundred ticket requests at once would meet the
    # server's write rate limit (a browser takes one per page)
    async with client.stream("GET", f"{url}/api/sensors/stream", headers=headers) as response:
        async for chunk in response.aiter_bytes():
            now = time.time_ns()
            delays.extend((now - int(sent)) / 1e6 for sent in _SENT.findall(chunk))


async def bench_stream(city: Path, subscribers: int, rate: int, seconds: int) -> None:
    process, url, headers = start_server(city, subscribers, rate, seconds)
    delays: list[float] = []
    limits = httpx.Limits(max_connections=subscribers + 10)
    try:
        async with httpx.AsyncClient(timeout=None, limits=limits) as client:
            readers = [asyncio.create_task(read_stream(client, url, headers, delays))
                       for _ in range(subscribers)]  # fmt: skip
            expected = subscribers * rate * seconds
            deadline = time.monotonic() + seconds + 20  # the start included
            while len(delays) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    finally:
        process.terminate()
        process.wait(30)
    if not delays:
        print("stream: no event arrived")
        return
    ordered = sorted(delays)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"stream: {rate} events/s for {seconds} s to {subscribers} subscribers:"
        f" {len(delays)} of {expected} delivered; delay median {statistics.median(delays):.1f} ms,"
        f" p99 {p99:.1f} ms, worst {ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datastreams", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        city = Path(folder) / "city"
        CityStore.create(city, "EPSG:4547", "bench").close()
        bench_state(city, args.datastreams, args.repeat)
        asyncio.run(bench_stream(city, args.subscribers, args.rate, args.seconds))


if __name__ == "__main__":
    main()
