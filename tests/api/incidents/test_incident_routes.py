"""The incident routes with signed-in users of different levels and departments: the whole
loop, each step's refusal with its reason (and its audit entry), photos, events."""

from __future__ import annotations

from typing import Any

from api.auth.state import auth_state_of
from cim.ops import audit
from cim.ops.audit import AuditQuery
from cim.scope import Scope
from tests.api.incidents.conftest import LoopApp, lonlat
from tests.scoped_city import COUNTY, TOWN_A, TOWN_B
from tests.simulation.incidents.people import PDF, png_bytes


def _report(client: Any, **changes: Any) -> Any:
    lon, lat = lonlat("A")
    body = {"category": "waterlogging", "title": "Water at the gate", "lon": lon, "lat": lat}
    body.update(changes)
    return client.post("/api/incidents", json=body)


def test_the_whole_loop_through_the_api(loop: LoopApp) -> None:
    inspector = loop.client("operator", TOWN_A, "huacheng")
    centre = loop.client("manager", TOWN_A, "zhang")
    water = loop.client("operator", TOWN_A, "shuiwu", department="water")

    reported = _report(
        inspector, description="30 cm deep", priority=2, contact={"phone": "020-12345"}
    )
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    assert (incident["jurisdiction"], incident["status"], incident["priority"]) == (
        TOWN_A,
        "reported",
        2,
    )
    assert incident["reporter"] == "huacheng" and incident["source"] == "inspector"
    assert incident["dueTime"] == "2026-12-03T09:10:00Z" and incident["overdue"] is False
    assert incident["actions"] == ["comment"] and "contact" not in incident
    url = f"/api/incidents/{incident['id']}"
    seen_by_centre = centre.get(url).json()
    assert seen_by_centre["actions"] == ["register", "reject", "comment"]
    assert seen_by_centre["contact"] == {"phone": "020-12345"}

    def step(client: Any, **body: Any) -> dict[str, Any]:
        loop.clock.advance(minutes=1)
        answer = client.post(f"{url}/steps", json=body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    step(centre, action="register")
    dispatched = step(centre, action="dispatch", department="water", departmentJurisdiction=TOWN_A)
    assert dispatched["department"] == "water" and "contact" in dispatched
    assert water.get(url).json()["actions"] == ["accept", "return", "comment"]
    step(water, action="accept")
    loop.clock.advance(minutes=1)
    photo = png_bytes(4, 3)
    handled = water.post(
        f"{url}/steps",
        data={"action": "handle", "note": "Drain cleared", "version": "4"},
        files=[("photos", ("after.png", photo, "image/png"))],
    )
    assert handled.status_code == 200, handled.text
    step(inspector, action="verify", note="Dry now")
    closed = step(centre, action="close")
    assert closed["status"] == "closed" and closed["closedTime"] == "2026-12-03T09:06:00Z"
    assert closed["actions"] == []
    assert [s["action"] for s in closed["steps"]] == [
        "report", "register", "dispatch", "accept", "handle", "verify", "close",
    ]  # fmt: skip
    handle = closed["steps"][4]
    assert (handle["actor"], handle["note"], handle["department"]) == (
        "shuiwu",
        "Drain cleared",
        "water",
    )
    (attached,) = handle["attachments"]
    assert (attached["filename"], attached["mediaType"], attached["size"]) == (
        "after.png",
        "image/png",
        len(photo),
    )
    image = inspector.get(attached["url"])
    assert image.status_code == 200 and image.content == photo
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith('inline; filename="after.png"')

    assert [(change, status) for _, change, status in loop.incident_events()] == [
        ("report", "reported"), ("register", "registered"), ("dispatch", "dispatched"),
        ("accept", "handling"), ("handle", "handled"), ("verify", "verified"),
        ("close", "closed"),
    ]  # fmt: skip
    event = next(e for e in loop.events if e.data.get("change") == "handle")
    assert event.jurisdiction == TOWN_A and event.data["stepId"] == handle["id"]
    writes = audit.read(
        auth_state_of(loop.app).db, AuditQuery(Scope.everything(), kind="write")
    ).entries
    taken = sorted(e.action for e in writes if e.action and e.action.startswith("incident"))
    assert taken == sorted(
        ["incident report", "incident register", "incident dispatch", "incident accept",
         "incident handle", "incident verify", "incident close"]
    )  # fmt: skip


def test_each_refusal_says_why_and_is_audited(loop: LoopApp) -> None:
    inspector = loop.client("operator", TOWN_A, "huacheng")
    centre = loop.client("manager", TOWN_A, "zhang")
    environment = loop.client("operator", TOWN_A, "huanbao", department="environment")
    other_town = loop.client("manager", TOWN_B, "liwan")
    viewer = loop.client("viewer", TOWN_A, "guest")
    incident = _report(inspector).json()
    steps = f"/api/incidents/{incident['id']}/steps"

    refused = inspector.post(steps, json={"action": "register"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "registering needs the 'dispatch' permission (manager); huacheng is an operator"
    )
    assert other_town.post(steps, json={"action": "register"}).status_code == 404
    assert other_town.get(f"/api/incidents/{incident['id']}").status_code == 404
    conflict = centre.post(steps, json={"action": "close"})
    assert conflict.status_code == 409 and "'close' starts from verified" in conflict.text
    no_note = centre.post(steps, json={"action": "reject"})
    assert no_note.status_code == 422 and "needs a note" in no_note.text
    stale = centre.post(steps, json={"action": "register", "version": 0})
    assert stale.status_code == 409 and "changed meanwhile" in stale.text
    assert centre.post(steps, json={"action": "register", "version": 1}).status_code == 200
    centre.post(steps, json={"action": "dispatch", "department": "water"})
    wrong_department = environment.post(steps, json={"action": "accept"})
    assert wrong_department.status_code == 403
    assert "huanbao works for environment" in wrong_department.json()["detail"]
    assert viewer.post("/api/incidents", json={"category": "x", "title": "y"}).status_code == 403

    writes = audit.read(
        auth_state_of(loop.app).db, AuditQuery(Scope.everything(), kind="write")
    ).entries
    outcomes = [e.outcome for e in writes if e.action == "incident register"]
    assert sorted(outcomes)[0] == "ok" and len(outcomes) == 4  # three refused, one taken
    assert any("huacheng is an operator" in o for o in outcomes)


def test_a_report_is_routed_to_the_smallest_jurisdiction_holding_it(loop: LoopApp) -> None:
    county = loop.client("operator", COUNTY, "tianhe")
    inspector = loop.client("operator", TOWN_A, "huacheng")
    in_b = _report(county, lon=lonlat("B")[0], lat=lonlat("B")[1]).json()
    assert in_b["jurisdiction"] == TOWN_B
    on_object = _report(county, lon=None, lat=None, cityObject="A-bldg").json()
    assert on_object["jurisdiction"] == TOWN_A and on_object["cityObject"] == "A-bldg"
    assert on_object["lon"] is not None and on_object["lat"] is not None
    by_address = _report(county, lon=None, lat=None, address="Pearl Road 1", source="hotline")
    assert by_address.json()["jurisdiction"] == COUNTY
    assert by_address.json()["source"] == "hotline"

    outside_mine = _report(inspector, lon=lonlat("B")[0], lat=lonlat("B")[1])
    assert outside_mine.status_code == 403
    assert f"jurisdiction {TOWN_B}, outside huacheng's" in outside_mine.json()["detail"]
    far = _report(county, lon=lonlat("far")[0], lat=lonlat("far")[1])
    assert far.status_code == 422 and "outside every jurisdiction" in far.json()["detail"]
    hidden_object = _report(inspector, lon=None, lat=None, cityObject="B-bldg")
    assert hidden_object.status_code == 404
    nowhere = _report(county, lon=None, lat=None)
    assert nowhere.status_code == 422 and "say where" in nowhere.json()["detail"]
    bad = _report(county, category="fire", source="sensor", priority=9)
    assert bad.status_code == 422 and "priority" in bad.json()["detail"]
    assert _report(county, category="fire").json()["detail"].startswith("unknown category 'fire'")
    assert _report(county, source="citizen").status_code == 422


def test_photos_are_checked_by_their_bytes_and_nothing_is_kept_when_refused(
    loop: LoopApp,
) -> None:
    inspector = loop.client("operator", TOWN_A, "huacheng")
    lon, lat = lonlat("A")
    form = {"category": "road_damage", "title": "Pothole", "lon": str(lon), "lat": str(lat)}
    refused = inspector.post(
        "/api/incidents", data=form, files=[("photos", ("crack.jpg", PDF, "image/jpeg"))]
    )
    assert refused.status_code == 422
    assert "'crack.jpg' is a PDF document" in refused.json()["detail"]
    assert inspector.get("/api/incidents").json()["total"] == 0
    taken = inspector.post(
        "/api/incidents",
        data={**form, "attributes": '{"size": "large"}'},
        files=[("photos", ("crack.png", png_bytes(), "image/png"))],
    )
    assert taken.status_code == 201, taken.text
    detail = taken.json()
    assert detail["attributes"] == {"size": "large"}
    assert detail["steps"][0]["attachments"][0]["mediaType"] == "image/png"
    too_many = inspector.post(
        f"/api/incidents/{detail['id']}/steps",
        data={"action": "comment", "note": "more"},
        files=[("photos", (f"{i}.png", png_bytes(), "image/png")) for i in range(7)],
    )
    assert too_many.status_code == 422 and "at most 6 photos" in too_many.text
    assert len(inspector.get(f"/api/incidents/{detail['id']}").json()["steps"]) == 1


def test_ids_are_digits_and_an_unknown_action_is_bad_input(loop: LoopApp) -> None:
    centre = loop.client("manager", TOWN_A, "zhang")
    incident = _report(centre).json()
    unknown = centre.post(f"/api/incidents/{incident['id']}/steps", json={"action": "burn"})
    assert unknown.status_code == 422 and "unknown action 'burn'" in unknown.text
    assert centre.get("/api/incidents/abc").status_code == 404  # another route's name
    assert centre.get("/api/incidents/0").status_code == 422
    assert centre.get(f"/api/incidents/{incident['id'] + 1}").status_code == 404
    extra = centre.post(
        f"/api/incidents/{incident['id']}/steps", json={"action": "comment", "note": "x", "who": 1}
    )
    assert extra.status_code == 422 and "who" in extra.text
