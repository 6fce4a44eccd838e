"""Helpers the benchmarks share: peak memory, CPU time, shared data, glb content statistics.

Only the standard library at import time, so that a benchmark's driver stays small and the
peak memory of its children is theirs (Linux carries ``ru_maxrss`` over ``fork`` and
``exec``). Run as a script, it measures one command::

    python bench/common.py measure [--timeout S] -- COMMAND ARG...

and prints one JSON line: wall seconds, CPU seconds, return code, the peak RSS of the
largest process the command ran (``RUSAGE_CHILDREN``), the sampled peak of the sum over
its process tree, the tail of its stderr and the last JSON line it printed.

A benchmark that starts ``cimtwin serve`` gives it a :func:`server_secret` in its
environment and calls it with the :func:`admin_headers` of an account made for the run;
``CIMTWIN_SECRET_KEY=... python bench/common.py admin-headers CITY`` prints them as JSON,
with the code on the path (``{}`` for code from before accounts, which needs none).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED = Path(os.environ.get("CIMTWIN_SHARED_DATA") or SHARED_DATA) / "ifc"
DEFAULT_CRS = "EPSG:4547"
DEFAULT_ORIGIN = (430700.0, 2557800.0, 10.0)
PY3DTILES = Path(sys.executable).with_name("py3dtiles")
CIMTWIN = Path(sys.executable).with_name("cimtwin")
B3DM_HEADER = 28
SECRET_ENV = "CIMTWIN_SECRET_KEY"
PROVINCE = "440000000000"  # the root of the jurisdiction tree: its admin may do everything


def peak_mb(who: int) -> float:
    """Peak resident set size in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def own_peak_mb() -> float:
    """Peak RSS of this process since its ``exec``, in MiB.

    ``VmHWM`` belongs to the process's own address space, whereas Linux carries
    ``ru_maxrss`` over ``fork`` and ``exec``, so a child would inherit its parent's peak.
    """
    found = _status_mb("VmHWM:")
    return peak_mb(resource.RUSAGE_SELF) if found is None else found


def own_rss_mb() -> float:
    """Current RSS of this process, in MiB (NaN off Linux)."""
    found = _status_mb("VmRSS:")
    return float("nan") if found is None else found


def city_setup(path: Path) -> tuple[str, tuple[float, float, float] | None]:
    """The city CRS to import ``path`` into, and a user origin when it has no georeference.

    Imports :mod:`bim`: call it in a child process, not in a benchmark's driver.
    """
    from bim.errors import GeoreferenceError
    from bim.georef import resolve
    from bim.reader import open_ifc

    try:
        georef = resolve(open_ifc(path))
    except GeoreferenceError:
        return DEFAULT_CRS, DEFAULT_ORIGIN
    if georef.method.startswith("IfcSite"):
        lon, lat = georef.origin[0], georef.origin[1]
        zone = int((lon + 180) // 6) + 1
        return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}", None
    return georef.crs, None


PACKAGES = ("cim", "bim", "tiles", "api", "simulation")


def code_snapshot(revision: str, work: Path) -> Path:
    """The project's packages at a git revision, extracted once into ``work/code-SHA``.

    Put the folder first on a child's ``PYTHONPATH`` (and make it the child's working
    folder, which ``python -m`` puts first) to run that revision beside the working tree.
    """
    root = Path(__file__).resolve().parents[1]
    sha = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    folder = work / f"code-{sha}"
    if not folder.is_dir():
        partial = work / f".code-{sha}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", sha, *PACKAGES], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True)
        partial.rename(folder)
    return folder


def server_secret() -> str:
    """A new random secret for a server a benchmark starts (its ``CIMTWIN_SECRET_KEY``)."""
    return secrets.token_urlsafe(48)


