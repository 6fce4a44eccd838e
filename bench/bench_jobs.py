"""What the job queue costs: an import through ``POST /api/imports`` and the worker process
against the same import called in this process.

Usage::

    .venv/bin/python bench/bench_jobs.py [--storeys 4] [--repeat 3]

It authors one building (``--storeys`` storeys), then imports it ``--repeat`` times, one
after the other, into one new city each way (each import after the first is a new version
of the same source, the same work both ways):

- ``direct``: :func:`api.usecases.ifc.import_and_retile` called here (what the thread of
  the old in-process runner did);
- ``queued``: ``cimtwin serve`` (server and worker processes, a random secret) started
  beforehand, the file uploaded to ``POST /api/imports`` and ``GET /api/jobs/{id}`` polled
  every 200 ms until the job ends, as an admin of the province (a bearer token): upload,
  authorization, queue hand-over, the worker's claim, progress writes and the poll;

and prints the first (cold) time and the best of the others of each, their ratios, and
how long ``cimtwin serve`` takes until its worker answers. Timings on a shared CPU are
noisy: compare the ratios of one run. The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from common import admin_headers, server_env, server_secret

from api.usecases.ifc import import_and_retile
from bim.authoring import BuildingSpec, write_demo_building
from cim.store import CityStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def direct(model: Path, city: Path, repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` imports of ``model`` into ``city``, in this process."""
    CityStore.create(city, "EPSG:4547").close()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with CityStore.open(city) as store:
            import_and_retile(store, [model])
        times.append(time.perf_counter() - started)
    return times


def queued(
    model: Path, city: Path, repeat: int
) -> tuple[float, list[float], list[float], list[float]]:
    """Seconds until the worker of a new server answers; of each of ``repeat`` imports of
    ``model`` through the API, one after the other; of each job's wait in the queue (until
    the worker claimed it); and of each job's run in the worker."""
    CityStore.create(city, "EPSG:4547").close()
    secret = server_secret()
    headers = admin_headers(city, secret)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "api.cli", "serve", "--city", str(city), "--port", str(port)]
    launched = time.perf_counter()
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_env(secret),
        start_new_session=True,
    )  # fmt: skip
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"cimtwin serve stopped (exit {server.returncode})")
            try:
                worker = httpx.get(f"{url}/api/worker", headers=headers, timeout=2)
                if worker.raise_for_status().json()["running"]:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        ready = time.perf_counter() - launched
        times: list[float] = []
        waits: list[float] = []
        runs: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            upload = [("files", (model.name, model.read_bytes()))]
            posted = httpx.post(f"{url}/api/imports", files=upload, headers=headers)
            job_url = url + posted.raise_for_status().json()["url"]
            while (job := httpx.get(job_url, headers=headers).json())["finished"] is None:
                time.sleep(0.2)
            times.append(time.perf_counter() - started)
            waits.append(_seconds(job["started"]) - _seconds(job["created"]))
            runs.append(_seconds(job["finished"]) - _seconds(job["started"]))
        return ready, times, waits, runs
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storeys", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=4, help="imports of each kind (>= 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cimtwin-bench-jobs-") as tmp:
        folder = Path(tmp)
        spec = BuildingSpec("Bench Hall", 430760.0, 2557880.0, args.storeys)
        model = write_demo_building(spec, folder / "hall.ifc")
        direct_s = direct(model, folder / "direct", args.repeat)
        ready_s, queued_s, waits, runs = queued(model, folder / "queued", args.repeat)
    print(f"model: {args.storeys} storeys; {args.repeat} imports one after the other")
    print("                                first    best of the others")
    print(f"direct import + tiles:          {direct_s[0]:5.2f} s  {min(direct_s[1:]):5.2f} s")
    print(f"queued (POST, worker, polling): {queued_s[0]:5.2f} s  {min(queued_s[1:]):5.2f} s")
    print(f"ratio queued / direct:          {queued_s[0] / direct_s[0]:5.2f}    "
          f"{min(queued_s[1:]) / min(direct_s[1:]):5.2f}")  # fmt: skip
    print(f"run in the worker (started to finished): {runs[0]:.2f} s, then {min(runs[1:]):.2f} s")
    print(f"wait in the queue (created to started): {min(waits):.2f}..{max(waits):.2f} s")
    print(f"serve start until the worker answers: {ready_s:.2f} s")


if __name__ == "__main__":
    main()
