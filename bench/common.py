"""Helpers the benchmarks share: peak memory, CPU time, shared data, glb content statistics.

Only the standard library at import time, so that a benchmark's driver stays small and the
peak memory of its children is theirs (Linux carries ``ru_maxrss`` over ``fork`` and
``exec``). Run as a script, it measures one command::

    python bench/common.py measure -- COMMAND ARG...

and prints one JSON line: wall seconds, return code, the peak RSS of the largest process
the command ran (``RUSAGE_CHILDREN``), CPU seconds and the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED = Path(os.environ.get("CIMTWIN_SHARED_DATA") or SHARED_DATA) / "ifc"
DEFAULT_CRS = "EPSG:4547"
DEFAULT_ORIGIN = (430700.0, 2557800.0, 10.0)
PY3DTILES = Path(sys.executable).with_name("py3dtiles")
CIMTWIN = Path(sys.executable).with_name("cimtwin")
B3DM_HEADER = 28


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


def measure(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` through a fresh small interpreter that reports its peak memory.

    The wrapper keeps the driver's own peak out of the figure: ``peak_mb`` is the largest
    peak RSS among the processes the command ran (the command and its children).
    """
    wrapper = [sys.executable, str(Path(__file__).resolve()), "measure", "--", *command]
    done = subprocess.run(wrapper, capture_output=True, text=True, check=False, env=env)
    try:
        return last_json_line(done.stdout)
    except ValueError:
        return {"returncode": done.returncode, "error": _tail(done.stderr)}


def _tail(text: str) -> str:
    return (text.strip().splitlines() or ["failed"])[-1][:160]


def _measure_main(command: list[str]) -> None:
    started, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    result: dict[str, Any] = {
        "seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(cpu_seconds() - cpu, 3),
        "peak_mb": round(peak_mb(resource.RUSAGE_CHILDREN), 1),
        "returncode": done.returncode,
    }
    if done.returncode != 0:
        result["error"] = _tail(done.stderr)
    with contextlib.suppress(ValueError):
        result["output"] = last_json_line(done.stdout)
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


if __name__ == "__main__":
    if sys.argv[1:3] != ["measure", "--"] or len(sys.argv) < 4:
        sys.exit("usage: python bench/common.py measure -- COMMAND ARG...")
    _measure_main(sys.argv[3:])
