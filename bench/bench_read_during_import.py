"""Reads while an IFC import writes: answers and latency per endpoint, with and without it.

Usage::

    .venv/bin/python bench/bench_read_during_import.py [--readers 20] [--pause 1]
        [--elements 1000] [--buildings 3000] [--baseline 15] [--info-every 3]
        [--work DIR] [--json FILE]

What users met (issue 10): with 20 clients reading, a 36 s IFC import made requests
answer 400 "city.gpkg is not a CIMTwin city store: database is locked" and 500, p99 5.4 s,
and ``cimtwin info`` and a second import failed for the whole import. This reproduces it:

1. Setup, in a child: a city of ``--buildings`` generated LOD1 buildings
   (:mod:`generate_city`), tiled; an IFC file of ``--elements`` elements
   (:mod:`generate_ifc`, the long import) and one of ``--second-elements`` (the second
   import). Kept in ``--work`` and reused; each run works on a fresh copy of the city.
2. ``cimtwin serve`` on a free loopback port, in a process of its own, with a random
   secret; every request carries the bearer token of an admin of the province made for
   the run in the city's operational database.
3. Baseline: ``--readers`` threads, each with its own HTTP client, read in turn
   ``/api/objects/{id}``, ``/api/objects?class=``, ``/api/search``, ``/api/stats?bbox=``,
   ``/ogc/collections/building/items?bbox=`` (random boxes of ``--box-m`` metres in the
   city) and ``/tiles/tileset.json`` (a file: it never opens the store), pausing
   ``--pause`` seconds on average between requests (like people at a viewer; 0 saturates
   the server, and then queueing, not the store, sets the latency) for ``--baseline``
   seconds, while ``cimtwin info`` runs every ``--info-every`` seconds.
4. Import: ``cimtwin import ifc`` of the big file into the same city, in a child; the
   readers and ``cimtwin info`` go on until it ends. ``--second-after`` seconds into it, a
   second ``cimtwin import ifc`` (of the small file) starts.

``--code REV`` runs the server, the imports, ``cimtwin info`` and the city's making with the
packages of a git revision (extracted into the work folder) instead of the working tree:
run it once with the revision before a fix and once without to compare the two. (That
revision's code makes the run's account; one from before accounts makes none, needs no
token and ignores the secret.)

A request belongs to the phase in which it started. The table gives per endpoint and
phase: requests, requests per second, answers by class (``err``: no answer, e.g. a
timeout), p50/p95/p99 latency (nearest rank), and the ratio of the import's p99 to the
baseline's; then the import phase in bins of ``--step`` seconds (reads, failed reads,
p99, ``cimtwin info`` runs and failures: when the store was out of reach), the error
messages seen (the ``detail`` of the JSON body), the exceptions in the server's log, the
``cimtwin info`` runs and both imports. Timings on a shared CPU are noisy: compare the
ratios of one run. The test suite runs it only with tiny sizes, as a smoke test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common import SECRET_ENV, code_snapshot, server_secret

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_WORK = Path(tempfile.gettempdir()) / "cimtwin-bench-readload"
CODE_ENV = "CIMTWIN_BENCH_CODE"  # a snapshot of the packages the children run (--code)
PHASES = ("baseline", "import")
CLI_INFO = "cimtwin info"
MESSAGE_CHARS = 160
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$")


# --- setup (a child: imports the project) -----------------------------------------------


def child_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Make (or reuse) the tiled city and both IFC files; their paths and the city's extent."""
    from generate_city import write_city
    from generate_ifc import generate
    from pyproj import Transformer

    from cim.scope import Scope
    from cim.store import CityStore
    from tiles.tileset import write_tileset

    work: Path = args.work
    code = Path(os.environ[CODE_ENV]).name if os.environ.get(CODE_ENV) else "tree"
    city = work / f"city-{args.buildings}-{args.seed}-{code}"
    figures: dict[str, Any] = {}
    if not (city / "tiles" / "tileset.json").is_file():
        shutil.rmtree(city, ignore_errors=True)
        started = time.perf_counter()
        write_city(city, args.buildings, args.seed)
        with CityStore.open(city) as store:
            write_tileset(store)
        figures["city_s"] = round(time.perf_counter() - started, 1)
    files = {}
    for key, elements, seed in (("big", args.elements, args.seed),
                                ("small", args.second_elements, args.seed + 1)):  # fmt: skip
        path = work / f"{'generated' if key == 'big' else 'second'}-{elements}-{seed}.ifc"
        if not path.is_file():
            started = time.perf_counter()
            partial = path.with_suffix(".partial.ifc")
            generate(partial, elements, seed)
            partial.replace(path)
            figures[f"{key}_ifc_s"] = round(time.perf_counter() - started, 1)
        files[key] = str(path)
    with CityStore.open(city) as store:
        extent, crs = store.extent(scope=Scope.everything()), store.crs
    assert extent is not None
    to_crs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lons, lats = to_crs84.transform([extent[0], extent[3]], [extent[1], extent[4]])
    box = [min(lons), min(lats), max(lons), max(lats)]
    return {"city": str(city), "extent_crs84": box, **files, "figures": figures}


