"""Reads while an import writes: many clients on the API during an IFC import.

Usage::

    .venv/bin/python bench/bench_busy.py [--elements 1500] [--clients 20] [--quiet-seconds 10]

A city gets a first generated IFC model; ``cimtwin serve`` serves it in its own process.
``--clients`` threads then read the API in a loop (city, objects, search, statistics, OGC
items, a bounding-box query), after one warm-up request each: first for
``--quiet-seconds`` with nothing else running (the peer figures), then for the whole of a
``cimtwin import ifc`` of a second generated model (``--elements``) in another process,
during which ``cimtwin info`` runs once too. Printed per phase: requests, answers by
status, median and p99 latency; and whether ``info`` answered during the import. Run it
with another checkout first on ``PYTHONPATH`` to measure that code the same way.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
READS = [
    ("GET", "/api/city", None),
    ("GET", "/api/objects?limit=20", None),
    ("GET", "/api/search?q=Wall", None),
    ("GET", "/api/stats", None),
    ("GET", "/ogc/collections/IfcWall/items?limit=10&bbox=113.3,23.0,113.4,23.2", None),
    ("POST", "/api/objects/query", {"bbox": [113.3, 23.0, 113.4, 23.2], "limit": 50}),
]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(url: str, clients: int, stop: threading.Event) -> tuple[Counter[int], list[float]]:
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            index = offset
            while not stop.is_set():
                method, path, body = READS[index % len(READS)]
                index += 1
                started = time.perf_counter()
                try:
                    answer = http.request(method, path, json=body)
                    code = answer.status_code
                except httpx.HTTPError:
                    code = 0
                elapsed = time.perf_counter() - started
                with lock:
                    codes[code] += 1
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    return codes, latencies


def _report(label: str, codes: Counter[int], latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else float("nan")
    median = statistics.median(ordered) if ordered else float("nan")
    print(f"{label}: {len(latencies)} requests, status {dict(sorted(codes.items()))},"
          f" median {median * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--quiet-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as folder:
        work = Path(folder)
        city = work / "city"
        for name, elements, seed in (("first", 300, 1), ("second", args.elements, 2)):
            generate = [sys.executable, str(BENCH / "generate_ifc.py"), str(work / f"{name}.ifc"),
                        "--elements", str(elements), "--seed", str(seed)]  # fmt: skip
            subprocess.run(generate, check=True, capture_output=True)
        subprocess.run(_cli("init", "--city", str(city), "--crs", "EPSG:4547"), check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run(_cli("import", "ifc", str(work / "first.ifc"), "--city", str(city)),
                       check=True, capture_output=True)  # fmt: skip
        port = _free_port()
        server = subprocess.Popen(_cli("serve", "--city", str(city), "--port", str(port)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            with httpx.Client(base_url=url, timeout=60) as http:  # warm up every route once
                for method, path, body in READS:
                    http.request(method, path, json=body)
            stop = threading.Event()
            threading.Timer(args.quiet_seconds, stop.set).start()
            _report("no import (peer)", *_read_until(url, args.clients, stop))

            stop = threading.Event()
            started = time.perf_counter()
            importer = subprocess.Popen(
                _cli("import", "ifc", str(work / "second.ifc"), "--city", str(city)),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            info: list[subprocess.CompletedProcess[str]] = []

            def watch() -> None:
                time.sleep(min(3.0, args.quiet_seconds))
                if importer.poll() is None:
                    command = _cli("info", "--city", str(city))
                    info.append(
                        subprocess.run(command, capture_output=True, text=True, check=False)
                    )
                importer.wait()
                stop.set()

            threading.Thread(target=watch).start()
            codes, latencies = _read_until(url, args.clients, stop)
            seconds = time.perf_counter() - started
            _report(f"during an import of {args.elements} elements ({seconds:.1f} s)",
                    codes, latencies)  # fmt: skip
            assert importer.stderr is not None
            print(
                f"import exit code {importer.returncode}"
                + (f": {importer.stderr.read().strip()[-300:]}" if importer.returncode else "")
            )
            for run in info:
                print(
                    f"cimtwin info during the import: exit code {run.returncode}"
                    + (f" ({run.stderr.strip()[-200:]})" if run.returncode else "")
                )
            if not info:
                print("cimtwin info: the import ended before it ran (use more --elements)")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
