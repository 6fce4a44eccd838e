"""A tiny run of bench/bench_sunlight.py: it runs to its end and prints its figures (no
duration is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_bench_sunlight_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_sunlight.py"), "--buildings", "20"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["buildings"] == 20 and figures["steps"] in (480, 481)
    assert figures["step_minutes"] <= 1.0
    assert 0 < figures["checked_points"] < figures["sill_points"]
    assert figures["checked_homes"] == 20 and figures["peer"] is None
    assert figures["hours_s"] >= 0 and figures["peak_rss_mb"] > 0
