"""The demo's closed loop: incidents in every status, each made by the path its script
names and each step by its demo account at its time; the demo accounts walk the loop on an
open incident and the wrong ones are refused; the replay's scripted events cross the demo's
rules, which open incidents, within the first minutes.

The demo city is built once per session (tests/demo_build.py) and copied for the
module; tests that write take a copy of that."""

from __future__ import annotations

import shutil
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.alert_engine import alert_engine_of
from api.app import create_app
from api.auth.state import configure
from api.demo_accounts import demo_accounts, make_demo_accounts
from api.demo_incidents import IncidentBuild, ensure_demo_incidents
from api.demo_photos import DRAWINGS, photo_png
from api.demo_script import incident_script, rule_plan
from api.demo_sensors import ensure_demo_sensors
from api.events import Event, event_hub_of
from cim.ops import users
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident, IncidentAttachment, IncidentStep
from cim.scope import Scope
from cim.store import CityStore
from simulation.incidents.rules import RuleRecord, list_rules
from simulation.incidents.workflow import ACTIONS, STATUSES
from tests.demo_build import BuiltDemo

US = 1_000_000
MINUTE = 60 * US
UNDERPASS_RULE = "东西三路下穿隧道积水 Underpass flooding, East-West Road 3"
VILLAGE = "440106001001"  # Huacheng South Community: the underpass is in it


@dataclass(frozen=True)
class DemoCity:
    """The built demo: its folder, the build time, what the incident build did."""

    folder: Path
    built_us: int
    build: IncidentBuild


@pytest.fixture(scope="module")
def demo_city(built_demo: BuiltDemo, tmp_path_factory: pytest.TempPathFactory) -> DemoCity:
    """The demo district with its accounts, sensors, rules and incident history (this
    module's copy of the session's build)."""
    folder = built_demo.copy(tmp_path_factory.mktemp("demo") / "demo-city")
    return DemoCity(folder, built_demo.built_us, built_demo.incidents)


@pytest.fixture()
def demo_copy(demo_city: DemoCity, tmp_path: Path) -> DemoCity:
    """A copy of the demo city a test may change."""
    folder = tmp_path / "demo-city"
    shutil.copytree(demo_city.folder, folder)
    return DemoCity(folder, demo_city.built_us, demo_city.build)


def incidents(folder: Path) -> list[Incident]:
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        rows = session.scalars(select(Incident).order_by(Incident.id)).all()
        session.expunge_all()
        return list(rows)


def steps_of(folder: Path, incident_id: int) -> list[IncidentStep]:
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        rows = session.scalars(
            select(IncidentStep)
            .where(IncidentStep.incident_id == incident_id)
            .order_by(IncidentStep.id)
        ).all()
        session.expunge_all()
        return list(rows)


def test_every_status_with_overdue_and_escalated_ones(demo_city: DemoCity) -> None:
    rows = incidents(demo_city.folder)
    assert {row.status for row in rows} == set(STATUSES)
    overdue = [r for r in rows if r.due_us is not None and r.due_us < demo_city.built_us]
    escalated = [r for r in rows if r.escalation_level > 0]
    assert len(overdue) >= 3 and {r.id for r in escalated} <= {r.id for r in overdue}
    assert {r.status for r in escalated} >= {"reported", "registered", "dispatched"}
    for row in escalated:
        escalations = [s for s in steps_of(demo_city.folder, row.id) if s.action == "escalate"]
        assert len(escalations) == row.escalation_level
        assert all(s.actor == "system" and s.at_us > row.due_us for s in escalations)  # type: ignore[operator]
        assert escalations[-1].data is not None and escalations[-1].data["to"] == row.escalated_to
    # the sources of a city's day: sensors, citizens, inspectors, the hotline, operators
    assert {row.source for row in rows} == {"sensor", "citizen", "inspector", "hotline",
                                            "operator"}  # fmt: skip
    assert all(row.created_us < demo_city.built_us for row in rows)


