"""Simulations the live twin starts: a flood run when a water level raises an alert, a
pollution field refreshed (throttled) as observations arrive."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.alert_engine import AlertEngine, alert_engine_of
from api.auth.state import auth_state_of, configure
from api.events import Event, event_hub_of
from api.live_simulations import JobOutcome, LiveSimulations, live_simulations_of
from api.routes.events import EVENT_KINDS
from api.sta.publish import observation_events
from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.ops.incident_tables import IncidentStep
from cim.scope import Scope
from simulation.incidents.rules import RuleIn, create_rule
from tests.api.incidents.conftest import Clock
from tests.api.sta.writing import empty_city_app
from tests.sensor_rows import add_datastream
from tests.simulation.incidents.alert_rows import T0, VILLAGE_A, store, stream

SECOND = 1_000_000
PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class FakeSubmitter:
    """Records the runs submitted; jobs in ``waiting`` count as still queued."""

    calls: list[tuple[str, dict[str, Any], str | None, dict[str, Any]]] = field(
        default_factory=list
    )
    waiting: set[str] = field(default_factory=set)
    ended: dict[str, JobOutcome] = field(default_factory=dict)

    def submit(
        self, model: str, parameters: dict[str, Any], jurisdiction: str | None,
        trigger: dict[str, Any],
    ) -> str:  # fmt: skip
        self.calls.append((model, parameters, jurisdiction, trigger))
        return f"job-{len(self.calls)}"

    def queued(self, job_id: str) -> bool:
        return job_id in self.waiting

    def outcome(self, job_id: str) -> JobOutcome | None:
        return self.ended.get(job_id)


@dataclass
class Live:
    app: FastAPI
    db: OpsDatabase
    clock: Clock
    jobs: FakeSubmitter
    live: LiveSimulations
    events: list[Event]

    def ingest(self, datastream: int, values: list[tuple[int, object]]) -> None:
        """Store observations and publish their events, as the ingest paths do; wait
        until the alert engine and the live simulations have handled them."""
        event_hub_of(self.app).publish_all(
            observation_events(self.db, store(self.db, datastream, values), "/")
        )
        engine = alert_engine_of(self.app)
        assert engine is not None and engine.drain()
        assert self.live.drain()

    def engine(self) -> AlertEngine:
        engine = alert_engine_of(self.app)
        assert engine is not None
        return engine

    def watch(self) -> None:
        """Tell the engine and the live simulations that rules and datastreams changed."""
        self.engine().rules_changed()
        self.live.refresh()
        assert self.live.drain() and self.live.listening


@pytest.fixture
def live(tmp_path: Path, ops_url: str) -> Iterator[Live]:
    """The app with its alert engine and live simulations, on each backend in turn."""
    app = empty_city_app(tmp_path / "city")
    clock = Clock()
    configure(app, url=ops_url, clock=clock)
    jobs = FakeSubmitter()
    app.state.live_submitter = jobs
    events: list[Event] = []
    event_hub_of(app).add_listener(events.append)
    with TestClient(app):
        running = live_simulations_of(app)
        assert running is not None
        yield Live(app, auth_state_of(app).db, clock, jobs, running, events)
    assert live_simulations_of(app) is None  # stopped with the app
    auth_state_of(app).close()


def rule(db: OpsDatabase, datastream: int, limit: float, category: str | None) -> int:
    made = create_rule(
        db, RuleIn("high", VILLAGE_A, "above", limit, datastream_id=datastream, category=category),
        creator="t", scope=Scope.everything(), now_us=T0,
    )  # fmt: skip
    return made.id


def test_a_water_level_over_its_threshold_queues_one_flood_run_the_alert_carries(
    live: Live,
) -> None:
    gauge = stream(live.db, "underpass", observed_property="Water level")
    rule_id = rule(live.db, gauge, 0.3, "waterlogging")
    live.watch()
    live.ingest(gauge, [(T0, 0.1), (T0 + SECOND, 0.2)])
    assert live.jobs.calls == []  # under the threshold
    live.ingest(gauge, [(T0 + 2 * SECOND, 0.45), (T0 + 3 * SECOND, 0.5)])
    (alert,) = [e.data for e in live.events if e.kind == "alert"]
    trigger = {"alert": alert["id"], "rule": rule_id}
    assert live.jobs.calls == [("flood", {"datastream_id": gauge}, VILLAGE_A, trigger)]
    (told,) = [e for e in live.events if e.kind == "simulation"]
    assert told.kind in EVENT_KINDS  # a stream may ask for them (kinds=simulation)
    assert told.data["job"] == "job-1" and told.data["url"] == "/api/jobs/job-1"
    assert told.data["status"] == "queued" and told.data["incidentId"] == alert["incidentId"]
    assert told.data["alertId"] == alert["id"] and told.jurisdiction == VILLAGE_A
    # the alert's incident holds the run's job in a "simulation" step, and says so
    queued = {"model": "flood", "job": "job-1", "url": "/api/jobs/job-1", "trigger": trigger,
              "status": "queued"}  # fmt: skip
    assert step_data(live, alert["incidentId"]) == [("report", None), ("simulation", queued)]
    changes = [e.data["change"] for e in live.events if e.kind == "incident"]
    assert changes == ["report", "simulation"]
    # the alert stays raised: no second run
    live.ingest(gauge, [(T0 + 4 * SECOND, 0.6)])
    assert len(live.jobs.calls) == 1
    # the run stored: its id reaches the viewers and the incident
    summary = {"flooded_area_m2": 1200.0}
    live.jobs.ended["job-1"] = JobOutcome("succeeded", {"run_id": "r1", "summary": summary}, None)
    live.live.tick()
    assert live.live.drain()
    done = [e.data for e in live.events if e.kind == "simulation"][-1]
    assert (done["status"], done["run"], done["url"]) == (
        "succeeded",
        "r1",
        "/api/simulations/runs/r1",
    )
    assert done["summary"] == summary and done["alertId"] == alert["id"]
    *_, (action, data) = step_data(live, alert["incidentId"])
    assert action == "simulation" and data is not None and data["run"] == "r1"
    live.live.tick()
    assert live.live.drain()
    assert len([e for e in live.events if e.kind == "simulation"]) == 2  # told once


def test_a_flood_run_that_fails_is_told_with_its_error(live: Live) -> None:
    gauge = stream(live.db, "riverside", observed_property="Water level")
    with live.db.transaction() as session:  # the gauge's zero, in the city's heights
        found = session.get(t.Datastream, gauge)
        assert found is not None
        found.properties = {"gaugeDatum": 8.5}
    rule(live.db, gauge, 2.5, None)  # alerts only: no incident
    live.watch()
    live.ingest(gauge, [(T0, 3.0)])
    assert [c[:2] for c in live.jobs.calls] == [
        ("flood", {"datastream_id": gauge, "gauge_datum_m": 8.5})
    ]
    live.jobs.ended["job-1"] = JobOutcome("failed", None, "the city has no DEM")
    live.live.tick()
    assert live.live.drain()
    queued, failed = [e.data for e in live.events if e.kind == "simulation"]
    assert queued["incidentId"] is None and queued["status"] == "queued"
    assert (failed["status"], failed["error"]) == ("failed", "the city has no DEM")
    assert not [e for e in live.events if e.kind == "incident"]


def step_data(live: Live, incident_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    with live.db.transaction() as session:
        steps = session.scalars(
            select(IncidentStep)
            .where(IncidentStep.incident_id == incident_id)
            .order_by(IncidentStep.id)
        ).all()
        return [(s.action, s.data if s.action == "simulation" else None) for s in steps]


def test_an_alert_on_another_property_starts_no_flood(live: Live) -> None:
    meter = stream(live.db, "meter", observed_property="power")
    rule(live.db, meter, 10.0, None)
    live.engine().rules_changed()
    live.live.refresh()
    assert live.live.drain() and not live.live.listening  # nothing watched: no listener
    live.ingest(meter, [(T0, 50.0)])
    assert any(e.kind == "alert" for e in live.events)
    assert live.jobs.calls == []


def test_a_burst_of_observations_queues_one_pollution_run_then_one_per_period(
    live: Live,
) -> None:
    sensors = [stream(live.db, f"pm {i}", observed_property="PM2.5") for i in range(3)]
    other = stream(live.db, "noise", observed_property="sound level")
    live.watch()
    for step in range(5):
        for sensor in sensors:
            live.ingest(sensor, [(T0 + step * SECOND, 20.0 + step)])
    live.ingest(other, [(T0, 60.0)])
    assert live.jobs.calls == [("pollution", {"observed_property": "PM2.5"}, None,
                                {"live_field": "PM2.5"})]  # fmt: skip
    # within the period: held back, however many arrive
    live.clock.advance(seconds=200)
    live.ingest(sensors[0], [(T0 + 10 * SECOND, 30.0)])
    assert len(live.jobs.calls) == 1
    # the period over: the field held stale is refreshed, unless its last run waits still
    live.clock.advance(seconds=101)
    live.jobs.waiting.add("job-1")
    live.live.tick()
    assert live.live.drain() and len(live.jobs.calls) == 1
    live.jobs.waiting.clear()
    live.live.tick()
    assert live.live.drain() and len(live.jobs.calls) == 2
    # nothing new since: nothing more
    live.clock.advance(seconds=600)
    live.live.tick()
    assert live.live.drain() and len(live.jobs.calls) == 2


def test_the_runs_go_to_the_city_job_queue_and_store_a_field(tmp_path: Path) -> None:
    """Without a submitter given, runs are queued as ``simulate`` jobs (the framework's
    :func:`api.simulations.submit_run`); the worker's run reads the live readings."""
    if not (PROJECT / "api" / "simulations.py").is_file():
        pytest.skip("the simulations framework (api/simulations.py) is not in this tree")
    from api.jobs import JobQueue
    from api.jobtable import JobTable

    result_store = importlib.import_module("cim.result_store")  # the framework's

    city = tmp_path / "city"
    app = empty_city_app(city)  # on the city's own operational database, as the worker
    with TestClient(app):
        db = auth_state_of(app).db
        live = live_simulations_of(app)
        assert live is not None
        places = [(0.0, 0.0, 10.0), (0.004, 0.0, 30.0), (0.0, 0.004, 20.0), (0.004, 0.004, 50.0)]
        sensors = [
            add_datastream(db, name=f"pm {i}", jurisdiction=VILLAGE_A, lon=113.3 + dlon,
                           lat=23.1 + dlat, observed_property="PM2.5", unit="µg/m³")
            for i, (dlon, dlat, _) in enumerate(places)
        ]  # fmt: skip
        live.refresh()
        assert live.drain() and live.listening
        for sensor, (*_, value) in zip(sensors, places, strict=True):
            stored = store(db, sensor, [(T0, value)])
            event_hub_of(app).publish_all(observation_events(db, stored, "/"))
        assert live.drain() and live.failures == 0
        (job_id,) = live.submitted
    job = JobTable(city).get(job_id, scope=Scope.everything())
    assert job is not None and job.kind == "simulate" and job.status == "queued"
    assert job.params["model"] == "pollution" and job.params["trigger"] == {"live_field": "PM2.5"}
    assert job.params["parameters"]["observed_property"] == "PM2.5"
    assert JobQueue(city).drain() == 1
    done = JobTable(city).get(job_id, scope=Scope.everything())
    assert done is not None and done.status == "succeeded", done
    run = result_store.ResultStore(city).run(done.result["run_id"], Scope.everything())
    assert run.summary["stations"] == 4 and run.summary["unit"] == "µg/m³"
    auth_state_of(app).close()
