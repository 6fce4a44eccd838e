"""Alert rules over HTTP: made, changed and deleted with the ``rules`` permission inside the
caller's jurisdiction, audited; and the whole path from observations posted over
SensorThings to the alert, the incident and their events on the hub, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.alert_engine import AlertEngine, alert_engine_of
from api.auth.state import auth_state_of, configure
from cim.ops import audit
from cim.ops.incident_tables import Incident, IncidentStep
from cim.scope import Scope
from tests.api.sta.writing import (
    STA,
    datastream,
    empty_city_app,
    location,
    observed_property,
    post,
    recorded_events,
    sensor,
)
from tests.signin import signed_in
from tests.simulation.incidents.alert_rows import TOWN_A, TOWN_B, stream

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def app(tmp_path: Path, ops_url: str, clock: Clock) -> FastAPI:
    made = empty_city_app(tmp_path / "city", ops_url)
    configure(made, clock=clock)
    return made


@pytest.fixture()
def served(app: FastAPI) -> Iterator[TestClient]:
    """An admin's client of the app running (its lifespan: the alert engine)."""
    with TestClient(app) as client:
        client.headers.update(signed_in(app))
        yield client


def engine(app: FastAPI) -> AlertEngine:
    found = alert_engine_of(app)
    assert found is not None
    return found


def gauge(client: TestClient) -> int:
    """A Thing with a Location and a water-level Datastream, made over SensorThings."""
    body = {
        "name": "culvert gauge", "description": "", "Locations": [location()],
        "Datastreams": [datastream(Sensor=sensor(), ObservedProperty=observed_property())],
    }  # fmt: skip
    made = post(client, "Things", body)
    found = client.get(f"{STA}/Things({made['@iot.id']})/Datastreams").json()["value"]
    stream_id: int = found[0]["@iot.id"]
    return stream_id


def rule_body(datastream_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Culvert water high", "condition": "above", "raiseValue": 2.5,
        "clearValue": 2.2, "durationSeconds": 0, "datastreamId": datastream_id,
        "category": "waterlogging", **fields,
    }  # fmt: skip


def test_a_crossing_posted_over_sensorthings_raises_an_alert_and_opens_an_incident(
    app: FastAPI, served: TestClient, clock: Clock
) -> None:
    stream_id = gauge(served)
    made = served.post("/api/rules", json=rule_body(stream_id))
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["jurisdiction"] == "440000000000" and rule["durationSeconds"] == 0
    assert engine(app).listening
    events = recorded_events(app)
    for minute, value in ((0, 2.0), (1, 2.7)):
        body = {"phenomenonTime": (START + timedelta(minutes=minute)).isoformat(),
                "result": value, "Datastream": {"@iot.id": stream_id}}  # fmt: skip
        assert served.post(f"{STA}/Observations", json=body).status_code == 201
    assert engine(app).drain()
    alert = [e for e in events if e.kind == "alert"]
    incident = [e for e in events if e.kind == "incident"]
    assert len(alert) == 1 and len(incident) == 1
    data = alert[0].data
    assert (data["status"], data["value"], data["ruleId"], data["category"]) == (
        "active", 2.7, rule["id"], "waterlogging",
    )  # fmt: skip
    assert data["time"] == "2026-12-01T08:01:00Z"
    assert (data["lon"], data["lat"]) == (-114.05, 51.05)
    summary = incident[0].data
    assert summary["id"] == data["incidentId"] and summary["change"] == "report"
    assert (summary["status"], summary["source"], summary["alertActive"]) == (
        "reported", "sensor", True,
    )  # fmt: skip
    assert summary["createdTime"] == "2026-12-01T08:00:00Z"  # the app's clock
    assert incident[0].jurisdiction == "440000000000"

    # a data array taking the value back down past the clear value
    rows = [["2026-12-01T08:02:00Z", 2.4], ["2026-12-01T08:03:00Z", 2.1]]
    array = [{"Datastream": {"@iot.id": stream_id}, "components": ["phenomenonTime", "result"],
              "dataArray": rows}]  # fmt: skip
    assert served.post(f"{STA}/CreateObservations", json=array).status_code == 201
    assert engine(app).drain()
    cleared = [e.data for e in events if e.kind == "alert"][1]
    assert (cleared["status"], cleared["value"], cleared["id"]) == ("cleared", 2.1, data["id"])
    listed = served.get("/api/alerts", params={"status": "cleared"}).json()
    assert [(a["id"], a["peakValue"], a["clearedTime"]) for a in listed] == [
        (data["id"], 2.7, "2026-12-01T08:03:00Z")
    ]
    assert served.get("/api/alerts", params={"status": "active"}).json() == []
    with auth_state_of(app).db.transaction() as session:
        steps = session.scalars(select(IncidentStep.action).order_by(IncidentStep.id)).all()
        assert steps == ["report", "alert_cleared"]
        assert session.scalars(select(Incident.alert_active)).one() is False