def server_env(secret: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's environment) with ``secret`` as the server's secret."""
    return {**(os.environ if env is None else env), SECRET_ENV: secret}


def admin_headers(city: Path, secret: str) -> dict[str, str]:
    """The ``Authorization`` header of a new admin of the province, for a server of ``city``.

    The account goes into the city's operational database (the one ``CIMTWIN_DATABASE_URL``
    names, as for the server, else ``ops.sqlite`` in ``city``), and its access token, signed
    with ``secret``, lasts a day: give the server the same secret (:func:`server_env`).
    Imports the project: call it from a benchmark that may, before the server starts.
    """
    from argon2 import PasswordHasher

    from api.auth import service
    from api.auth.state import AuthConfig, AuthState
    from cim.ops import database_url, users

    url = database_url(city, os.environ.get("CIMTWIN_DATABASE_URL"))
    state = AuthState(secret, AuthConfig(access_lifetime=timedelta(days=1)), url)
    name, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024)  # verifying reads them from the hash
    try:
        users.add_user(
            state.db, name, password_hash=cheap.hash(password), jurisdiction=PROVINCE,
            roles=("admin",), now=state.clock(),
        )  # fmt: skip
        pair = service.sign_in(state, name, password, "bench")
    finally:
        state.close()
    return {"Authorization": f"Bearer {pair.access_token}"}


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def cpu_pressure() -> float | None:
    """Share of the last 10 s in which runnable tasks waited for a CPU (Linux PSI), in %."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    fields = dict(item.split("=") for item in first.split()[1:])
    return float(fields.get("avg10", "nan"))


def settle(limit: float, longest: float = 300.0) -> None:
    """Wait, at most ``longest`` seconds, until other work leaves the CPUs mostly idle."""
    started = time.monotonic()
    while time.monotonic() - started < longest:
        pressure = cpu_pressure()
        if pressure is None or pressure <= limit:
            return
        time.sleep(2.0)


def last_json_line(text: str) -> dict[str, Any]:
    """The JSON object on the last line of a child's output that holds one."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            return result
    raise ValueError("no JSON line in the output")


def measure(
    command: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run ``command`` through a fresh small interpreter that reports its peak memory.

    The wrapper keeps the driver's own peak out of the figures: ``peak_mb`` is the largest
    peak RSS among the processes the command ran (the command and its children), and
    ``tree_peak_mb`` the largest sum of their RSS seen by sampling every 0.2 s (what a
    command that works in several processes holds at once). ``output`` is the last JSON
    line the command printed, if any. After ``timeout`` seconds the command is killed.
    """
    wrapper = [sys.executable, str(Path(__file__).resolve()), "measure"]
    if timeout is not None:
        wrapper += ["--timeout", str(timeout)]
    done = subprocess.run(
        [*wrapper, "--", *command], capture_output=True, text=True, check=False, env=env
    )
    try:
        return last_json_line(done.stdout)
    except ValueError:
        return {"returncode": done.returncode, "error": _tail(done.stderr)}


def _tail(text: str) -> str:
    return (text.strip().splitlines() or ["failed"])[-1][:200]


def _tree_rss_mb(root: int) -> float:
    """Sum of the RSS of ``root`` and its descendants, in MiB (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21])  # pages
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(pid, 0) for pid in tree) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure_main(command: list[str], timeout: float | None) -> None:
    started, cpu = time.perf_counter(), cpu_seconds()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    tree_peak, stop = 0.0, threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not stop.wait(0.2):
            with contextlib.suppress(OSError):
                tree_peak = max(tree_peak, _tree_rss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    stop.set()
    sampler.join()
    result: dict[str, Any] = {
        "seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(cpu_seconds() - cpu, 3),
        "peak_mb": round(peak_mb(resource.RUSAGE_CHILDREN), 1),
        "tree_peak_mb": round(tree_peak, 1),
        "returncode": process.returncode,
    }
    if timed_out:
        result["error"] = f"killed after the {timeout} s timeout"
    elif process.returncode != 0:
        result["error"] = _tail(stderr)
    with contextlib.suppress(ValueError):
        result["output"] = last_json_line(stdout)
    print(json.dumps(result))


# --- glTF / b3dm content --------------------------------------------------------------


def glb_document(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a glb, or of the glb inside a b3dm (after its tables)."""
    if data[:4] == b"b3dm":
        tables = struct.unpack_from("<4I", data, 12)
        data = data[B3DM_HEADER + sum(tables) :]
    if data[:4] != b"glTF":
        raise ValueError("not a glb")
    length, kind = struct.unpack_from("<I4s", data, 12)
    if kind != b"JSON":
        raise ValueError("the glb does not start with a JSON chunk")
    document: dict[str, Any] = json.loads(data[20 : 20 + length])
    return document


