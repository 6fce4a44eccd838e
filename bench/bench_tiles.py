"""Tiling benchmarks: a generated city, IFC files against py3dtiles, a million buildings.

Usage::

    .venv/bin/python bench/bench_tiles.py city [--buildings 100000 ...] [--seed 0]
    .venv/bin/python bench/bench_tiles.py ifc [FILE.ifc ...] [--generated 2000]
    .venv/bin/python bench/bench_tiles.py million [--buildings 1000000] [--memory-mb 2048]

``city``: :mod:`generate_city` writes N LOD1 buildings into a new city (time and peak
memory of that step), then :func:`tiles.tileset.write_tileset` tiles it: buildings per
second, peak memory, bytes per triangle (every byte of the tileset, glb metadata and
tileset JSON included, over the triangles the glb files draw) and draw calls (glTF
primitives) per content file, beside the published peer figure and our aim.

``ifc``: each file goes end to end through ``cimtwin import ifc`` and the tiler, and through
``py3dtiles convert --spec-version 1.1`` (``--srs_in`` the city CRS of the import; py3dtiles
ignores the file's georeference), in the same run: the time ratio, output bytes, draw
calls per tile (py3dtiles writes one mesh per element) and bytes per triangle, read from
each side's glb (or b3dm, past its header and tables) files. Without files it takes the
Tekla carwash, FZK-Haus and Revit samples of the shared data (``$CIMTWIN_SHARED_DATA`` or
``<project>/../shared/data``), and ``--generated N`` adds a file of N elements from
:mod:`generate_ifc`.

``million``: ``city`` at 1 000 000 buildings, to show that the tiling finishes in bounded
memory (it fails the line when the peak passes ``--memory-mb``), with the peak per building
beside the one of a smaller city measured earlier in the same work folder.

Every measured step runs in its own child through ``common.measure``: ``peak MB`` is the
largest process's peak RSS (``RUSAGE_CHILDREN``), ``tree MB`` the sampled peak of the sum
over the step's processes (a tiler working in several processes). Generated cities are
kept in the work folder (``--work``, default a folder under the system's temporary
folder) and reused, with their generation figures, unless ``--regenerate``. Timings on a
shared CPU are noisy: compare ratios of one run. The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    SHARED,
    ContentStats,
    code_snapshot,
    content_stats,
    measure,
    own_peak_mb,
    own_rss_mb,
    settle,
)

HERE = Path(__file__).resolve().parent
PEER = "pg2b3dm 1 400-3 800 features/s (9.7 M and 46.3 M buildings, PostGIS in, hardware unstated)"
AIM_PER_S, AIM_BYTES_PER_TRIANGLE = 20_000, 40
DEFAULT_IFC = ("Tekla_MiniProject_Carwash.ifc", "AC20-FZK-Haus.ifc", "Revit2021_example.ifc")
DEFAULT_WORK = Path(tempfile.gettempdir()) / "cimtwin-bench-tiles"


# --- children (run in their own interpreter) -------------------------------------------

CODE_ENV = "CIMTWIN_BENCH_CODE"


def _use_code() -> None:
    """Import the packages from ``$CIMTWIN_BENCH_CODE`` (a snapshot of a revision), if set.

    The project is installed in editable mode, whose import finder maps the packages to the
    working tree whatever ``sys.path`` says: it is dropped from this child's finders.
    """
    code = os.environ.get(CODE_ENV)
    if not code:
        return
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not str(getattr(finder, "__module__", "")).startswith("__editable__")
    ]
    sys.path.insert(0, code)


def child_cli(arguments: list[str]) -> None:
    """Run the ``cimtwin`` command line with ``arguments`` (from the chosen code)."""
    _use_code()
    from api.cli import main

    sys.argv = ["cimtwin", *arguments]
    main()


def child_tile(city: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Tile the city with :func:`tiles.tileset.write_tileset`; its summary, wall time, memory."""
    _use_code()
    from cim.store import CityStore
    from tiles.tileset import TilingOptions, write_tileset

    base = own_rss_mb()
    with CityStore.open(city) as store:
        started = time.perf_counter()
        summary = write_tileset(store, TilingOptions(**options) if options else None)
        seconds = time.perf_counter() - started
    return {
        "summary": summary.to_dict(),
        "wall_s": round(seconds, 3),
        "base_mb": round(base, 1),
        "own_peak_mb": round(own_peak_mb(), 1),
    }


def child_setup(path: Path) -> dict[str, Any]:
    """The city CRS and user origin (or None) to import an IFC file with."""
    _use_code()
    from common import city_setup

    crs, origin = city_setup(path)
    return {"crs": crs, "origin": origin}


