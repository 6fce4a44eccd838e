"""A tiny run of bench/bench_sta_ingest.py: it serves a city, sends its data arrays twice
and prints its figures beside the peers' (no duration is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sta_ingest.py"


def test_bench_sta_ingest_runs_to_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("_cimtwin_bench_sta_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    figures = module.main(["--observations", "2000", "--batch", "500", "--datastreams", "20"])
    assert set(figures) == {"new_per_s", "again_per_s", "new_per_cpu_s"}
    assert all(value > 0 for value in figures.values())
    out = capsys.readouterr().out
    assert "Hamburg's FROST" in out and "Orion-LD" in out