def triangles_of(document: dict[str, Any]) -> tuple[int, int, int]:
    """Primitives, meshes and triangles a glTF document draws (once per mesh)."""
    accessors = document.get("accessors", [])
    primitives = triangles = 0
    for mesh in document.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            primitives += 1
            mode = primitive.get("mode", 4)
            if "indices" in primitive:
                count = accessors[primitive["indices"]]["count"]
            else:
                count = accessors[primitive["attributes"]["POSITION"]]["count"]
            if mode == 4:
                triangles += count // 3
            elif mode in (5, 6):
                triangles += max(count - 2, 0)
    return primitives, len(document.get("meshes", [])), triangles


@dataclass
class ContentStats:
    """What the content files of a tileset hold."""

    files: int = 0
    content_bytes: int = 0
    total_bytes: int = 0
    primitives: int = 0
    meshes: int = 0
    triangles: int = 0
    max_primitives: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def draw_calls_per_tile(self) -> float:
        """Mean primitives per content file (a primitive is a draw call)."""
        return self.primitives / self.files if self.files else float("nan")

    @property
    def bytes_per_triangle(self) -> float:
        """Every byte of the tileset (JSON too) over the triangles."""
        return self.total_bytes / self.triangles if self.triangles else float("nan")


def content_stats(folder: Path) -> ContentStats:
    """Read every ``.glb`` and ``.b3dm`` under ``folder`` (only their JSON chunks)."""
    stats = ContentStats(total_bytes=folder_bytes(folder))
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".glb", ".b3dm") or not path.is_file():
            continue
        stats.files += 1
        stats.content_bytes += path.stat().st_size
        try:
            primitives, meshes, triangles = triangles_of(glb_document(_head(path)))
        except (ValueError, KeyError, IndexError, struct.error) as exc:
            stats.unreadable.append(f"{path.name}: {exc}")
            continue
        stats.primitives += primitives
        stats.meshes += meshes
        stats.triangles += triangles
        stats.max_primitives = max(stats.max_primitives, primitives)
    return stats


def _head(path: Path) -> bytes:
    """The start of a content file, up to the end of its glb JSON chunk."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
        offset = 0
        if head[:4] == b"b3dm" and len(head) >= B3DM_HEADER:
            offset = B3DM_HEADER + sum(struct.unpack_from("<4I", head, 12))
        if len(head) >= offset + 20:
            need = offset + 20 + struct.unpack_from("<I", head, offset + 12)[0]
            if need > len(head):
                head += file.read(need - len(head))
        return head


def _print_admin_headers(city: Path) -> None:
    import api  # the package first on the path; an installed one may hold other modules

    has_accounts = (Path(api.__file__ or "").parent / "auth").is_dir()
    print(json.dumps(admin_headers(city, os.environ[SECRET_ENV]) if has_accounts else {}))


def _main(argv: list[str]) -> None:
    if argv[:1] == ["admin-headers"] and len(argv) == 2:
        _print_admin_headers(Path(argv[1]))
        return
    timeout = None
    if argv[1:2] == ["--timeout"]:
        timeout, argv = float(argv[2]), [argv[0], *argv[3:]]
    if argv[:2] != ["measure", "--"] or len(argv) < 3:
        sys.exit(
            "usage: python bench/common.py measure [--timeout S] -- COMMAND ARG...\n"
            "       python bench/common.py admin-headers CITY"
        )
    _measure_main(argv[2:], timeout)


if __name__ == "__main__":
    _main(sys.argv[1:])
