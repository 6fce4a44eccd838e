"""bench/bench_flood.py runs end to end on a small DEM, both modes and the peer if present."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_flood.py"


def test_bench_flood_times_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("_cimtwin_bench_flood", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--size", "120"])
    assert {"level s", "volume s", "level MiB", "volume MiB", "peak RSS MiB"} <= set(figures)
    assert all(value >= 0 for value in figures.values())
    printed = capsys.readouterr().out
    assert "DEM 120 x 120" in printed and "volume mode" in printed
    if importlib.util.find_spec("pyflwdir") is not None:
        assert "same flooded cells: True" in printed
    else:
        assert "peer: none" in printed
