"""IFC to 3D Tiles: ``cimtwin import ifc --tile`` against ``py3dtiles convert``.

Usage::

    .venv/bin/python bench/bench_import.py [FILE.ifc ...] [--generated 1000] [--repeat 3]
        [--kernel K] [--settle PCT] [--no-split]

Without files it takes the shared Tekla carwash and Revit example (``<project>/../shared/
data/ifc`` or ``$CIMTWIN_SHARED_DATA/ifc``), and adds a file of ``--generated`` elements
made by ``generate_ifc.py`` (0: none). Both sides run as the commands a user types, each
in a fresh process, so start-up and imports count on both sides:

- ours: ``cimtwin init`` (not timed), then ``cimtwin import ifc FILE --tile`` (the file's
  own georeference, or a user origin in EPSG:4547 when it has none; schema validation,
  footprints, LODs, metadata included; then 3D Tiles 1.1 with normals and property
  tables), the one command a user runs to get a file into tiles;
- split (unless ``--no-split``): the same work as two commands, ``cimtwin import ifc FILE``
  then ``cimtwin tile``, into another fresh city, timed together (start-up paid twice);
- ``py3dtiles convert FILE --srs_in EPSG --srs_out 4978 --spec-version 1.1``, with the city
  CRS as ``EPSG`` (py3dtiles ignores the file's georeference).

Each repeat runs every side, in alternating order, so that a change of load on a shared machine
falls on both. The table shows the best time of each side with the spread of the repeats
(min-max), the ratio of the best times (ours over py3dtiles), and the range of the ratios
of each repeat's pair. The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import PY3DTILES, SHARED, settle

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_FILES = ("Tekla_MiniProject_Carwash.ifc", "Revit2021_example.ifc")


@dataclass
class Row:
    """The runs of one file."""

    name: str
    triangles: int = 0
    fallback: int = 0
    ours: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    tiles: list[float] = field(default_factory=list)
    peers: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def split(self) -> list[float]:
        """Import plus tile as two commands, per repeat."""
        return [a + b for a, b in zip(self.imports, self.tiles, strict=False)]


def _cimtwin(*args: str) -> list[str]:
    """The command line of this tree's ``cimtwin``."""
    return [sys.executable, "-c", "from api.cli import main; main()", *args]


def _environment() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(PROJECT))


def _timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=_environment())
    return time.perf_counter() - started, done


def _failure(what: str, done: subprocess.CompletedProcess[str]) -> str:
    return f"{what}: " + (done.stderr.strip().splitlines() or ["failed"])[-1][:150]


def city_setup(path: Path) -> tuple[str, tuple[float, float, float] | None]:
    """The city CRS and user origin for ``path`` (in a child: this driver stays small)."""
    script = "import json, sys; sys.path.insert(0, 'bench'); from common import city_setup;"
    script += f" print(json.dumps(city_setup(__import__('pathlib').Path({str(path)!r}))))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env=_environment(), cwd=PROJECT,
    )  # fmt: skip
    crs, origin = json.loads(done.stdout.strip().splitlines()[-1])
    return crs, tuple(origin) if origin else None


def _import_command(path: Path, crs: str, origin: tuple[float, ...] | None, kernel: str,
                    work: Path) -> list[str]:  # fmt: skip
    """Init a fresh city in ``work/city`` (untimed); the command that imports ``path``."""
    city = work / "city"
    shutil.rmtree(city, ignore_errors=True)
    subprocess.run(_cimtwin("init", "--city", str(city), "--crs", crs), check=True,
                   capture_output=True, env=_environment())  # fmt: skip
    command = _cimtwin("import", "ifc", str(path), "--city", str(city), "--kernel", kernel)
    command += ["--report", str(work / "report.json")]
    if origin is not None:
        command += ["--origin", ",".join(str(v) for v in origin), "--crs", crs]
    return command


def _note_report(work: Path, row: Row) -> None:
    imported = json.loads((work / "report.json").read_text())[0]
    row.triangles, row.fallback = imported["triangles"], len(imported.get("kernel_fallback", []))


def run_ours(path: Path, crs: str, origin: tuple[float, ...] | None, kernel: str, work: Path,
             row: Row) -> None:  # fmt: skip
    """Time ``import ifc FILE --tile`` into a fresh city."""
    seconds, done = _timed([*_import_command(path, crs, origin, kernel, work), "--tile"])
    if done.returncode != 0:
        row.notes.append(_failure("import --tile", done))
        return
    _note_report(work, row)
    row.ours.append(seconds)


def run_split(path: Path, crs: str, origin: tuple[float, ...] | None, kernel: str, work: Path,
              row: Row) -> None:  # fmt: skip
    """Time ``import ifc FILE`` then ``tile`` (two commands) into a fresh city."""
    seconds, done = _timed(_import_command(path, crs, origin, kernel, work))
    if done.returncode != 0:
        row.notes.append(_failure("import", done))
        return
    _note_report(work, row)
    tile_seconds, done = _timed(_cimtwin("tile", "--city", str(work / "city")))
    if done.returncode != 0:
        row.notes.append(_failure("tile", done))
        return
    row.imports.append(seconds)
    row.tiles.append(tile_seconds)


