"""Running a model: checked before queueing, progress, the job's scope, trigger and
jurisdiction kept with the run, and the live readings a model sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from api.jobs import JobQueue
from api.live_readings import OpsLiveReadings
from api.simulations import available_models, run_model, scope_of, submit_run
from cim.crs import transformer
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.result_store import ResultStore
from cim.scope import Scope
from simulation.models.errors import ParametersError, UnknownModelError
from tests.api.simulations.conftest import TOWN_A, TOWN_B, drain
from tests.sensor_rows import add_datastream

T_US = 1_700_000_000_000_000


def test_submit_run_checks_before_queueing(city: Path) -> None:
    with pytest.raises(ParametersError, match=r"water_level: Input should be less than or equal"):
        submit_run(city, "tiny", {"water_level": 1000}, TOWN_A)
    with pytest.raises(UnknownModelError, match="no simulation model 'volcano'; models: tiny"):
        submit_run(city, "volcano", {}, TOWN_A)
    assert JobQueue(city).table.recent(scope=Scope.everything()) == []


def test_a_submitted_run_keeps_its_jurisdiction_scope_and_trigger(city: Path) -> None:
    job = submit_run(city, "tiny", {"water_level": 2}, TOWN_B, trigger={"alert": 12, "rule": 3})
    assert job.jurisdiction == TOWN_B and job.params["scope"] == Scope.of(TOWN_B).prefix
    drain(city)
    run_id = JobQueue(city).table.get(job.id, scope=Scope.everything()).result["run_id"]
    record = ResultStore(city).run(run_id, Scope.of(TOWN_B))
    assert record.trigger == {"alert": 12, "rule": 3} and record.jurisdiction == TOWN_B
    # the small city's objects lie in no jurisdiction: a town sees no building, so the tiny
    # model falls back to its own ids
    assert set(ResultStore(city).values(run_id, "depth", Scope.of(TOWN_B)).values) == {"b1", "b2"}


def test_a_job_whose_scope_is_a_code_reads_that_subtree(city: Path) -> None:
    assert scope_of(TOWN_A) == Scope.of(TOWN_A) and scope_of("") == Scope.everything()
    assert scope_of("440106") == Scope("440106")
    job = JobQueue(city).submit("simulate", {"model": "tiny", "parameters": {}, "scope": ""})
    drain(city)
    run_id = JobQueue(city).table.get(job.id, scope=Scope.everything()).result["run_id"]
    values = ResultStore(city).values(run_id, "depth", Scope.everything()).values
    assert "b1" not in values and len(values) == 2  # the unlimited scope sees the buildings


def test_run_model_reports_progress_and_stores(city: Path) -> None:
    seen: list[tuple[int, str]] = []
    record = run_model(city, "tiny", {}, Scope.everything(), lambda p, m: seen.append((p, m)))
    assert seen[0] == (0, "running tiny") and (50, "halfway") in seen
    assert seen[-1] == (100, f"run {record.id} stored")
    assert [r.id for r in ResultStore(city).runs(Scope.everything())] == [record.id]


def test_a_progress_callback_that_raises_stops_the_run_and_stores_nothing(city: Path) -> None:
    def stop(percent: int, _message: str) -> None:
        if percent == 50:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_model(city, "tiny", {}, Scope.everything(), stop)
    assert ResultStore(city).runs(Scope.everything()) == []


def test_a_model_whose_module_is_missing_is_left_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import simulation.models

    modules = {"tiny": "tests.api.simulations.tiny", "later": "simulation.models.not_yet"}
    monkeypatch.setattr(simulation.models, "MODULES", modules)
    assert [spec.name for spec in available_models()] == ["tiny"]
    # a model whose module is there but lacks a package it needs is an error, not hidden
    (tmp_path / "needs_more.py").write_text("import no_such_package_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(simulation.models, "MODULES", {"needy": "needs_more"})
    with pytest.raises(ModuleNotFoundError, match="no_such_package_anywhere"):
        available_models()


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(x, y)
    return float(lon), float(lat)


def test_live_readings_are_numeric_in_scope_and_in_the_city_crs(ops_url: str) -> None:
    db = OpsDatabase.open(ops_url)
    try:
        lon, lat = _lonlat(430760.0, 2557880.0)
        gauge = add_datastream(db, name="gauge A", jurisdiction=TOWN_A, lon=lon, lat=lat,
                               city_object="A-bldg", observations=[(T_US, 2.5)])  # fmt: skip
        other = add_datastream(db, name="gauge B", jurisdiction=TOWN_B, lon=lon, lat=lat,
                               observations=[(T_US, 9.0)])  # fmt: skip
        silent = add_datastream(db, name="silent A", jurisdiction=TOWN_A, lon=lon, lat=lat)
        with db.transaction() as session:
            session.execute(update(t.Datastream).where(t.Datastream.id == other).values(
                latest_result_number=None, latest_result_json="high"))  # fmt: skip
            session.execute(update(t.ObservedProperty).values(
                definition="http://example.org/water-level"))  # fmt: skip
        town_a = OpsLiveReadings(db, Scope.of(TOWN_A), "EPSG:4547", now_us=T_US)
        reading = town_a.latest(gauge)
        assert reading is not None
        assert (reading.value, reading.time_us, reading.unit) == (2.5, T_US, "m")
        assert reading.object_id == "A-bldg" and reading.observed_property == "water level"
        assert reading.x == pytest.approx(430760.0, abs=0.01)
        assert reading.y == pytest.approx(2557880.0, abs=0.01)
        assert town_a.latest(silent) is None and town_a.latest(other) is None  # no value; scope
        assert [r.datastream_id for r in town_a.of_property("water level")] == [gauge]
        by_uri = town_a.of_property("http://example.org/water-level")
        assert [r.datastream_id for r in by_uri] == [gauge]
        everyone = OpsLiveReadings(db, Scope.everything(), "EPSG:4547", now_us=T_US)
        assert everyone.latest(other) is None  # a text value is not a reading
        assert everyone.of_property("PM2.5") == []
    finally:
        db.close()


def test_a_model_reads_the_live_readings_of_the_city(city: Path) -> None:
    db = OpsDatabase.for_city(city)
    try:
        lon, lat = _lonlat(430760.0, 2557880.0)
        add_datastream(db, name="gauge", jurisdiction=TOWN_A, lon=lon, lat=lat,
                       observations=[(T_US, 4.0)])  # fmt: skip
    finally:
        db.close()
    seen: dict[str, Any] = {}

    import tests.api.simulations.tiny as tiny

    original = tiny.TINY.run

    def spying(inputs: Any, params: Any, progress: Any) -> Any:
        seen["levels"] = [r.value for r in inputs.live.of_property("water level")]
        return original(inputs, params, progress)

    object.__setattr__(tiny.TINY, "run", spying)
    try:
        run_model(city, "tiny", {}, Scope.of(TOWN_A))
        assert seen["levels"] == [4.0]
        run_model(city, "tiny", {}, Scope.of(TOWN_B))
        assert seen["levels"] == []
    finally:
        object.__setattr__(tiny.TINY, "run", original)