def test_each_incident_made_by_its_path_and_each_step_by_its_account(
    demo_city: DemoCity,
) -> None:
    script = {planned.key: planned for planned in incident_script().incidents}
    made = demo_city.build.incidents
    assert set(made) == set(script)
    rows = {row.id: row for row in incidents(demo_city.folder)}
    with OpsDatabase.for_city(demo_city.folder) as db:
        rule_ids = {r.name: r.id for r in _rules(db)}
    for key, planned in script.items():
        row = rows[made[key]]
        steps = steps_of(demo_city.folder, row.id)
        report = steps[0]
        assert report.action == "report" and report.at_us == row.created_us
        if planned.via == "rule":
            assert row.source == "sensor" and row.rule_id == rule_ids[planned.rule or ""]
            assert row.reporter == f"rule:{row.rule_id}"
        elif planned.via == "open311":
            assert row.source == "citizen" and report.actor_kind == "key"
            assert row.reporter == report.actor and report.actor.startswith("key:")
            assert row.contact == planned.citizen
        else:
            assert row.source == planned.via and report.actor == row.reporter == planned.by
            assert report.actor_kind == "user"
            assert row.created_us == demo_city.built_us + round(planned.at_min * MINUTE)
        people = [s for s in steps if s.action not in ("report", "escalate", "alert_raised",
                                                       "alert_cleared")]  # fmt: skip
        assert [(s.action, s.actor) for s in people] == [(p.action, p.by) for p in planned.steps]
        for taken, step in zip(people, planned.steps, strict=True):
            assert taken.at_us == row.created_us + round(step.after_min * MINUTE)
            assert taken.at_us < demo_city.built_us
            if step.department is not None:
                assert taken.department == step.department


def _rules(db: OpsDatabase) -> list[RuleRecord]:
    return list_rules(db, Scope.everything())


def test_the_rules_are_made_by_the_district_command_centre(demo_city: DemoCity) -> None:
    plan = rule_plan()
    with OpsDatabase.for_city(demo_city.folder) as db:
        rules = _rules(db)
    assert [r.name for r in rules] == [p.name for p in plan.rules]
    assert {r.created_by for r in rules} == {"tianhe"}
    assert {r.jurisdiction for r in rules} == {"440106000000"}
    assert {r.condition for r in rules} == {"above", "rate_above", "silent"}
    assert all(r.created_us < demo_city.built_us - 24 * 3600 * US for r in rules)


def test_the_photos_are_real_pictures(demo_city: DemoCity) -> None:
    with OpsDatabase.for_city(demo_city.folder) as db, db.transaction() as session:
        photos = session.scalars(select(IncidentAttachment)).all()
        assert len(photos) == demo_city.build.photos >= 20
        for photo in photos:
            width, height = _png_size(photo.content)
            assert (width, height) == (320, 240) and photo.media_type == "image/png"
    drawn = {kind: photo_png(kind, 1) for kind in DRAWINGS}
    assert len(set(drawn.values())) == len(DRAWINGS)  # each kind its own picture
    assert photo_png("garbage", 7) == photo_png("garbage", 7) != photo_png("garbage", 8)


