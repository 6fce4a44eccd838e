"""bench/bench_sta_filter.py runs end to end on a tiny database and reports every case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sta_filter.py"


def test_bench_sta_filter_measures_each_case(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("_cimtwin_bench_sta_filter", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--locations", "300", "--observations", "1000", "--repeat", "1"])
    assert set(figures) == {"st_within", "time and result", "navigation"}
    assert all(case["ours ms"] > 0 and case["rows"] > 0 for case in figures.values())
    assert "ratio" in capsys.readouterr().out