def _child_main(args: argparse.Namespace) -> None:
    if args.child == "cli":
        child_cli(args.rest)
    elif args.child == "tile":
        options = dict(_option(text) for text in args.option or [])
        print(json.dumps(child_tile(args.target, options), default=str))
    else:
        print(json.dumps(child_setup(args.target)))


def _option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--option``, the value read as JSON when it parses."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _tile_command(city: Path, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, str(HERE / "bench_tiles.py"), "--child", "tile", str(city)]
    for text in args.option or []:
        command += ["--option", text]
    return command


def _tile(city: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Tile ``city`` in a measured child; the child's figures with the wrapper's."""
    if args.settle is not None:
        settle(args.settle)
    run = measure(_tile_command(city, args), timeout=args.timeout)
    output = run.pop("output", {})
    return {**run, **output}


# --- (a) and (c): generated cities -----------------------------------------------------


def _generated_city(count: int, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The city of ``count`` buildings in the work folder, generated (and measured) if needed."""
    city = args.work / f"city-{count}-{args.seed}"
    record = city.with_name(city.name + ".bench.json")
    if city.is_dir() and not args.regenerate:
        if record.is_file():
            return city, {**json.loads(record.read_text()), "reused": True}
        figures = city.with_name(city.name + ".gen.json")  # written by generate_city --json
        if figures.is_file():
            own = json.loads(figures.read_text())
            return city, {"seconds": own["seconds"], "peak_mb": own["peak_mb"], "output": own,
                          "reused": True}  # fmt: skip
        shutil.rmtree(city)
    shutil.rmtree(city, ignore_errors=True)
    if args.settle is not None:
        settle(args.settle)
    command = [sys.executable, str(HERE / "generate_city.py"), str(city), "--quiet"]
    command += ["--buildings", str(count), "--seed", str(args.seed), "--batch", str(args.batch)]
    run = measure(command)
    if run.get("returncode") != 0:
        raise SystemExit(f"generate_city failed: {run.get('error')}")
    record.write_text(json.dumps(run, indent=1))
    return city, run


CITY_HEADER = (
    f"{'buildings':>9} {'triangles':>10} {'gen s':>7} {'gen/s':>7} {'gen MB':>6}"
    f" {'tile s':>8} {'bldg/s':>7} {'child s':>8} {'peak MB':>7} {'tree MB':>7} {'tiles':>6}"
    f" {'glb':>6} {'out MB':>7} {'B/tri':>6} {'draws/tile':>10}"
)


def _city_row(count: int, generation: dict[str, Any], tiling: dict[str, Any],
              stats: ContentStats) -> str:  # fmt: skip
    gen = generation.get("output", {})
    gen_s = float(generation.get("seconds", math.nan))
    summary = tiling.get("summary", {})
    tile_s = float(tiling.get("wall_s", math.nan))
    return (
        f"{count:9d} {gen.get('triangles', 0):10d} {gen_s:7.1f} {count / gen_s:7.0f}"
        f" {generation.get('peak_mb', math.nan):6.0f} {tile_s:8.1f} {count / tile_s:7.0f}"
        f" {tiling.get('seconds', math.nan):8.1f} {tiling.get('peak_mb', math.nan):7.0f}"
        f" {tiling.get('tree_peak_mb', math.nan):7.0f} {summary.get('tiles', 0):6d}"
        f" {stats.files:6d} {stats.total_bytes / 1e6:7.1f} {stats.bytes_per_triangle:6.1f}"
        f" {stats.draw_calls_per_tile:10.2f}"
    )


def run_cities(counts: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Generate and tile each city; print the table; return the results."""
    print(f"peer: {PEER}")
    print(f"aim:  > {AIM_PER_S} buildings/s on 2 cores, < {AIM_BYTES_PER_TRIANGLE} bytes/triangle")
    print(
        "gen: generate_city (reused: measured when the work folder's city was made);"
        " tile s: write_tileset's wall time (bldg/s from it); child s: the tiling child's,"
        " interpreter start included; peak MB: the child's peak RSS; tree MB: its processes'"
        " sampled sum;"
        " B/tri: tileset bytes over glb triangles"
    )
    print(CITY_HEADER, flush=True)
    results = []
    for count in counts:
        city, generation = _generated_city(count, args)
        shutil.rmtree(city / "tiles", ignore_errors=True)  # a full run, nothing to reuse
        tiling = _tile(city, args)
        stats = content_stats(city / "tiles") if (city / "tiles").is_dir() else ContentStats()
        again = _tile(city, args)  # nothing changed: every tile is reused
        redo = again.get("summary", {})
        print(f"    re-tiling with nothing changed: {again.get('wall_s', math.nan):.1f} s,"
              f" {redo.get('reused', 0)} tiles reused, {redo.get('written', 0)} drawn,"
              f" peak {again.get('peak_mb', math.nan):.0f} MB", flush=True)  # fmt: skip
        results.append({"buildings": count, "generate": generation, "tile": tiling,
                        "content": {**stats.__dict__, "bytes_per_triangle":
                                    stats.bytes_per_triangle, "draw_calls_per_tile":
                                    stats.draw_calls_per_tile}})  # fmt: skip
        record = city.with_name(city.name + ".bench.json")
        saved = json.loads(record.read_text()) if record.is_file() else dict(generation)
        saved["last_tile"] = tiling | {"at": time.strftime("%Y-%m-%d %H:%M:%S")}
        record.write_text(json.dumps(saved, indent=1, default=str))
        print(_city_row(count, generation, tiling, stats), flush=True)
        _print_details(generation, tiling, stats)
        if not args.keep_tiles:
            shutil.rmtree(city / "tiles", ignore_errors=True)
    return results


def _print_details(generation: dict[str, Any], tiling: dict[str, Any], stats: ContentStats) -> None:
    gen = generation.get("output", {})
    if gen:
        print(
            f"    generation: writer {gen.get('writer_us_per_building')} us/building"
            f" ({gen.get('writer_s')} s), own geometry {gen.get('geometry_s')} s, commits"
            f" {gen.get('commit_s')} s, store {gen.get('store_bytes', 0) / 1e6:.0f} MB"
            + (" (reused)" if generation.get("reused") else "")
        )
    if "error" in tiling:
        print(f"    tiling FAILED: {tiling['error']}")
    if "summary" in tiling:
        print(
            f"    tiling: interpreter and imports {tiling.get('base_mb')} MB,"
            f" write_tileset {tiling.get('wall_s')} s, CPU {tiling.get('cpu_seconds')} s;"
            f" glb triangles {stats.triangles}, content {stats.content_bytes / 1e6:.1f} MB"
            f" ({stats.content_bytes / max(stats.triangles, 1):.1f} B/tri),"
            f" primitives max {stats.max_primitives}/tile"
        )
        print(f"    summary: {json.dumps(tiling['summary'], default=str)}")
    for problem in stats.unreadable[:3]:
        print(f"    unreadable content: {problem}")


def run_million(args: argparse.Namespace) -> None:
    """A million buildings, and whether the tiling's peak memory stayed bounded."""
    count = args.buildings[0] if args.buildings else 1_000_000
    results = run_cities([count], args)
    result = results[0]
    peak = max(result["tile"].get("peak_mb", math.nan), result["tile"].get("tree_peak_mb", 0))
    status = "FAILED" if "error" in result["tile"] else "finished"
    bounded = "within" if peak <= args.memory_mb else "OVER"
    print(
        f"{count} buildings: tiling {status} in {result['tile'].get('seconds', math.nan):.0f} s,"
        f" peak {peak:.0f} MB ({1024 * peak / count:.2f} KB/building), {bounded} the"
        f" {args.memory_mb} MB bound; generation {result['generate'].get('seconds', math.nan):.0f}"
        f" s, peak {result['generate'].get('peak_mb', math.nan):.0f} MB"
    )
    for smaller in sorted(args.work.glob(f"city-*-{args.seed}.bench.json")):
        size = int(smaller.name.split("-")[1])
        last = json.loads(smaller.read_text()).get("last_tile", {})
        if size < count and "peak_mb" in last:
            grown = peak / max(last["peak_mb"], last.get("tree_peak_mb", 0))
            print(
                f"    against {size} buildings (tiled {last.get('at')}): peak"
                f" {max(last['peak_mb'], last.get('tree_peak_mb', 0)):.0f} MB, x{grown:.1f}"
                f" for x{count / size:.0f} buildings (bounded memory would stay near x1)"
            )


# --- (b) IFC files against py3dtiles ----------------------------------------------------


def _ifc_files(args: argparse.Namespace) -> list[Path]:
    files = list(args.files) or [SHARED / name for name in DEFAULT_IFC if (SHARED / name).is_file()]
    if args.generated:
        generated = args.work / f"generated-{args.generated}-{args.seed}.ifc"
        if not generated.is_file():  # in a child, to keep this process small
            command = [sys.executable, str(HERE / "generate_ifc.py"), str(generated)]
            command += ["--elements", str(args.generated), "--seed", str(args.seed)]
            subprocess.run(command, check=True, capture_output=True)
        files.append(generated)
    return files


def _ours(path: Path, setup: dict[str, Any], out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``cimtwin init``, then ``cimtwin import ifc`` and the tiler, each measured."""
    cimtwin = [sys.executable, str(HERE / "bench_tiles.py"), "--child", "cli"]
    city = out / "city"
    shutil.rmtree(city, ignore_errors=True)
    init = [*cimtwin, "init", "--city", str(city), "--crs", setup["crs"]]
    subprocess.run(init, check=True, capture_output=True)
    command = [*cimtwin, "import", "ifc", str(path), "--city", str(city)]
    command += ["--kernel", args.kernel]
    if setup["origin"] is not None:
        command += ["--origin", ",".join(str(v) for v in setup["origin"])]
    if args.settle is not None:
        settle(args.settle)
    imported = measure(command)
    if "error" in imported:
        return {"error": f"import: {imported['error']}"}
    tiling = _tile(city, args)
    if "error" in tiling:
        return {"import": imported, "error": f"tile: {tiling['error']}"}
    return {"import": imported, "tile": tiling, "folder": city / "tiles"}


def _py3dtiles(path: Path, setup: dict[str, Any], out: Path, args: argparse.Namespace
               ) -> dict[str, Any]:  # fmt: skip
    """``py3dtiles convert`` of the file, measured."""
    folder = out / "py3dtiles"
    shutil.rmtree(folder, ignore_errors=True)
    command = [str(Path(sys.executable).with_name("py3dtiles")), "convert", str(path)]
    command += ["--out", str(folder), "--overwrite", "--srs_in", setup["crs"].split(":")[-1]]
    command += ["--srs_out", "4978", "--spec-version", "1.1"]
    if args.settle is not None:
        settle(args.settle)
    run = measure(command, timeout=args.timeout)
    return {"run": run, "folder": folder} if "error" not in run else {"error": run["error"]}


IFC_HEADER = (
    f"{'file':34} {'tool':10} {'seconds':>8} {'peak MB':>7} {'tree MB':>7} {'glb':>5}"
    f" {'out MB':>7} {'triangles':>9} {'draws/tile':>10} {'max':>5} {'B/tri':>6}"
)


def _ifc_line(name: str, tool: str, seconds: float, run: dict[str, Any], stats: ContentStats
              ) -> str:  # fmt: skip
    return (
        f"{name[:34]:34} {tool:10} {seconds:8.2f} {run.get('peak_mb', math.nan):7.0f}"
        f" {run.get('tree_peak_mb', math.nan):7.0f} {stats.files:5d}"
        f" {stats.total_bytes / 1e6:7.2f} {stats.triangles:9d} {stats.draw_calls_per_tile:10.1f}"
        f" {stats.max_primitives:5d} {stats.bytes_per_triangle:6.1f}"
    )


def run_ifc(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each file through CIMTwin and through py3dtiles; print both and the ratios."""
    print(
        "cimtwin: `cimtwin import ifc` + tiling child, wall times summed (interpreter starts"
        " included); py3dtiles: `py3dtiles convert --spec-version 1.1`; peak MB: largest"
        " process; tree MB: sampled sum over the step's processes; draws/tile: glTF"
        " primitives per content file; B/tri: output bytes over drawn triangles"
    )
    print(IFC_HEADER, flush=True)
    results = []
    for path in _ifc_files(args):
        out = args.work / "ifc" / path.stem
        out.mkdir(parents=True, exist_ok=True)
        setup_run = subprocess.run(
            [sys.executable, str(HERE / "bench_tiles.py"), "--child", "setup", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if setup_run.returncode != 0:
            print(f"{path.name[:34]:34} setup failed: {setup_run.stderr.strip()[-160:]}")
            continue
        setup = json.loads(setup_run.stdout.strip().splitlines()[-1])
        ours, theirs = _ours(path, setup, out, args), _py3dtiles(path, setup, out, args)
        result: dict[str, Any] = {"file": path.name, "crs": setup["crs"]}
        our_s = their_s = math.nan
        our_stats = their_stats = ContentStats()
        if "error" in ours:
            print(f"{path.name[:34]:34} {'cimtwin':10} FAILED: {ours['error']}")
        else:
            our_s = ours["import"]["seconds"] + ours["tile"]["seconds"]
            our_stats = content_stats(ours["folder"])
            peak = {k: max(ours["import"].get(k, 0), ours["tile"].get(k, 0))
                    for k in ("peak_mb", "tree_peak_mb")}  # fmt: skip
            print(_ifc_line(path.name, "cimtwin", our_s, peak, our_stats))
            print(
                f"{'':34} {'':10} import {ours['import']['seconds']:.2f} s"
                f" ({ours['import'].get('peak_mb', math.nan):.0f} MB),"
                f" tiling {ours['tile']['seconds']:.2f} s"
                f" ({ours['tile'].get('peak_mb', math.nan):.0f} MB)"
            )
            result["cimtwin"] = {"seconds": our_s, **ours["import"], "tile": ours["tile"],
                                 "content": our_stats.__dict__}  # fmt: skip
        if "error" in theirs:
            print(f"{'':34} {'py3dtiles':10} FAILED: {theirs['error']}")
        else:
            their_s = theirs["run"]["seconds"]
            their_stats = content_stats(theirs["folder"])
            print(_ifc_line("", "py3dtiles", their_s, theirs["run"], their_stats))
            result["py3dtiles"] = {**theirs["run"], "content": their_stats.__dict__}
        print(
            f"{'':34} {'ratio':10} time x{our_s / their_s:.2f}, bytes"
            f" x{_ratio(our_stats.total_bytes, their_stats.total_bytes):.2f}, draws/tile"
            f" x{our_stats.draw_calls_per_tile / their_stats.draw_calls_per_tile:.3f},"
            f" bytes/triangle x{our_stats.bytes_per_triangle / their_stats.bytes_per_triangle:.2f}"
            f" (cimtwin over py3dtiles)",
            flush=True,
        )
        for problem in (our_stats.unreadable + their_stats.unreadable)[:3]:
            print(f"    unreadable content: {problem}")
        results.append(result)
    return results


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


# --- command line -----------------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("tile", "setup", "cli"), help=argparse.SUPPRESS)
    parser.add_argument("--option", action="append", help=argparse.SUPPRESS)
    parser.add_argument("target", nargs="?", type=Path, help=argparse.SUPPRESS)
    if argv[:2] == ["--child", "cli"]:
        return argparse.Namespace(child="cli", rest=argv[2:])
    if argv[:1] == ["--child"]:
        return parser.parse_args(argv)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=0, help="seed of generated data")
    common.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work folder (kept)")
    common.add_argument(
        "--settle", type=float, default=None, metavar="PCT",
        help="before each step, wait until CPU pressure is at most PCT %%",
    )  # fmt: skip
    common.add_argument(
        "--code", default=None, metavar="REV",
        help="tile (and import) with the packages of this git revision, not the working tree",
    )  # fmt: skip
    common.add_argument("--timeout", type=float, default=None, help="kill a step after S s")
    common.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="a TilingOptions field (value as JSON), repeatable")  # fmt: skip
    common.add_argument("--json", type=Path, default=None, help="also write results here")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, default, text in (("city", [100_000], "a generated city (a)"),
                                ("million", [1_000_000], "bounded memory (c)")):  # fmt: skip
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument("--buildings", type=int, nargs="+", default=default)
        sub.add_argument("--batch", type=int, default=20_000, help="buildings per transaction")
        sub.add_argument("--regenerate", action="store_true", help="do not reuse the city")
        sub.add_argument("--keep-tiles", action="store_true", help="keep the tiles written")
        if name == "million":
            sub.add_argument("--memory-mb", type=float, default=1024, help="the memory bound")
    ifc = commands.add_parser("ifc", parents=[common], help="IFC against py3dtiles (b)")
    ifc.add_argument("files", nargs="*", type=Path, help="IFC files (default: shared samples)")
    ifc.add_argument("--generated", type=int, default=2000, help="add a generated file (0: no)")
    ifc.add_argument("--kernel", default="opencascade", help="geometry library of the import")
    args = parser.parse_args(argv)
    args.child = None
    return args


def main(argv: list[str]) -> None:
    """Run the benchmark the command line names and print its table."""
    args = _parse(argv)
    if args.child:
        _child_main(args)
        return
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {args.work}; {time.strftime('%Y-%m-%d %H:%M:%S')}")
    if args.code is not None:
        os.environ[CODE_ENV] = str(code_snapshot(args.code, args.work))
        print(f"code: the packages of {args.code} ({Path(os.environ[CODE_ENV]).name})")
    else:
        print("code: the working tree")
    if args.command == "city":
        results: list[dict[str, Any]] = run_cities(args.buildings, args)
    elif args.command == "million":
        run_million(args)
        results = []
    else:
        results = run_ifc(args)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