def _png_size(content: bytes) -> tuple[int, int]:
    """The size of a PNG whose pixel data decompresses to its rows (else it fails)."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR"
    width, height = struct.unpack(">II", content[16:24])
    idat = content.index(b"IDAT")
    length = struct.unpack(">I", content[idat - 4 : idat])[0]
    rows = zlib.decompress(content[idat + 4 : idat + 4 + length])
    assert len(rows) == height * (1 + 3 * width)
    return width, height


# The loop on a waterlogging incident in Huacheng: each step's account, those refused it
# (an inspector, a department or a viewer where the command centre acts, another
# department, an inspector of another street, who does not even see it), its fields.
WALK: list[tuple[str, str, list[str], dict[str, str]]] = [
    ("register", "tianhe", ["huacheng", "tianhe_water", "huachengnan"], {}),
    ("dispatch", "tianhe", ["tianhe_water", "huacheng"], {"department": "water"}),
    ("accept", "tianhe_water", ["tianhe_env", "tianhe", "huacheng"], {}),
    ("handle", "tianhe_water", ["tianhe_housing", "huacheng"], {"note": "泵车抽排完毕"}),
    ("verify", "huacheng", ["zhujiangnan", "huachengnan"], {}),
    ("close", "tianhe", ["huacheng", "tianhe_water"], {}),
]


def walk_the_loop(client: TestClient, incident_id: int) -> None:
    """Walk :data:`WALK` on an incident through the API, each demo account signed in with
    the published password; every wrong account is refused (403, or 404 when it does not
    see the incident) before the right one takes the step."""
    password = demo_accounts()[0].password
    headers = {}
    for account in {name for _, right, wrong, _ in WALK for name in (right, *wrong)}:
        form = {"username": account, "password": password}
        token = client.post("/api/auth/token", data=form).json()["access_token"]
        headers[account] = {"Authorization": f"Bearer {token}"}
    path = f"/api/incidents/{incident_id}"
    assert client.get(path, headers=headers["tianhe"]).json()["status"] == "reported"
    for action, right, wrong, options in WALK:
        for name in wrong:
            refused = client.post(f"{path}/steps", headers=headers[name],
                                  json={"action": action, **options})  # fmt: skip
            assert refused.status_code == (404 if name == "zhujiangnan" else 403), name
        mine = client.get(path, headers=headers[right]).json()
        assert action in mine["actions"]
        body = {"action": action, "version": mine["version"], **options}
        taken = client.post(f"{path}/steps", headers=headers[right], json=body)
        assert taken.status_code == 200, taken.text
    done = client.get(path, headers=headers["tianhe"]).json()
    assert done["status"] == "closed" and done["department"] == "water"
    assert done["departmentJurisdiction"] == "440106000000"
    people = [(s["action"], s["actor"]) for s in done["steps"] if s["action"] in ACTIONS]
    assert people == [(action, right) for action, right, *_ in WALK]


def test_the_demo_accounts_walk_the_loop_and_the_wrong_ones_are_refused(
    demo_copy: DemoCity,
) -> None:
    """The citizen's report of water at the school gate, still ``reported``: registered by
    the district, dispatched to its water department, taken up and handled by its operator,
    verified by the street's inspector, closed by the district."""
    client = TestClient(create_app(demo_copy.folder, worker=False))
    walk_the_loop(client, demo_copy.build.incidents["school-gate-water"])


def test_every_demo_account_is_stored_with_its_department(demo_city: DemoCity) -> None:
    with OpsDatabase.for_city(demo_city.folder) as db:
        for account in demo_accounts():
            stored = users.get_user(db, account.name)
            assert stored.department == account.department
            assert (stored.jurisdiction, stored.roles) == (account.jurisdiction, account.roles)
    assert {a.department for a in demo_accounts()} >= {"water", "environment", "housing"}


