"""Import speed and memory against the IfcOpenShell geometry iterator alone, and py3dtiles.

Usage::

    .venv/bin/python bench/bench_import.py [FILE.ifc ...] [--generated 5000] [--kernel K]

Without files it takes every file in ``<project>/../shared/data/ifc`` (or in
``$CIMTWIN_SHARED_DATA/ifc``, as the tests do). For each file it runs, each in a fresh
child process (so that each peak RSS is that measurement's own):

- ``iterator``: ``ifcopenshell.open`` and :func:`bim.geometry.iterate_shapes` alone, with
  the import's settings (kernel, threads), in the calling process
  (``CIMTWIN_GEOMETRY_PROCESS=0``: no pipe, no second process);
- ``import``: :func:`bim.importer.import_ifc` into a new city (the file's own georeference,
  or a user origin in EPSG:4547 when it has none), then ``cimtwin tile``'s
  :func:`tiles.tileset.write_tileset` timed apart;
- ``py3dtiles``: ``py3dtiles convert FILE --out DIR --srs_in EPSG --srs_out 4978
  --spec-version 1.1`` (``EPSG`` is the city CRS of the import; py3dtiles ignores the file's
  georeference), wall time, output bytes and the peak RSS of its largest process.

Peak memory is the child's peak RSS, which counts the C++ allocations ``tracemalloc``
misses: ``VmHWM`` in-process (``ru_maxrss`` would carry the parent's peak over ``fork`` and
``exec``), ``RUSAGE_CHILDREN``'s ``ru_maxrss`` for py3dtiles (its largest process). The
import's own children (the geometry process, the validation process) are shown apart
(``kids MB``, the largest); a forked child shares its parent's pages, which both count. Timings on a
shared CPU are noisy: compare the ratios of one run; ``--repeat`` keeps the best time.
The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    PY3DTILES,
    SHARED,
    city_setup,
    cpu_seconds,
    folder_bytes,
    own_peak_mb,
    peak_mb,
    settle,
)


@dataclass
class Row:
    """The measurements of one file."""

    name: str
    shapes: int = 0
    triangles: int = 0
    iterator_s: float = float("nan")
    iterator_mb: float = float("nan")
    import_s: float = float("nan")
    import_mb: float = float("nan")
    import_kids_mb: float = float("nan")
    import_cpu_s: float = float("nan")
    tile_s: float = float("nan")
    tile_bytes: int = 0
    py3dtiles_s: float = float("nan")
    py3dtiles_mb: float = float("nan")
    py3dtiles_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def ratio(self, seconds: float) -> float:
        """``seconds`` over the iterator's time."""
        return seconds / self.iterator_s if self.iterator_s > 0 else float("nan")


def child_iterator(path: Path, kernel: str, threads: int | None) -> dict[str, Any]:
    """Open the file and run the iterator alone with the import's settings."""
    import ifcopenshell

    from bim.geometry import iterate_shapes

    started = time.perf_counter()
    model = ifcopenshell.open(str(path))
    shapes = triangles = 0
    for shape in iterate_shapes(model, kernel, threads):
        shapes += 1
        triangles += sum(len(faces) for _, faces in shape.parts)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "shapes": shapes, "triangles": triangles}


def child_import(path: Path, kernel: str, threads: int | None, work: Path) -> dict[str, Any]:
    """Import the file into a new city, then tile the city; time both."""
    from bim.georef import UserOrigin
    from bim.importer import ImportOptions, import_ifc
    from cim.store import CityStore
    from tiles.tileset import write_tileset

    crs, origin = city_setup(path)
    user_origin = UserOrigin(crs, origin) if origin is not None else None
    options = ImportOptions(user_origin=user_origin, kernel=kernel, threads=threads)
    city = work / "city"
    shutil.rmtree(city, ignore_errors=True)
    store = CityStore.create(city, crs)
    started, cpu = time.perf_counter(), cpu_seconds()
    report = import_ifc(store, path, options)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    result: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": own_peak_mb(),
        "kids_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "triangles": report.triangles,
    }
    try:
        summary = write_tileset(store)
        result |= {"tile_seconds": summary.seconds, "tile_bytes": folder_bytes(city / "tiles")}
    except Exception as exc:  # a file without geometry has nothing to tile
        result["tile_error"] = str(exc)
    store.close()
    return result


