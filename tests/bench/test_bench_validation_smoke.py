"""bench_validation runs to its end and finds what IfcOpenShell's validator finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REVIT

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_bench_validation_prints_both_times_and_the_same_findings(ifc_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_validation.py"), str(ifc_dir / REVIT),
         "--generated", "0", "--repeat", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith(REVIT))
    *_, checked, findings, same = row.split()
    assert (int(findings), same) == (4, "yes") and int(checked) < 10