# --- the processes the benchmark starts -------------------------------------------------


def _code_root() -> Path:
    """The folder of the packages children run: ``--code``'s snapshot, else this project."""
    return Path(os.environ.get(CODE_ENV) or ROOT)


def _child_env() -> dict[str, str]:
    """This environment with the code first on the path of a child interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_code_root()), env.get("PYTHONPATH")) if p)
    return env


def cli(*arguments: str) -> list[str]:
    """The command running ``cimtwin ARGUMENTS`` with this interpreter and this project."""
    return [sys.executable, "-m", "api.cli", *arguments]


STARTED: list[subprocess.Popen[bytes]] = []  # stopped at the end, whatever happens


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output into ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=_child_env(), cwd=_code_root(),
            start_new_session=True,
        )  # fmt: skip
    STARTED.append(process)
    return process


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """End ``process`` and its children (its process group): SIGTERM, then SIGKILL."""
    if process.poll() is not None:  # its children may outlive it (issue 10 saw orphans)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_server(
    url: str, server: subprocess.Popen[bytes], log: Path, headers: dict[str, str]
) -> None:
    """Wait until the server answers ``/api/health``; exit when it died or never did."""
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {_tail(log.read_text(errors='replace'))}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/api/health", headers=headers, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit("the server did not answer /api/health within 120 s")


def account_headers(city: Path) -> dict[str, str]:
    """The bearer header of an admin of the province made in ``city`` for the run, by the
    code the children run (none for a revision from before accounts: it needs none)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "common.py"), "admin-headers", str(city)],
        capture_output=True, text=True, check=False, env=_child_env(), cwd=_code_root(),
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"making the account of the run failed: {_tail(done.stderr)}")
    headers: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return headers


def _tail(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:MESSAGE_CHARS]


# --- what is measured -------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One request or command: when, what, the answer and how long it took."""

    phase: str
    at: float  # seconds from the start of the phase to the start of the request
    endpoint: str
    status: int  # HTTP status; 0: no answer; for a command, its exit code
    seconds: float
    message: str = ""


class Phase:
    """The phase requests started now belong to ("" between phases: not counted)."""

    def __init__(self) -> None:
        self.name, self.started = "", time.perf_counter()

    def enter(self, name: str) -> None:
        """Start phase ``name`` now."""
        self.name, self.started = name, time.perf_counter()

    def now(self) -> tuple[str, float]:
        """The current phase and the seconds since it started."""
        return self.name, time.perf_counter() - self.started


