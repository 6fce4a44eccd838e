"""bench/bench_auth.py runs end to end on a few requests and reports every case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from api.auth import passwords

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_auth.py"


def test_bench_auth_measures_each_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    spec = importlib.util.spec_from_file_location("_cimtwin_bench_auth", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.main(["--buildings", "200", "--requests", "5", "--repeat", "1"])
    cases = ("no authorization rps", "bearer rps", "api key rps", "sign-in ms")
    assert set(figures) == set(cases)
    assert all(value > 0 for value in figures.values())
    assert "ratio" in capsys.readouterr().out