def test_the_served_replay_crosses_the_rules_within_minutes(demo_copy: DemoCity) -> None:
    """The served demo: its replay driven ahead of the clock, the app's clock following it,
    its alert engine evaluating every step: the convoy's strain jump opens a structural
    safety incident in the first minute, the flooding underpass a waterlogging incident in
    the first two, the pollution episode an air quality alert within seven; the footbridge
    gauge, silent from its first minute, a sensor incident after ten minutes of silence.
    The demo accounts then walk the flood's incident to its closing."""
    served = create_app(demo_copy.folder, worker=False)
    served.state.demo_sensors = True
    seen: list[Event] = []
    event_hub_of(served).add_listener(seen.append)
    opened: dict[str, int] = {}
    before = {row.id for row in incidents(demo_copy.folder)}
    with TestClient(served) as client:
        replay, engine = served.state.sensor_replay, alert_engine_of(served)
        assert replay is not None and engine is not None and engine.drain()
        anchor = replay.anchor_us
        clock = [datetime.fromtimestamp(anchor / US, UTC)]
        configure(served, clock=lambda: clock[0])
        for second in range(5, 12 * 60 + 1, 5):
            now = anchor + second * US
            clock[0] = datetime.fromtimestamp(now / US, UTC)
            replay.step(now)
            engine.check_silence()
            assert engine.drain()
            for event in seen:
                if event.kind == "alert" and event.data["status"] == "active":
                    opened.setdefault(event.data["category"] or "", second)
        # from the sensor's crossing to the closed incident, by the demo accounts
        flood_id = next(e.data["incidentId"] for e in seen if e.kind == "alert"
                        and e.data["category"] == "waterlogging")  # fmt: skip
        walk_the_loop(client, flood_id)
    assert opened["structural_safety"] <= 60
    assert 60 <= opened["waterlogging"] <= 120
    assert opened["air_quality"] <= 7 * 60
    assert 10 * 60 <= opened["sensor_offline"] <= 12 * 60
    new = {r.category: r for r in incidents(demo_copy.folder) if r.id not in before}
    assert {"structural_safety", "waterlogging", "sensor_offline"} <= set(new)
    flood = new["waterlogging"]
    assert anchor + 60 * US <= flood.created_us <= anchor + 120 * US
    # the water receded within the 12 minutes: the alert cleared, the incident stayed open
    # until the demo accounts closed it
    assert flood.id == flood_id and flood.source == "sensor" and not flood.alert_active
    # (the server may have escalated it meanwhile: it was overdue by the app's clock; the
    # flood run its alert started is a step too, see tests/api/test_live_simulations.py)
    history = [s.action for s in steps_of(demo_copy.folder, flood.id)
               if s.action not in ("escalate", "simulation")]  # fmt: skip
    assert history == ["report", "alert_cleared", *(action for action, *_ in WALK)]
    with OpsDatabase.for_city(demo_copy.folder) as db:
        underpass = next(r for r in _rules(db) if r.name == UNDERPASS_RULE)
    assert flood.rule_id == underpass.id and flood.city_object == "streets:5"
    reported = [e for e in seen if e.kind == "incident" and e.data["id"] == flood.id]
    assert reported[0].data["change"] == "report" and reported[0].jurisdiction == VILLAGE


def test_a_second_build_keeps_the_history(demo_copy: DemoCity) -> None:
    later = demo_copy.built_us + 3600 * US
    before = [(r.id, r.status, r.version) for r in incidents(demo_copy.folder)]
    with CityStore.open(demo_copy.folder) as store, OpsDatabase.for_city(demo_copy.folder) as db:
        again = ensure_demo_incidents(store, db, now_us=later, log=lambda _: None)
    assert again.rules_made == [] and again.incidents == {} and again.open311_key is None
    assert [(r.id, r.status, r.version) for r in incidents(demo_copy.folder)] == before


def test_the_history_on_each_backend(demo_city: DemoCity, ops_url: str) -> None:
    """Rules, reports (the citizens' through the Open311 route on that database), steps and
    escalations alike on SQLite and PostgreSQL."""
    with CityStore.open(demo_city.folder) as store, OpsDatabase.open(ops_url) as db:
        make_demo_accounts(db)
        ensure_demo_sensors(store, db, now=demo_city.built_us, log=lambda _: None)
        build = ensure_demo_incidents(store, db, now_us=demo_city.built_us, log=lambda _: None)
        statuses = _statuses(db, build)
    with OpsDatabase.for_city(demo_city.folder) as db:
        assert statuses == _statuses(db, demo_city.build)
    assert build.steps == demo_city.build.steps and build.photos == demo_city.build.photos
    assert {status for status, _ in statuses.values()} == set(STATUSES)


def _statuses(db: OpsDatabase, build: IncidentBuild) -> dict[str, tuple[str, int]]:
    """The status and escalation level of each scripted incident, by key."""
    with db.transaction() as session:
        return {
            key: (row.status, row.escalation_level)
            for key, row in ((k, session.get(Incident, i)) for k, i in build.incidents.items())
            if row is not None
        }
