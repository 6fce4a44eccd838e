"""Import speed against the IfcOpenShell geometry iterator alone, on the same files and settings.

Usage: .venv/bin/python bench/bench_import.py [FILE.ifc ...]
(default: every file in ../shared/data/ifc). Prints, per file: iterator seconds, import
seconds, their ratio, and the import's peak memory (tracemalloc of Python allocations).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import ifcopenshell

from bim.geometry import iterate_shapes
from bim.georef import UserOrigin
from bim.importer import ImportOptions, import_ifc
from cim.store import CityStore

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ifc"


def iterator_seconds(path: Path) -> tuple[float, int]:
    """Seconds for the iterator alone (same settings as the import) and the triangle count."""
    model = ifcopenshell.open(str(path))
    started = time.perf_counter()
    triangles = sum(len(faces) for shape in iterate_shapes(model) for _, faces in shape.parts)
    return time.perf_counter() - started, triangles


def import_seconds(path: Path) -> tuple[float, int]:
    """Seconds and peak traced memory for a full import into a fresh EPSG:4547 city."""
    with tempfile.TemporaryDirectory() as folder:
        store = CityStore.create(Path(folder) / "city", "EPSG:4547")
        options = ImportOptions(user_origin=UserOrigin("EPSG:4547", (430700.0, 2557800.0, 10.0)))
        tracemalloc.start()
        started = time.perf_counter()
        import_ifc(store, path, options)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        store.close()
    return seconds, peak


def main(files: list[Path]) -> None:
    print(
        f"{'file':40} {'iterator s':>10} {'import s':>9} {'ratio':>6} {'triangles':>9} {'peak MB':>8}"  # noqa: E501
    )
    for path in files:
        base, triangles = iterator_seconds(path)
        full, peak = import_seconds(path)
        ratio = full / base if base > 0 else float("nan")
        print(
            f"{path.name:40} {base:10.2f} {full:9.2f} {ratio:6.2f} {triangles:9d} {peak / 1e6:8.1f}"
        )


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or sorted(SHARED.glob("*.ifc")))
