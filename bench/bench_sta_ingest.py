"""SensorThings ingest over HTTP: observations per second through data arrays
(``POST /sta/v1.1/CreateObservations``) to a real ``cimtwin serve`` on SQLite.

Usage::

    .venv/bin/python bench/bench_sta_ingest.py [--observations 200000] [--batch 5000]
        [--datastreams 100] [--clients 1]

A new city with ``--datastreams`` datastreams (on things with a location each) is served by
``cimtwin serve`` (no job worker); a device's API key sends the observations in batches of
``--batch`` rows (bodies encoded before the clock starts), from ``--clients`` connections
at once. Printed: observations per second (wall), per second of the server's CPU, the
server's CPU share, and the same batches sent again (all already stored: the idempotent
path). The peers' published figures beside ours: Hamburg's FROST about 2 000
observations/s sustained, Orion-LD about 1 800/s per CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.auth.accounts import create_key  # noqa: E402
from api.auth.clock import utc_now  # noqa: E402
from cim.ops import OpsDatabase  # noqa: E402
from cim.scope import Scope  # noqa: E402
from cim.store import CityStore  # noqa: E402
from simulation.sensors import write  # noqa: E402

JURISDICTION = "440106001000"
START_S = 1_767_225_600  # 2026-01-01T00:00:00Z
FROST_HAMBURG = 2_000.0  # observations/s, sustained
ORION_LD_PER_CPU = 1_800.0  # observations/s per broker CPU
AIM = 20_000.0  # the aim, observations/s


def seed(city: Path, datastreams: int) -> tuple[list[int], str]:
    """The datastreams (10 per located thing) and a device key that may send to them."""
    ids: list[int] = []
    with OpsDatabase.for_city(city) as db:
        sensor = write.create(
            db,
            "Sensors",
            {"name": "gauge", "description": "g", "encodingType": "text/html", "metadata": "m"},
            Scope.everything(),
            place=write.place_in(JURISDICTION),
        )
        observed = write.create(
            db,
            "ObservedProperties",
            {"name": "level", "definition": "d", "description": "d"},
            Scope.everything(),
            place=write.place_in(JURISDICTION),
        )
        for first in range(0, datastreams, 10):
            streams = [
                {
                    "name": f"stream {i}",
                    "description": "d",
                    "observationType": "m",
                    "unitOfMeasurement": {"symbol": "m"},
                    "Sensor": {"@iot.id": sensor},
                    "ObservedProperty": {"@iot.id": observed},
                }
                for i in range(first, min(first + 10, datastreams))
            ]
            body = {
                "name": f"station {first}",
                "description": "d",
                "Datastreams": streams,
                "Locations": [
                    {
                        "name": "bank",
                        "description": "d",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [113.3, 23.1]},
                    }
                ],
            }
            made = write.insert(
                db, "Things", body, Scope.everything(), place=write.place_in(JURISDICTION)
            )
            ids += [c.id for c in made.changes if c.type == "Datastream"]
        _, key = create_key(
            db,
            "bench device",
            jurisdiction=JURISDICTION,
            actions=["observe"],
            now=utc_now(),
            actor="bench",
        )
    return ids, key


def bodies(streams: list[int], total: int, batch: int) -> list[bytes]:
    """The request bodies: ``total`` observations, ``batch`` a request, round-robin over the
    datastreams, each datastream's rows a second apart."""
    encoded = []
    per_stream = max(1, batch // len(streams))
    second = 0
    for _ in range(0, total, batch):
        groups = []
        for stream in streams:
            rows = [[_iso(START_S + second + i), (second + i) % 97 / 10] for i in range(per_stream)]
            groups.append(
                {
                    "Datastream": {"@iot.id": stream},
                    "components": ["phenomenonTime", "result"],
                    "dataArray": rows,
                }
            )
        second += per_stream
        encoded.append(json.dumps(groups).encode())
    return encoded


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@contextmanager
def serving(city: Path) -> Iterator[tuple[str, psutil.Process]]:
    """``cimtwin serve`` on a free port (no job worker); its URL and process."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CIMTWIN_WORKER": "false", "PYTHONPATH": str(ROOT)}
    env.setdefault("CIMTWIN_SECRET_KEY", os.urandom(32).hex())
    command = [sys.executable, "-m", "api.cli", "serve", "--city", str(city), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {server.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield url, psutil.Process(server.pid)
    finally:
        server.terminate()
        server.wait(30)


def send(url: str, key: str, requests: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body (``clients`` connections at once); seconds taken, rows refused."""
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    target = f"{url}/sta/v1.1/CreateObservations"
    shares = [requests[i::clients] for i in range(clients)]

    def run(share: list[bytes]) -> int:
        refused = 0
        with httpx.Client(headers=headers, timeout=300) as client:
            for body in share:
                answer = client.post(target, content=body)
                if answer.status_code != 201:
                    raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
                refused += answer.json().count("error")
        return refused

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        refused = sum(pool.map(run, shares))
    return time.perf_counter() - start, refused


def measure(
    url: str, key: str, requests: list[bytes], clients: int, server: psutil.Process, total: int
) -> dict[str, float]:
    cpu_before = sum(server.cpu_times()[:2])
    seconds, refused = send(url, key, requests, clients)
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    if refused:
        raise RuntimeError(f"{refused} rows refused")
    return {
        "seconds": seconds,
        "per_s": total / seconds,
        "per_cpu_s": total / max(cpu, 1e-9),
        "server_cpu_share": cpu / seconds,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--datastreams", type=int, default=100)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args(argv)
    total = (args.observations // args.batch) * args.batch
    with tempfile.TemporaryDirectory(prefix="bench-sta-ingest-") as folder:
        city = Path(folder) / "city"
        CityStore.create(city, "EPSG:4547", "bench").close()
        streams, key = seed(city, args.datastreams)
        requests = bodies(streams, total, args.batch)
        with serving(city) as (url, server):
            first = measure(url, key, requests, args.clients, server, total)
            again = measure(url, key, requests, args.clients, server, total)
    print(
        f"HTTP data array ingest, SQLite, {total} observations in batches of {args.batch},"
        f" {args.datastreams} datastreams, {args.clients} client(s)"
    )
    print(
        f"  new rows:     {first['per_s']:>9,.0f} obs/s  ({first['seconds']:.2f} s;"
        f" {first['per_cpu_s']:,.0f} obs per server CPU second;"
        f" server CPU {first['server_cpu_share']:.0%})"
    )
    print(f"  sent again:   {again['per_s']:>9,.0f} obs/s  (all already stored)")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"  load average during the run: {load} on {os.cpu_count()} CPUs (the wall figures"
        " need an idle machine; per server CPU second is the steadier one)"
    )
    print(f"  aim {AIM:,.0f} obs/s: {'met' if first['per_s'] >= AIM else 'NOT met'}")
    print(
        f"  ratio to Hamburg's FROST ({FROST_HAMBURG:,.0f}/s sustained):"
        f" {first['per_s'] / FROST_HAMBURG:.1f}x"
    )
    print(
        f"  ratio to Orion-LD per CPU ({ORION_LD_PER_CPU:,.0f}/s):"
        f" {first['per_cpu_s'] / ORION_LD_PER_CPU:.1f}x"
    )
    return {
        "new_per_s": first["per_s"],
        "again_per_s": again["per_s"],
        "new_per_cpu_s": first["per_cpu_s"],
    }


if __name__ == "__main__":
    main()