def test_a_silent_sensor_raises_an_alert_by_the_apps_clock(
    app: FastAPI, served: TestClient, clock: Clock
) -> None:
    stream_id = gauge(served)
    body = {"phenomenonTime": START.isoformat(), "result": 1.0,
            "Datastream": {"@iot.id": stream_id}}  # fmt: skip
    assert served.post(f"{STA}/Observations", json=body).status_code == 201
    silent = rule_body(stream_id, condition="silent", raiseValue=None, clearValue=None,
                       durationSeconds=900, category="sensor_offline")  # fmt: skip
    assert served.post("/api/rules", json=silent).status_code == 201
    events = recorded_events(app)
    clock.now = START + timedelta(minutes=14)
    engine(app).check_silence()
    assert engine(app).drain() and [e for e in events if e.kind == "alert"] == []
    clock.now = START + timedelta(minutes=16)
    engine(app).check_silence()
    assert engine(app).drain()
    (raised,) = [e.data for e in events if e.kind == "alert"]
    assert (raised["status"], raised["time"]) == ("active", "2026-12-01T08:16:00Z")
    (opened,) = [e.data for e in events if e.kind == "incident"]
    assert opened["category"] == "sensor_offline"


def test_rules_are_written_with_the_rules_permission_and_audited(app: FastAPI) -> None:
    db = auth_state_of(app).db
    mine, theirs = stream(db, "mine", jurisdiction=TOWN_A), stream(db, "b", jurisdiction=TOWN_B)
    client = TestClient(app)
    manager = signed_in(app, roles=("manager",), jurisdiction=TOWN_A, name="town-manager")
    operator = signed_in(app, roles=("operator",), jurisdiction=TOWN_A)
    refused = client.post("/api/rules", json=rule_body(mine), headers=operator)
    assert refused.status_code == 403
    made = client.post("/api/rules", json=rule_body(mine), headers=manager)
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    assert made.json()["jurisdiction"] == TOWN_A and made.json()["createdBy"] == "town-manager"
    outside = client.post("/api/rules", json=rule_body(theirs), headers=manager)
    assert outside.status_code == 422 and "outside your jurisdiction" in outside.json()["detail"]
    above = client.post("/api/rules", json=rule_body(mine, jurisdiction="440106000000"),
                        headers=manager)  # fmt: skip
    assert above.status_code == 403
    bad = client.post("/api/rules", json=rule_body(mine, clearValue=3.0), headers=manager)
    assert bad.status_code == 422 and "clears at or below" in bad.json()["detail"]
    unknown = client.post("/api/rules", json=rule_body(mine, colour="red"), headers=manager)
    assert unknown.status_code == 422

    other_town = signed_in(app, roles=("manager",), jurisdiction=TOWN_B)
    assert client.get(f"/api/rules/{rule_id}", headers=other_town).status_code == 404
    assert client.get("/api/rules", headers=other_town).json() == []
    assert client.patch(f"/api/rules/{rule_id}", json={"priority": 1},
                        headers=other_town).status_code == 404  # fmt: skip
    assert [r["id"] for r in client.get("/api/rules", headers=operator).json()] == [rule_id]

    patched = client.patch(f"/api/rules/{rule_id}", json={"raiseValue": 3.0, "priority": 1},
                           headers=manager)  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert (patched.json()["raiseValue"], patched.json()["clearValue"]) == (3.0, 2.2)
    assert client.patch(f"/api/rules/{rule_id}", json={"durationSeconds": -5},
                        headers=manager).status_code == 422  # fmt: skip
    assert client.delete(f"/api/rules/{rule_id}", headers=operator).status_code == 403
    assert client.delete(f"/api/rules/{rule_id}", headers=manager).status_code == 204
    assert client.get(f"/api/rules/{rule_id}", headers=manager).status_code == 404
    page = audit.read(db, audit.AuditQuery(Scope.everything(), kind="write"))
    written = [(e.action, e.target) for e in page.entries if e.principal == "town-manager"]
    assert sorted(written) == [("rules", f"rule:{rule_id}")] * 3


def test_alerts_are_listed_inside_the_callers_jurisdiction(app: FastAPI) -> None:
    from simulation.incidents.alerting import AlertEvaluator
    from simulation.incidents.rules import RuleIn, create_rule
    from tests.simulation.incidents.alert_rows import T0, store

    db = auth_state_of(app).db
    for town in (TOWN_A, TOWN_B):
        stream_id = stream(db, town, jurisdiction=town, city_object=f"pump-{town}")
        create_rule(db, RuleIn("high", town, "above", 1.0, datastream_id=stream_id),
                    creator="x", scope=Scope.everything(), now_us=T0)  # fmt: skip
        AlertEvaluator(db).evaluate(store(db, stream_id, [(T0, 2.0)]), T0)
    client = TestClient(app)
    town_a = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    listed = client.get("/api/alerts", headers=town_a).json()
    assert [(a["cityObject"], a["status"], a["ruleName"]) for a in listed] == [
        (f"pump-{TOWN_A}", "active", "high")
    ]
    by_object = client.get("/api/alerts", params={"cityObject": f"pump-{TOWN_B}"},
                           headers=signed_in(app)).json()  # fmt: skip
    assert [a["jurisdiction"] for a in by_object] == [TOWN_B]
    assert client.get("/api/alerts", params={"status": "open"}, headers=town_a).status_code == 422
    nul = client.get("/api/alerts", params={"cityObject": "a\x00"}, headers=town_a)
    assert nul.status_code == 422
    assert client.get("/api/alerts").status_code == 401
