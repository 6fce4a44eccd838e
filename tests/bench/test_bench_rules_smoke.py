"""Tiny runs of bench/bench_rules.py and bench/bench_alert_latency.py: they run to their end
and print their figures (no duration is asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_rules_compares_ingest_with_and_without_rules() -> None:
    sizes = ["--datastreams", "40", "--rules", "100", "--observations", "800", "--batch", "200"]
    out = _run("bench_rules.py", *sizes, "--repeat", "1", "--sweep", "7")
    assert "ingest without rules" in out and "ratio" in out
    assert "with 100 rules" in out
    raised = re.search(r"(\d+) alerts raised or cleared \((\d+) alerts, (\d+) incidents", out)
    assert raised is not None and int(raised[2]) > 0 and int(raised[3]) > 0


def test_bench_alert_latency_times_each_crossing() -> None:
    out = _run("bench_alert_latency.py", "--crossings", "4")
    assert "over 4 crossings" in out and "on the server's hub: median" in out
