"""Lists of incidents through the API: each user sees their jurisdiction's, filtered by the
query; the code lists; overdue flags and escalation by the app's clock, run by the app's
lifespan task and published."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.incident_escalation import run_escalation
from api.settings import get_settings
from simulation.incidents.codes import categories
from simulation.incidents.workflow import ACTIONS, STATUSES
from tests.api.incidents.conftest import LoopApp, lonlat
from tests.scoped_city import COUNTY, TOWN_A, TOWN_B
from tests.simulation.incidents.people import png_bytes

CITY = "440100000000"


def _report(client: TestClient, place: str, **changes: Any) -> dict[str, Any]:
    lon, lat = lonlat(place)
    body = {"category": "waterlogging", "title": f"Water in {place}", "lon": lon, "lat": lat}
    body.update(changes)
    answer = client.post("/api/incidents", json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _ids(client: TestClient, **params: Any) -> list[int]:
    answer = client.get("/api/incidents", params=params)
    assert answer.status_code == 200, answer.text
    return [i["id"] for i in answer.json()["incidents"]]


def test_each_user_lists_their_jurisdictions_incidents(loop: LoopApp) -> None:
    county = loop.client("manager", COUNTY, "tianhe")
    town_a = loop.client("operator", TOWN_A, "huacheng")
    town_b = loop.client("operator", TOWN_B, "liwan")
    a = _report(county, "A", address="Pearl Road A 1")["id"]
    loop.clock.advance(seconds=1)
    b = _report(county, "B", category="road_damage", title="Pothole", source="hotline")["id"]
    loop.clock.advance(seconds=1)
    a2 = _report(town_a, "A", title="Blocked drain")["id"]
    county.post(f"/api/incidents/{b}/steps", json={"action": "register"})

    assert _ids(county) == [a2, b, a]
    assert county.get("/api/incidents").json()["total"] == 3
    assert _ids(town_a) == [a2, a]
    assert _ids(town_b) == [b]
    assert _ids(town_a, ids=f"{a},{b}") == [a]
    assert _ids(county, status="registered") == [b]
    assert _ids(county, category=["waterlogging"]) == [a2, a]
    assert _ids(county, source="hotline") == [b]
    assert _ids(county, jurisdiction=TOWN_B) == [b]
    assert _ids(county, q="drain") == [a2]
    assert _ids(county, q="pearl road a") == [a]
    west, south = lonlat("B", -50, -50)
    east, north = lonlat("B", 50, 50)
    assert _ids(county, bbox=f"{west},{south},{east},{north}") == [b]
    assert _ids(county, start="2026-12-03T09:00:01Z", end="2026-12-03T09:00:02Z") == [b]
    assert _ids(county, order="due") == [a, a2, b]
    assert _ids(county, limit=1, offset=1) == [b]
    assert _ids(county, department="water") == []
    bad = county.get("/api/incidents", params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and "four numbers" in bad.text
    assert county.get("/api/incidents", params={"start": "yesterday"}).status_code == 422
    assert county.get("/api/incidents", params={"order": "oldest"}).status_code == 422


def test_overdue_flags_follow_the_app_clock_and_escalation_is_published(loop: LoopApp) -> None:
    town = loop.client("manager", TOWN_A, "zhang")
    incident = _report(town, "A")
    assert _ids(town, overdue="true") == [] and _ids(town, overdue="false") == [incident["id"]]
    loop.clock.advance(minutes=10, microseconds=1)
    assert _ids(town, overdue="true") == [incident["id"]]
    assert town.get(f"/api/incidents/{incident['id']}").json()["overdue"] is True

    (escalated,) = run_escalation(loop.app)
    assert escalated.escalated_to == COUNTY
    assert run_escalation(loop.app) == []
    loop.clock.advance(minutes=10)
    (again,) = run_escalation(loop.app)
    assert (again.escalated_to, again.escalation_level) == (CITY, 2)
    county = loop.client("manager", COUNTY, "tianhe")  # signed in now: tokens last 15 min
    assert _ids(county, escalated="true") == [incident["id"]]
    detail = county.get(f"/api/incidents/{incident['id']}").json()
    assert (detail["escalatedTo"], detail["escalationLevel"]) == (CITY, 2)
    assert detail["steps"][-1]["data"] == {
        "from": COUNTY, "to": CITY, "overdueBy": 600, "level": 2,
    }  # fmt: skip
    assert detail["actions"] == ["register", "reject", "comment"]
    assert [c for _, c, _ in loop.incident_events()] == ["report", "escalate", "escalate"]


def test_the_lifespan_task_escalates_on_its_own(loop: LoopApp) -> None:
    town = loop.client("manager", TOWN_A, "zhang")
    incident = _report(town, "A")
    loop.clock.advance(minutes=11)
    loop.app.state.escalation_seconds = 0.05
    with TestClient(loop.app):
        deadline = time.monotonic() + 20
        while "escalate" not in [c for _, c, _ in loop.incident_events()]:
            assert time.monotonic() < deadline, "no escalation within 20 s"
            time.sleep(0.05)
    assert town.get(f"/api/incidents/{incident['id']}").json()["escalationLevel"] == 1


def test_the_code_lists_are_served_in_both_languages(loop: LoopApp) -> None:
    viewer = loop.client("viewer", TOWN_A)
    codes = viewer.get("/api/incident-codes").json()
    assert [c["code"] for c in codes["categories"]] == list(categories())
    waterlogging = codes["categories"][0]
    assert waterlogging["zh"] == "积水内涝" and waterlogging["limitsMinutes"]["reported"] == 10
    assert [s["code"] for s in codes["statuses"]] == list(STATUSES)
    assert [a["code"] for a in codes["actions"]] == list(ACTIONS)
    dispatch = next(a for a in codes["actions"] if a["code"] == "dispatch")
    assert dispatch["needsDepartment"] and dispatch["permission"] == "dispatch"
    assert {d["code"] for d in codes["departments"]} >= {"water", "environment"}
    assert TestClient(loop.app).get("/api/incident-codes").status_code == 401


def test_the_photo_size_setting_is_applied(loop: LoopApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMTWIN_MAX_PHOTO_MB", "0.00005")  # 52 bytes
    get_settings.cache_clear()
    try:
        inspector = loop.client("operator", TOWN_A)
        lon, lat = lonlat("A")
        form = {"category": "road_damage", "title": "Pothole", "lon": str(lon), "lat": str(lat)}
        refused = inspector.post(
            "/api/incidents", data=form, files=[("photos", ("big.png", png_bytes(), "image/png"))]
        )
        assert refused.status_code == 422
        assert "'big.png' is 71 bytes: photos may be 52 bytes at most" in refused.text
        assert inspector.get("/api/incidents").json()["total"] == 0
    finally:
        get_settings.cache_clear()
