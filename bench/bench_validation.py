"""Schema validation: ``bim.validation`` against ``ifcopenshell.validate`` alone.

Usage::

    .venv/bin/python bench/bench_validation.py [FILE.ifc ...] [--generated 1000] [--repeat 3]

Without files it takes every IFC file of the shared data (``<project>/../shared/data/ifc``
or ``$CIMTWIN_SHARED_DATA/ifc``) and a file of ``--generated`` elements made by
``generate_ifc.py``. Both validators run on the same parsed model in this process, CPU
seconds, best of ``--repeat``, alternating; the table also says how many instances the
compiled checks left to IfcOpenShell's validator and whether the findings are identical.
The test suite never runs this file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import SHARED

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def _statements(model: Any, fast: bool) -> tuple[float, list[tuple[Any, ...]], int]:
    import ifcopenshell.validate

    from bim.validation import validate

    logger = ifcopenshell.validate.json_logger()
    started = time.process_time()
    if fast:
        checked = validate(model, logger)
    else:
        ifcopenshell.validate.validate(model, logger)
        checked = len(model.entity_names())
    seconds = time.process_time() - started
    found = [(s["level"], s.get("attribute"), s["message"]) for s in logger.statements]
    return seconds, found, checked


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="IFC files (default: shared ones)")
    parser.add_argument("--generated", type=int, default=1000, help="add a generated file of N")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side")
    args = parser.parse_args()
    files = list(args.files) or sorted(SHARED.glob("*.ifc"))
    with tempfile.TemporaryDirectory(prefix="bench-validation-") as work:
        if args.generated:
            generated = Path(work) / f"generated-{args.generated}.ifc"
            script = Path(__file__).resolve().with_name("generate_ifc.py")
            command = [sys.executable, str(script), str(generated)]
            command += ["--elements", str(args.generated)]
            subprocess.run(command, check=True, capture_output=True)
            files.append(generated)
        _table(files, args.repeat)


def _table(files: list[Path], repeat: int) -> None:
    """Both validators on every file, one line each."""
    import ifcopenshell

    print("CPU seconds, best of", repeat, "; checked: instances left to ifcopenshell.validate")
    print(f"{'file':38} {'instances':>9} {'ours s':>7} {'ifcos s':>7} {'ratio':>6}"
          f" {'checked':>8} {'findings':>8} same")  # fmt: skip
    for path in files:
        model = ifcopenshell.open(str(path))
        ours, theirs = [], []
        same = True
        for _ in range(repeat):
            seconds, found_ours, checked = _statements(model, fast=True)
            ours.append(seconds)
            seconds, found_theirs, _ = _statements(model, fast=False)
            theirs.append(seconds)
            same = same and found_ours == found_theirs
        print(f"{path.name[:38]:38} {len(model.entity_names()):9d} {min(ours):7.3f}"
              f" {min(theirs):7.3f} {min(ours) / min(theirs):6.2f} {checked:8d}"
              f" {len(found_theirs):8d} {'yes' if same else 'NO'}")  # fmt: skip


if __name__ == "__main__":
    main()