def child_py3dtiles(path: Path, srs_in: str, work: Path) -> dict[str, Any]:
    """Run ``py3dtiles convert`` on the file; wall time, output bytes and peak RSS."""
    out = work / "py3dtiles"
    shutil.rmtree(out, ignore_errors=True)
    command = [str(PY3DTILES), "convert", str(path), "--out", str(out), "--overwrite"]
    command += ["--srs_in", srs_in.split(":")[-1], "--srs_out", "4978", "--spec-version", "1.1"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": seconds, "peak_mb": peak_mb(resource.RUSAGE_CHILDREN)}
    if done.returncode != 0:
        result["error"] = (done.stderr.strip().splitlines() or ["failed"])[-1][:120]
    else:
        result["bytes"] = folder_bytes(out)
    return result


def _run_child(kind: str, path: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    if args.settle is not None:
        settle(args.settle)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path)]
    command += ["--kernel", args.kernel, "--work", str(work)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    env = dict(os.environ)
    if kind == "iterator":
        env["CIMTWIN_GEOMETRY_PROCESS"] = "0"
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seconds(run: dict[str, Any]) -> float:
    return float(run.get("seconds", "inf"))


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the lowest time, with the highest peak memory of all runs."""
    ok = [r for r in runs if "error" not in r] or runs
    fastest: dict[str, Any] = min(ok, key=_seconds)
    best = dict(fastest)
    peaks = [r["peak_mb"] for r in ok if "peak_mb" in r]
    if peaks:
        best["peak_mb"] = max(peaks)
    return best


def measure(path: Path, args: argparse.Namespace, work: Path) -> Row:
    """Every measurement of one file, each in its own child process."""
    row = Row(path.name)
    iterator = _best([_run_child("iterator", path, args, work) for _ in range(args.repeat)])
    if "error" in iterator:
        row.notes.append(f"iterator: {iterator['error']}")
    else:
        row.iterator_s, row.iterator_mb = iterator["seconds"], iterator["peak_mb"]
        row.shapes, row.triangles = iterator["shapes"], iterator["triangles"]
    imported = _best([_run_child("import", path, args, work) for _ in range(args.repeat)])
    if "error" in imported:
        row.notes.append(f"import: {imported['error']}")
    else:
        row.import_s, row.import_mb = imported["seconds"], imported["peak_mb"]
        row.import_kids_mb = imported.get("kids_peak_mb", row.import_kids_mb)
        row.import_cpu_s = imported.get("cpu_seconds", row.import_cpu_s)
        row.tile_s = imported.get("tile_seconds", row.tile_s)
        row.tile_bytes = imported.get("tile_bytes", 0)
    if not args.no_py3dtiles:
        converted = _best([_run_child("py3dtiles", path, args, work) for _ in range(args.repeat)])
        if "error" in converted:
            row.notes.append(f"py3dtiles: {converted['error']}")
        else:
            row.py3dtiles_s, row.py3dtiles_mb = converted["seconds"], converted["peak_mb"]
            row.py3dtiles_bytes = converted.get("bytes", 0)
    return row


HEADER = (
    f"{'file':34} {'shapes':>6} {'triangles':>9} {'iter s':>7} {'import s':>8} {'ratio':>6}"
    f" {'imp cpu':>7} {'iter MB':>7} {'imp MB':>7} {'kids MB':>7} {'tiles s':>7} {'out MB':>7}"
    f" {'py3dt s':>7} {'ratio':>6} {'py3dt MB':>8} {'out MB':>7}"
)


def format_row(row: Row) -> str:
    """One line of the table."""
    return (
        f"{row.name[:34]:34} {row.shapes:6d} {row.triangles:9d} {row.iterator_s:7.2f}"
        f" {row.import_s:8.2f} {row.ratio(row.import_s):6.2f} {row.import_cpu_s:7.2f}"
        f" {row.iterator_mb:7.0f} {row.import_mb:7.0f} {row.import_kids_mb:7.0f}"
        f" {row.tile_s:7.2f} {row.tile_bytes / 1e6:7.2f}"
        f" {row.py3dtiles_s:7.2f} {row.ratio(row.py3dtiles_s):6.2f} {row.py3dtiles_mb:8.0f}"
        f" {row.py3dtiles_bytes / 1e6:7.2f}"
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="IFC files (default: shared)")
    parser.add_argument("--generated", type=int, default=0, help="add a generated file of N")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated file")
    parser.add_argument("--kernel", default="opencascade", help="geometry library")
    parser.add_argument("--threads", type=int, default=None, help="iterator threads")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best)")
    parser.add_argument("--no-py3dtiles", action="store_true", help="skip py3dtiles convert")
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        metavar="PCT",
        help="before each run, wait until CPU pressure (Linux PSI avg10) is at most PCT %%",
    )
    parser.add_argument("--work", type=Path, default=None, help="keep work files here")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--child", choices=("iterator", "import", "py3dtiles"), help="internal")
    return parser.parse_args(argv)


def _child_main(args: argparse.Namespace) -> None:
    path, work = args.files[0], args.work
    work.mkdir(parents=True, exist_ok=True)
    if args.child == "iterator":
        result = child_iterator(path, args.kernel, args.threads)
        result["peak_mb"] = own_peak_mb()
    elif args.child == "import":
        result = child_import(path, args.kernel, args.threads, work)
    else:
        result = child_py3dtiles(path, city_setup(path)[0], work)
    print(json.dumps(result))


def main(argv: list[str]) -> None:
    """Measure every file and print the table."""
    args = _parse(argv)
    if args.child:
        _child_main(args)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="cimtwin-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    files = list(args.files) or sorted(SHARED.glob("*.ifc"))
    if args.generated:
        generated = work / f"generated-{args.generated}-{args.seed}.ifc"
        if not generated.is_file():  # in a child, to keep this process small (see _own_peak_mb)
            script = Path(__file__).resolve().with_name("generate_ifc.py")
            command = [sys.executable, str(script), str(generated)]
            command += ["--elements", str(args.generated), "--seed", str(args.seed)]
            subprocess.run(command, check=True)
        files.append(generated)
    try:
        from bim.geometry import default_threads, uses_geometry_process
    except ImportError:  # an older bim.geometry: the iterator's threads default to the cores
        threads, mode = args.threads or os.cpu_count(), "in-process"
    else:
        threads = args.threads or default_threads()
        mode = "a geometry process" if uses_geometry_process() else "in-process"
    print(f"kernel {args.kernel}, {threads} iterator threads, import {mode}, best of {args.repeat}")
    print(
        "ratio: over iter s; imp cpu: CPU s of the import and its children; MB: peak RSS"
        " (kids: largest child of the import); out MB: bytes written (our tiles, py3dtiles')"
    )
    print(HEADER)
    rows = []
    for path in files:
        row = measure(path, args, work / "out")
        rows.append(row)
        print(format_row(row), flush=True)
        for note in row.notes:
            print(f"    {note}")
    if args.json is not None:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