@dataclass
class Readers:
    """The reading threads and the ``cimtwin info`` thread, recording into ``samples``."""

    url: str
    endpoints: dict[str, Callable[[random.Random], str]]
    phase: Phase
    timeout: float
    seed: int
    pause: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int) -> None:
        """Start ``count`` reading threads, each beginning at another endpoint."""
        for index in range(count):
            thread = threading.Thread(target=self._read, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def start_info(self, city: Path, every: float) -> None:
        """Run ``cimtwin info`` every ``every`` seconds (one at a time)."""
        thread = threading.Thread(target=self._info, args=(city, every), daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        """Let each thread finish what it is doing, then return."""
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _read(self, index: int) -> None:
        import httpx

        rng = random.Random(self.seed * 1000 + index)
        names = list(self.endpoints)
        turn = index
        with httpx.Client(base_url=self.url, timeout=self.timeout, headers=self.headers) as client:
            while not self.stopping.is_set():
                name = names[turn % len(names)]
                turn += 1
                target = self.endpoints[name](rng)
                phase, at = self.phase.now()
                started = time.perf_counter()
                try:
                    response = client.get(target)
                except httpx.HTTPError as exc:
                    status, message = 0, f"{type(exc).__name__}: {exc}"
                else:
                    status = response.status_code
                    message = "" if status < 400 else _detail(response)
                seconds = time.perf_counter() - started
                if phase:
                    self.samples.append(Sample(phase, at, name, status, seconds, message))
                if self.pause > 0:
                    self.stopping.wait(rng.uniform(0, 2 * self.pause))

    def _info(self, city: Path, every: float) -> None:
        while not self.stopping.is_set():
            phase, at = self.phase.now()
            started = time.perf_counter()
            done = subprocess.run(
                cli("info", "--city", str(city)), capture_output=True, text=True, check=False,
                env=_child_env(), cwd=_code_root(),
            )  # fmt: skip
            seconds = time.perf_counter() - started
            message = _tail(done.stderr) if done.returncode else ""
            if phase:
                self.samples.append(Sample(phase, at, CLI_INFO, done.returncode, seconds, message))
            self.stopping.wait(max(0.0, every - seconds))


def _detail(response: Any) -> str:
    """The ``detail`` of an error's JSON body, else the start of its text."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return str(detail).replace("\n", " ")[:MESSAGE_CHARS]


def endpoints(buildings: int, extent: list[float], box_m: float) -> dict[str, Callable[..., str]]:
    """The reads, each a function of a random generator giving a URL (path and query)."""

    def box(rng: random.Random) -> str:
        lon = rng.uniform(extent[0], extent[2])
        lat = rng.uniform(extent[1], extent[3])
        half_lat = box_m / 2 / 111_320
        half_lon = half_lat / math.cos(math.radians(lat))
        return (
            f"{lon - half_lon:.6f},{lat - half_lat:.6f},{lon + half_lon:.6f},{lat + half_lat:.6f}"
        )

    page = 50
    return {
        "GET /api/objects/{id}": lambda rng: f"/api/objects/buildings:{rng.randrange(buildings)}",
        "GET /api/objects?class=": lambda rng: (
            f"/api/objects?class=building&limit={page}"
            f"&offset={rng.randrange(max(1, buildings - page))}"
        ),
        "GET /api/search": lambda rng: f"/api/search?q=buildings:{rng.randrange(buildings)}",
        "GET /api/stats?bbox=": lambda rng: f"/api/stats?bbox={box(rng)}",
        "GET /ogc/.../items?bbox=": lambda rng: (
            f"/ogc/collections/building/items?limit={page}&bbox={box(rng)}"
        ),
        "GET /tiles/tileset.json": lambda rng: "/tiles/tileset.json",
    }


# --- figures ----------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    """The nearest-rank percentile of values sorted in increasing order (NaN when none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(samples: list[Sample], span: float) -> dict[str, Any]:
    """Counts by class of answer, rate and latency percentiles (ms) of some samples."""
    classes = Counter("err" if s.status == 0 else f"{s.status // 100}xx" for s in samples)
    times = sorted(s.seconds * 1000 for s in samples)
    return {
        "requests": len(samples),
        "per_s": len(samples) / span if span > 0 else math.nan,
        **{key: classes.get(key, 0) for key in ("2xx", "4xx", "5xx", "err")},
        **{f"p{p}_ms": percentile(times, p) for p in (50, 95, 99)},
        "max_ms": times[-1] if times else math.nan,
    }


def table(samples: list[Sample], names: list[str], spans: dict[str, float]) -> list[dict[str, Any]]:
    """One row per endpoint and phase, then the same over every read."""
    rows = []
    for name in [*names, "all reads"]:
        for phase in PHASES:
            chosen = [s for s in samples if s.phase == phase and s.endpoint != CLI_INFO
                      and (name == "all reads" or s.endpoint == name)]  # fmt: skip
            rows.append({"endpoint": name, "phase": phase, **summarize(chosen, spans[phase])})
        before, during = rows[-2]["p99_ms"], rows[-1]["p99_ms"]
        rows[-1]["p99_ratio"] = during / before if before > 0 else math.nan
    return rows


HEADER = (
    f"{'endpoint':25} {'phase':8} {'requests':>8} {'req/s':>6} {'2xx':>5} {'4xx':>5}"
    f" {'5xx':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p99 ratio':>9}"
)


def format_row(row: dict[str, Any]) -> str:
    """One line of the table (the endpoint named on its baseline line only)."""
    ratio = f"{row['p99_ratio']:8.1f}x" if "p99_ratio" in row else ""
    return (
        f"{row['endpoint'] if row['phase'] == PHASES[0] else '':25} {row['phase']:8}"
        f" {row['requests']:8d} {row['per_s']:6.1f} {row['2xx']:5d} {row['4xx']:5d}"
        f" {row['5xx']:5d} {row['err']:4d} {row['p50_ms']:8.0f} {row['p95_ms']:8.0f}"
        f" {row['p99_ms']:8.0f} {ratio:>9}"
    )


def timeline(samples: list[Sample], span: float, step: float) -> list[dict[str, Any]]:
    """The import phase in bins of ``step`` seconds: reads, failed reads, p99, info runs."""
    bins = []
    for index in range(max(1, math.ceil(span / step))):
        low, high = index * step, (index + 1) * step
        chosen = [s for s in samples if s.phase == PHASES[1] and low <= s.at < high]
        reads = [s for s in chosen if s.endpoint != CLI_INFO]
        infos = [s for s in chosen if s.endpoint == CLI_INFO]
        bins.append({
            "from_s": low, "reads": len(reads),
            "failed": sum(1 for s in reads if not 200 <= s.status < 400),
            "p99_ms": percentile(sorted(s.seconds * 1000 for s in reads), 99),
            "info": len(infos), "info_failed": sum(1 for s in infos if s.status != 0),
        })  # fmt: skip
    return bins


def errors_seen(samples: list[Sample]) -> list[dict[str, Any]]:
    """Each distinct failure (phase, endpoint, status, message) with its count, most first."""
    counts = Counter((s.phase, s.endpoint, s.status, s.message) for s in samples if s.message)
    return [
        {"phase": phase, "endpoint": name, "status": status, "message": message, "count": n}
        for (phase, name, status, message), n in counts.most_common()
    ]


def server_exceptions(log: str) -> list[dict[str, Any]]:
    """The exception lines of the server's log (tracebacks' last lines), counted."""
    found = Counter(
        match.group(0)[:MESSAGE_CHARS]
        for match in map(EXCEPTION_LINE.match, log.splitlines())
        if match
    )
    return [{"exception": line, "count": n} for line, n in found.most_common()]


def info_summary(samples: list[Sample], phase: str) -> str:
    """``cimtwin info`` in one phase: runs, failures, seconds, the first failure."""
    runs = [s for s in samples if s.endpoint == CLI_INFO and s.phase == phase]
    if not runs:
        return f"{phase}: no run"
    failed = [s for s in runs if s.status != 0]
    times = sorted(s.seconds for s in runs)
    text = (
        f"{phase}: {len(runs)} runs, {len(runs) - len(failed)} ok, {len(failed)} failed,"
        f" p50 {percentile(times, 50):.1f} s, max {times[-1]:.1f} s"
    )
    return text + (f' ("{failed[0].message}")' if failed else "")


# --- the run ----------------------------------------------------------------------------


@dataclass
class Import:
    """One ``cimtwin import ifc`` run."""

    file: str
    started: float = math.nan  # seconds after the first import started
    seconds: float = math.nan
    returncode: int | None = None
    last_line: str = ""
    ended_before_first: bool | None = None


def run_import(command: list[str], log: Path, record: Import, timeout: float) -> None:
    """Run one import to its end (killed after ``timeout`` seconds) and record it."""
    started = time.perf_counter()
    process = start(command, log)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        record.last_line = f"killed after the {timeout} s timeout"
    finally:
        stop(process)
    record.seconds = time.perf_counter() - started
    record.returncode = process.returncode
    record.last_line = record.last_line or _tail(log.read_text(errors="replace"))


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Run the setup child; what it made."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "setup"]
    command += ["--work", str(args.work), "--buildings", str(args.buildings)]
    command += ["--elements", str(args.elements), "--second-elements", str(args.second_elements)]
    command += ["--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=_child_env())
    if done.returncode != 0:
        raise SystemExit(f"setup failed: {_tail(done.stderr)}")
    made: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return made


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, serve, read without and during the import; every figure of the run."""
    made = setup(args)
    run = args.work / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    city = run / "city"
    shutil.copytree(made["city"], city)
    headers = account_headers(city)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = run / "server.log"
    server = start(cli("serve", "--city", str(city), "--port", str(port)), server_log)
    phase, spans = Phase(), dict.fromkeys(PHASES, 0.0)
    reads = endpoints(args.buildings, made["extent_crs84"], args.box_m)
    readers = Readers(url, reads, phase, args.request_timeout, args.seed, args.pause, headers)
    first, second = Import(Path(made["big"]).name), Import(Path(made["small"]).name)
    try:
        wait_for_server(url, server, server_log, headers)
        import httpx

        with httpx.Client(base_url=url, timeout=args.request_timeout, headers=headers) as client:
            for make in reads.values():  # warm up: first calls import modules, fill caches
                client.get(make(random.Random(args.seed)))
        phase.enter("baseline")
        readers.start(args.readers)
        if args.info_every > 0:
            readers.start_info(city, args.info_every)
        time.sleep(args.baseline)
        spans["baseline"] = args.baseline
        phase.enter("import")
        second_thread = None
        if args.second_after >= 0:
            second_thread = threading.Thread(
                target=_second_import, args=(args, made["small"], city, run, second), daemon=True
            )
            second_thread.start()
        began = time.perf_counter()
        run_import(cli("import", "ifc", made["big"], "--city", str(city)), run / "import.log",
                   first, args.import_timeout)  # fmt: skip
        spans["import"] = time.perf_counter() - began
        phase.enter("")
        readers.stop()
        if second_thread is not None:
            second_thread.join()
            if second.returncode is not None:
                second.ended_before_first = second.started + second.seconds < first.seconds
    finally:
        phase.enter("")
        readers.stopping.set()
        for process in STARTED:  # the server, and an import left running by an interrupt
            stop(process)
    first.started = 0.0
    samples = readers.samples
    return {
        "setup": made,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "rows": table(samples, list(reads), spans),
        "timeline": timeline(samples, spans["import"], args.step),
        "errors": errors_seen(samples),
        "server_exceptions": server_exceptions(server_log.read_text(errors="replace")),
        "info": {p: info_summary(samples, p) for p in PHASES},
        "imports": {"first": asdict(first), "second": asdict(second)},
    }


def _second_import(
    args: argparse.Namespace, file: str, city: Path, run: Path, record: Import
) -> None:
    """Wait ``--second-after`` seconds, then import the small file too."""
    time.sleep(args.second_after)
    record.started = args.second_after
    command = cli("import", "ifc", file, "--city", str(city), "--no-validate")
    run_import(command, run / "second-import.log", record, args.import_timeout)


def report(result: dict[str, Any]) -> None:
    """Print the table and the rest of the figures."""
    options = result["options"]
    print(
        f"{options['readers']} readers pausing {options['pause']:g} s on average; city of"
        f" {options['buildings']} generated buildings;"
        f" import of {options['elements']} generated IFC elements; baseline"
        f" {options['baseline']:.0f} s. A request counts in the phase it started in;"
        " err: no answer; p99 ratio: import over baseline."
    )
    print(HEADER)
    for row in result["rows"]:
        print(format_row(row))
    print(f"during the import, by {result['options']['step']:g} s (failed: not 2xx or 3xx):")
    print(f"  {'from s':>6} {'reads':>6} {'failed':>6} {'p99 ms':>7} {'info':>5} {'failed':>6}")
    for part in result["timeline"]:
        print(f"  {part['from_s']:6.0f} {part['reads']:6d} {part['failed']:6d}"
              f" {part['p99_ms']:7.0f} {part['info']:5d} {part['info_failed']:6d}")  # fmt: skip
    print("errors seen (phase, endpoint, status: count x detail):")
    for error in result["errors"] or [{"phase": "-", "endpoint": "none", "status": "",
                                       "count": 0, "message": ""}]:  # fmt: skip
        print(f"  {error['phase']:8} {error['endpoint']:25} {error['status']}:"
              f" {error['count']} x {error['message']}")  # fmt: skip
    print("exceptions in the server's log:")
    for line in result["server_exceptions"] or [{"count": 0, "exception": "none"}]:
        print(f"  {line['count']} x {line['exception']}")
    print("cimtwin info:")
    for text in result["info"].values():
        print(f"  {text}")
    for key, label in (("first", "import"), ("second", "second import")):
        item = result["imports"][key]
        if item["returncode"] is None:
            print(f"{label}: not run")
            continue
        when = "" if key == "first" else f", started {item['started']:.0f} s into the import"
        order = {True: ", ended before the first", False: ", ended after the first"}.get(
            item["ended_before_first"], ""
        )
        print(f"{label} of {item['file']}{when}: exit {item['returncode']} after"
              f" {item['seconds']:.1f} s{order}: {item['last_line']}")  # fmt: skip


# --- command line -----------------------------------------------------------------------


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module's text as written after the options, and each option's default."""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=_Help,
        epilog="\n\n".join(__doc__.split("\n\n")[3:]),
    )  # fmt: skip
    parser.add_argument("--child", choices=("setup",), help=argparse.SUPPRESS)
    parser.add_argument("--readers", type=int, default=20, help="concurrent HTTP clients")
    parser.add_argument("--buildings", type=int, default=3000, help="generated city's buildings")
    parser.add_argument("--elements", type=int, default=1000, help="elements of the long import")
    parser.add_argument("--pause", type=float, default=1.0,
                        help="mean pause of a reader between requests (s; 0: none)")  # fmt: skip
    parser.add_argument("--second-elements", type=int, default=10,
                        help="elements of the second import's file")  # fmt: skip
    parser.add_argument("--second-after", type=float, default=5.0,
                        help="start a second import S s into the first (<0: none)")  # fmt: skip
    parser.add_argument("--baseline", type=float, default=15.0, help="seconds read without import")
    parser.add_argument("--info-every", type=float, default=3.0,
                        help="run `cimtwin info` every S s (0: never)")  # fmt: skip
    parser.add_argument("--step", type=float, default=5.0, help="bins of the import's timeline")
    parser.add_argument("--box-m", type=float, default=300.0, help="side of the bbox queries (m)")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="per request (s)")
    parser.add_argument("--import-timeout", type=float, default=600.0, help="kill imports after")
    parser.add_argument("--seed", type=int, default=0, help="seed of generated data and reads")
    parser.add_argument(
        "--code", default=None, metavar="REV",
        help="run the server, the imports and cimtwin info (and make the city) with the"
        " packages of this git revision instead of the working tree (e.g. the code before a fix)",
    )  # fmt: skip
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work folder (kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.readers < 1 or args.buildings < 2 or args.elements < 1 or args.second_elements < 1:
        parser.error("--readers, --elements and --second-elements must be >= 1, --buildings >= 2")
    args.work = args.work.resolve()
    return args


def main(argv: list[str]) -> None:
    """Run the benchmark and print its figures."""
    args = _parse(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child == "setup":
        print(json.dumps(child_setup(args)))
        return
    os.environ[SECRET_ENV] = server_secret()  # the children's (a revision without auth ignores it)
    if args.code is not None:
        os.environ[CODE_ENV] = str(code_snapshot(args.code, args.work))
    code = f"the packages of {args.code} ({_code_root().name})" if args.code else "the working tree"
    print(f"work folder {args.work}; {time.strftime('%Y-%m-%d %H:%M:%S')}; code: {code}",
          flush=True)  # fmt: skip
    result = measure(args)
    report(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
