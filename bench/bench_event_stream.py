"""The city's event stream: the cost of publishing (ids, replay ring, filters), delivery
through filters to many server-sent-event readers, and a reader that keeps reconnecting
with ``Last-Event-ID`` (events lost and received twice: both must be 0).

Usage::

    .venv/bin/python bench/bench_event_stream.py [--subscribers 60] [--rate 1000]
        [--seconds 5] [--reconnects 4]

- publish: in this process, events per second through ``EventHub.publish_all`` in batches
  of 500 with 0, 10 and 100 open streams of one town (kinds only; kinds, categories and
  area), until the streams' event loop has queued them all, beside
  the same hub without its replay ring (``replay=0``), measured in the same run. Ingest
  publishes about 27 000 observations/s at most: the figure to stay far above.
- delivery: the server (a child process) publishes ``--rate`` events per second for
  ``--seconds`` (observations, alerts and incidents of two categories, inside and outside
  a box, a third of them in another town: outside the scope of every reader, a viewer of the
  first town) once
  ``--subscribers`` streams (``GET /api/events/stream``) are open, a third with no filter,
  a third ``kinds=alert,incident&categories=waterlogging``, a third ``bbox=...&
  strictArea=true``. Each reader checks every event it gets against its filter: printed,
  the events delivered against those expected, the wrong ones (must be 0), the delay from
  publishing to reading (both processes read the same clock): median, p99, worst.
- resume: one more reader (no filter) breaks its connection ``--reconnects`` times during
  the run and opens the stream again at once with ``Last-Event-ID``; printed, the events it
  lost and got twice (both must be 0), and the time from reopening to the first event it
  had missed. No peer publishes these figures for server-sent events.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx
from common import server_env, server_secret

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.events import Event, EventFilter, EventHub, Subscription  # noqa: E402
from cim.scope import Scope  # noqa: E402
from cim.store import CityStore  # noqa: E402

TOWN = "440106001000"
OTHER_TOWN = "440106002000"
BOX = (113.2, 23.0, 113.4, 23.2)
FILTERS = ["", "kinds=alert,incident&categories=waterlogging",
           "bbox=113.2,23.0,113.4,23.2&strictArea=true"]  # fmt: skip
# Events are read by pattern: json.loads per event would weigh on the readers' delays.
_EVENT = re.compile(rb'event: (\w+)\ndata: \{"n":(\d+),"sentNs":(\d+)')
_ID = re.compile(rb"id: (\S+)\n")


def made_event(n: int) -> Event:
    """The n-th event of a run (the server and the readers make the same)."""
    kind = ("observation", "alert", "incident", "observation")[n % 4]
    data: dict[str, object] = {"n": n, "sentNs": time.time_ns()}
    if kind != "observation":
        data["category"] = ("waterlogging", "air_quality")[n // 4 % 2]
    inside = n % 5 != 0
    data["lon"], data["lat"] = (113.3, 23.1) if inside else (114.0, 23.1)
    return Event(kind, OTHER_TOWN if n % 3 == 0 else TOWN, data)


def wanted(n: int, query: str) -> bool:
    """Whether a reader of the town with filter ``query`` should get event n."""
    if n % 3 == 0:  # another town
        return False
    kind = ("observation", "alert", "incident", "observation")[n % 4]
    if query.startswith("kinds"):
        return kind != "observation" and n // 4 % 2 == 0
    if query.startswith("bbox"):
        return n % 5 != 0
    return True


SERVER = textwrap.dedent(
    """
    import sys, threading, time
    import uvicorn
    sys.path.insert(0, sys.argv[7])
    from bench_event_stream import made_event
    from api.app import create_app
    from api.events import event_hub_of

    city = sys.argv[1]
    port, streams, rate, seconds = map(int, sys.argv[2:6])
    app = create_app(__import__("pathlib").Path(city), worker=False)

    def publish():
        hub = event_hub_of(app)
        while hub.stream_count < streams:
            time.sleep(0.05)
        time.sleep(0.5)
        start = time.perf_counter()
        for n in range(rate * seconds):
            wait = start + n / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            hub.publish(made_event(n))

    threading.Thread(target=publish, daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_publish() -> None:
    """Events per second through publish_all, with and without the replay ring."""
    batch, total = 500, 27_000
    events = [made_event(n) for n in range(total)]
    kinds = EventFilter(frozenset({"observation", "alert"}))
    areas = EventFilter(frozenset({"alert", "incident"}), frozenset({"waterlogging"}), BOX)
    for streams in (0, 10, 100):
        for label, chosen in (("kinds", kinds), ("kinds+categories+area", areas)):
            rates = {}
            for replay in (20_000, 0):
                rates[replay] = _publish_rate(EventHub(replay), chosen, streams, events, batch)
            print(
                f"publish: {streams:3d} streams ({label}): {rates[20_000]:,.0f} events/s"
                f" ({1e6 / rates[20_000]:.2f} us each) with ids and the ring;"
                f" without the ring {rates[0]:,.0f}/s (ratio {rates[20_000] / rates[0]:.2f})"
            )
            if not streams:
                break


def _publish_rate(
    hub: EventHub, chosen: EventFilter, streams: int, events: list[Event], batch: int
) -> float:
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()

    async def subscribe() -> list[Subscription]:
        subscriptions = [hub.subscribe(Scope.of(TOWN), filter=chosen) for _ in range(streams)]
        for subscription in subscriptions:  # a reader that keeps up: nothing dropped
            subscription.queue = asyncio.Queue()
        return subscriptions

    async def empty(subscriptions: list[Subscription]) -> None:
        for subscription in subscriptions:
            while not subscription.queue.empty():
                subscription.queue.get_nowait()

    subscriptions = asyncio.run_coroutine_threadsafe(subscribe(), loop).result()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            hub.publish_all(events[start : start + batch])
        # the loop has queued them all on the streams once it runs this
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
        best = min(best, time.perf_counter() - started)
        asyncio.run_coroutine_threadsafe(empty(subscriptions), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)
    del subscriptions
    return len(events) / best


def start_server(city: Path, streams: int, rate: int, seconds: int) -> tuple[
    subprocess.Popen[str], str, dict[str, str]
]:  # fmt: skip
    port = free_port()
    here = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-c", SERVER, str(city), str(port), str(streams), str(rate),
               str(seconds), "", here]  # fmt: skip
    secret = server_secret()
    headers = town_headers(city, secret)
    env = server_env(secret, {**os.environ, "PYTHONPATH": str(ROOT)})
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            return process, url, headers
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def town_headers(city: Path, secret: str) -> dict[str, str]:
    """The ``Authorization`` header of a new viewer of :data:`TOWN` (a day's token signed
    with ``secret``), made in the city's operational database before the server starts."""
    import secrets
    from datetime import timedelta

    from argon2 import PasswordHasher

    from api.auth import service
    from api.auth.state import AuthConfig, AuthState
    from cim.ops import database_url, users

    url = database_url(city, os.environ.get("CIMTWIN_DATABASE_URL"))
    state = AuthState(secret, AuthConfig(access_lifetime=timedelta(days=1)), url)
    name, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024)
    try:
        users.add_user(state.db, name, password_hash=cheap.hash(password), jurisdiction=TOWN,
                       roles=("viewer",), now=state.clock())  # fmt: skip
        pair = service.sign_in(state, name, password, "bench")
    finally:
        state.close()
    return {"Authorization": f"Bearer {pair.access_token}"}