def run_peer(path: Path, crs: str, work: Path, row: Row) -> None:
    """Time ``py3dtiles convert`` on the file."""
    out = work / "py3dtiles"
    shutil.rmtree(out, ignore_errors=True)
    command = [str(PY3DTILES), "convert", str(path), "--out", str(out), "--overwrite"]
    command += ["--srs_in", crs.split(":")[-1], "--srs_out", "4978", "--spec-version", "1.1"]
    seconds, done = _timed(command)
    if done.returncode != 0:
        row.notes.append(_failure("py3dtiles", done))
        return
    row.peers.append(seconds)


def measure(path: Path, args: argparse.Namespace, work: Path) -> Row:
    """Every repeat of both sides on one file."""
    row = Row(path.name)
    crs, origin = city_setup(path)
    for repeat in range(args.repeat):
        sides = [lambda: run_ours(path, crs, origin, args.kernel, work, row)]
        if args.split:
            sides.append(lambda: run_split(path, crs, origin, args.kernel, work, row))
        sides.append(lambda: run_peer(path, crs, work, row))
        for side in sides if repeat % 2 == 0 else sides[::-1]:
            if args.settle is not None:
                settle(args.settle)
            side()
    return row


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float]) -> str:
    if not values:
        return f"{'-':>13}"
    return f"{min(values):6.2f}-{max(values):6.2f}"


def format_row(row: Row) -> str:
    """One line of the table."""
    nan = float("nan")
    ours = min(row.ours, default=nan)
    peer = min(row.peers, default=nan)
    pairs = [a / b for a, b in zip(row.ours, row.peers, strict=False)]
    split = min(row.split, default=nan)
    return (
        f"{row.name[:32]:32} {row.triangles:9d} {row.fallback:5d}"
        f" {ours:7.2f} {_spread(row.ours)} {peer:8.2f} {_spread(row.peers)}"
        f" {ours / peer:6.2f} {_spread(pairs)} {_median(pairs):6.2f}"
        f" {min(row.imports, default=nan):8.2f} {min(row.tiles, default=nan):7.2f}"
        f" {split:7.2f} {split / peer:6.2f}"
    )


HEADER = (
    f"{'file':32} {'triangles':>9} {'fallb':>5} {'ours s':>7} {'ours min-max':>13}"
    f" {'py3dt s':>8} {'py3dt min-max':>13} {'ratio':>6} {'pair ratios':>13} {'median':>6}"
    f" {'import s':>8} {'tile s':>7} {'split s':>7} {'ratio':>6}"
)


def _load() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="IFC files (default: shared)")
    parser.add_argument("--generated", type=int, default=1000, help="add a generated file of N")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated file")
    parser.add_argument("--kernel", default="hybrid-cgal-simple-opencascade", help="first kernel")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (best kept)")
    parser.add_argument(
        "--settle", type=float, default=None, metavar="PCT",
        help="before each run, wait until CPU pressure (Linux PSI avg10) is at most PCT %%",
    )  # fmt: skip
    parser.add_argument(
        "--no-split", dest="split", action="store_false",
        help="do not also time import and tile as two commands",
    )  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="keep work files here")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Measure every file and print the table."""
    args = _parse(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="cimtwin-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    files = list(args.files) or [SHARED / name for name in DEFAULT_FILES]
    if args.generated:
        generated = work / f"generated-{args.generated}-{args.seed}.ifc"
        if not generated.is_file():
            script = Path(__file__).resolve().with_name("generate_ifc.py")
            command = [sys.executable, str(script), str(generated)]
            command += ["--elements", str(args.generated), "--seed", str(args.seed)]
            subprocess.run(command, check=True, capture_output=True)
        files.append(generated)
    print(
        f"kernel {args.kernel}, {os.cpu_count()} cores, best of {args.repeat}; seconds of wall time"
    )
    print(f"load average at the start: {_load()}")
    print("ours: import ifc --tile; ratio: ours over py3dtiles (best times); fallb: elements")
    print("meshed by the reference kernel; pair ratios: ours over py3dtiles within each repeat,")
    print("and their median (the steadier figure where other work on the machine comes and goes);")
    print("split: import ifc, then tile (two commands), with its ratio over py3dtiles")
    print(HEADER)
    rows = []
    for path in files:
        row = measure(path, args, work / "out")
        rows.append(row)
        print(format_row(row), flush=True)
        for note in dict.fromkeys(row.notes):
            print(f"    {note}")
    print(f"load average at the end: {_load()} (other users of the machine slow both sides)")
    if args.json is not None:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
