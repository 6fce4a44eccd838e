"""bench/bench_incident_stats.py runs end to end on a few incidents and reports every case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_incident_stats.py"


def test_bench_incident_stats_times_each_query(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("_cimtwin_bench_incident_stats", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--incidents", "300", "--repeat", "1"])
    assert {"30 days, by jurisdiction", "year, by month", "year, step times, peer"} <= set(figures)
    assert all(value > 0 for value in figures.values())
    printed = capsys.readouterr().out
    assert "300 incidents" in printed and "peer window functions" in printed
