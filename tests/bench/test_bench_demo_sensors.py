"""Smoke test of bench/bench_demo_sensors.py: it runs to its end and prints its figures (no
duration is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_generation_bench_prints_its_figure() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_demo_sensors.py"), "--no-city"],
        capture_output=True, text=True, env=environment, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "generation:" in done.stdout and "values/s" in done.stdout
