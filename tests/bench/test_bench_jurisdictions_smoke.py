"""A tiny run of the jurisdiction benchmark: it runs to its end, its lookup agrees with both
peers (the benchmark asserts it), and every generated building gets a village."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_bench_jurisdictions_runs_and_its_peers_agree() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_jurisdictions.py"), "--buildings", "300",
         "--towns", "2", "--villages", "2", "--sample", "50"],
        capture_output=True, text=True, check=False, cwd=BENCH,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["jurisdictions"] == 3 + 4 + 16
    assert (figures["assigned"], figures["unassigned"]) == (300, 0)
    assert figures["import_objects"] == 300
    assert "Python loop" in done.stdout and "geopandas sjoin" in done.stdout