class Reader:
    """What one stream received: event numbers, delays, wrong deliveries, the last id."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.numbers: list[int] = []
        self.delays: list[float] = []
        self.wrong = 0
        self.last_id: str | None = None
        self.buffer = b""

    def feed(self, chunk: bytes) -> int:
        """Read the complete frames of ``chunk``; how many events they held."""
        self.buffer += chunk
        complete, _, self.buffer = self.buffer.rpartition(b"\n\n")
        now = time.time_ns()
        found = 0
        for _kind, number, sent in _EVENT.findall(complete):
            n = int(number)
            self.numbers.append(n)
            self.delays.append((now - int(sent)) / 1e6)
            self.wrong += not wanted(n, self.query)
            found += 1
        ids = _ID.findall(complete)
        if ids:
            self.last_id = ids[-1].decode()
        return found


async def read_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], reader: Reader
) -> None:
    # the header rather than tickets: a hundred ticket requests at once would meet the
    # server's write rate limit (a browser takes one per page)
    address = f"{url}/api/events/stream?{reader.query}"
    async with client.stream("GET", address, headers=headers) as response:
        async for chunk in response.aiter_bytes():
            reader.feed(chunk)


async def resuming_reader(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], reader: Reader,
    breaks: list[int], reopen_ms: list[float],
) -> None:  # fmt: skip
    """Read, breaking the connection once it has received each of ``breaks`` events, and
    open it again at once with Last-Event-ID."""
    pending = list(breaks)
    while True:
        asked = {**headers, **({"Last-Event-ID": reader.last_id} if reader.last_id else {})}
        opened = time.perf_counter()
        first = reader.last_id is not None
        reader.buffer = b""  # a frame cut by the break is sent again: its id was not seen
        async with client.stream("GET", f"{url}/api/events/stream", headers=asked) as response:
            async for chunk in response.aiter_bytes():
                if reader.feed(chunk) and first:
                    reopen_ms.append((time.perf_counter() - opened) * 1000)
                    first = False
                if pending and len(reader.numbers) >= pending[0]:
                    pending.pop(0)
                    break
            else:
                return


async def bench_delivery(
    city: Path, subscribers: int, rate: int, seconds: int, reconnects: int
) -> None:
    process, url, headers = start_server(city, subscribers + 1, rate, seconds)
    readers = [Reader(FILTERS[i % len(FILTERS)]) for i in range(subscribers)]
    resumer, reopen_ms = Reader(""), []
    total = rate * seconds
    try:
        limits = httpx.Limits(max_connections=subscribers + 10)
        async with httpx.AsyncClient(timeout=None, limits=limits) as client:
            mine = sum(wanted(n, "") for n in range(total))
            breaks = [mine * (i + 1) // (reconnects + 1) for i in range(reconnects)]
            tasks = [asyncio.create_task(read_stream(client, url, headers, reader))
                     for reader in readers]  # fmt: skip
            tasks.append(asyncio.create_task(
                resuming_reader(client, url, headers, resumer, breaks, reopen_ms)))  # fmt: skip
            expected = {r.query: sum(wanted(n, r.query) for n in range(total)) for r in readers}
            deadline = time.monotonic() + seconds + 30
            while time.monotonic() < deadline and not (
                all(len(r.numbers) >= expected[r.query] for r in readers)
                and len(set(resumer.numbers)) >= expected[""]
            ):
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        process.terminate()
        process.wait(30)
    for query in FILTERS:
        group = [r for r in readers if r.query == query]
        delays = sorted(d for r in group for d in r.delays)
        if not delays:
            print(f"delivery [{query or 'no filter'}]: no event arrived")
            continue
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"delivery [{query or 'no filter'}]: {len(group)} streams,"
            f" {sum(len(r.numbers) for r in group)} of {expected[query] * len(group)} events"
            f" delivered, {sum(r.wrong for r in group)} wrong; delay median"
            f" {statistics.median(delays):.1f} ms, p99 {p99:.1f} ms, worst {delays[-1]:.1f} ms"
            f" ({rate} events/s published, {total} in all)"
        )
    got = resumer.numbers
    lost = sum(1 for n in range(total) if wanted(n, "")) - len(set(got))
    print(
        f"resume: {len(reopen_ms)} reconnections with Last-Event-ID: {len(set(got))} events,"
        f" lost {lost}, twice {len(got) - len(set(got))}, wrong {resumer.wrong}, out of order"
        f" {sum(1 for a, b in itertools.pairwise(got) if b <= a)}; from reopening to"
        f" the first missed event: median"
        f" {statistics.median(reopen_ms) if reopen_ms else float('nan'):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=60)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--reconnects", type=int, default=4)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    bench_publish()
    with tempfile.TemporaryDirectory() as folder:
        city = Path(folder) / "city"
        CityStore.create(city, "EPSG:4547", "bench").close()
        asyncio.run(
            bench_delivery(city, args.subscribers, args.rate, args.seconds, args.reconnects)
        )


if __name__ == "__main__":
    main()
