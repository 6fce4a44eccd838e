"""The demo's sensors: every kind at every level, each in its city object and jurisdiction, a
day of history, values that change while the demo serves, and a recorded file replayed.

The demo city is built once per session (tests/demo_build.py) and copied for the
module; tests that write take a copy of that."""

from __future__ import annotations

import asyncio
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.demo_plan import sensor_plan
from api.demo_sensors import SensorBuild, demo_replay_of, demo_streams, ensure_demo_sensors
from api.events import Event, event_hub_of
from api.sta.linking import jurisdiction_at
from cim.crs import transformer
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore
from tests.demo_build import BuiltDemo
from tests.signin import signed_in

US = 1_000_000
HOUR = 3600 * US
UNDERPASS = "East-West Road 3 underpass water depth"
VILLAGE = "440106001001"  # Huacheng South Community: the underpass is in it


@dataclass(frozen=True)
class DemoCity:
    """The built demo: its folder, the time its history ends, what the sensor build did."""

    folder: Path
    built_us: int
    build: SensorBuild


@pytest.fixture(scope="module")
def demo_city(built_demo: BuiltDemo, tmp_path_factory: pytest.TempPathFactory) -> DemoCity:
    """The demo district with its sensors and a day of history up to the build time (this
    module's copy of the session's build)."""
    folder = built_demo.copy(tmp_path_factory.mktemp("demo") / "demo-city")
    return DemoCity(folder, built_demo.built_us, built_demo.sensors)


@pytest.fixture()
def demo_copy(demo_city: DemoCity, tmp_path: Path) -> DemoCity:
    """A copy of the demo city a test may change."""
    folder = tmp_path / "demo-city"
    shutil.copytree(demo_city.folder, folder)
    return DemoCity(folder, demo_city.built_us, demo_city.build)


def things(folder: Path) -> list[tuple[t.Thing, t.Location]]:
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        rows = session.execute(
            select(t.Thing, t.Location)
            .join(t.ThingLocation, t.ThingLocation.thing_id == t.Thing.id)
            .join(t.Location, t.Location.id == t.ThingLocation.location_id)
        ).all()
        return [(thing, location) for thing, location in rows]


def observation_counts(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Per datastream name: how many observations, first and last time."""
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        rows = session.execute(
            select(t.Datastream.name, func.count(), func.min(t.Observation.phenomenon_us),
                   func.max(t.Observation.phenomenon_us))
            .join(t.Observation, t.Observation.datastream_id == t.Datastream.id)
            .group_by(t.Datastream.name)
        ).all()  # fmt: skip
    return {name: (count, first, last) for name, count, first, last in rows}


def latest(db: OpsDatabase) -> dict[str, tuple[int, float]]:
    with db.transaction() as session:
        rows = session.execute(
            select(t.Datastream.name, t.Datastream.latest_phenomenon_us,
                   t.Datastream.latest_result_number)
        ).all()  # fmt: skip
    return {name: (when, value) for name, when, value in rows}


def test_every_kind_at_every_level(demo_city: DemoCity) -> None:
    with OpsDatabase.for_city(demo_city.folder) as db, db.transaction() as session:
        rows = session.execute(
            select(t.Thing.properties, t.Datastream.properties, t.ObservedProperty.name)
            .join(t.Datastream, t.Datastream.thing_id == t.Thing.id)
            .join(t.ObservedProperty, t.ObservedProperty.id == t.Datastream.observed_property_id)
        ).all()
    kinds: dict[str, set[str]] = {}
    for thing_properties, stream_properties, _ in rows:
        kinds.setdefault(thing_properties["level"], set()).add(stream_properties["kind"])
    assert kinds["building"] >= {"power", "occupancy"}
    assert kinds["storey"] >= {"temperature"}
    assert kinds["space"] >= {"occupancy", "pm25"}
    assert kinds["street"] >= {"water_level", "pm25", "strain"}
    names = {name for *_, name in rows}
    assert names >= {"Water level", "PM2.5", "Structural strain", "Occupancy", "Electric power",
                     "Air temperature"}  # fmt: skip
    assert len(rows) == len(sensor_plan().datastreams()) == demo_city.build.streams


def test_each_sensor_sits_in_its_city_object_and_jurisdiction(demo_city: DemoCity) -> None:
    placed = things(demo_city.folder)
    assert len(placed) == len(sensor_plan().things)
    everything = Scope.everything()
    with CityStore.open(demo_city.folder) as store:
        to_city = transformer("EPSG:4326", store.crs)
        for thing, location in placed:
            assert thing.properties is not None
            found = store.get_object(thing.properties["cityObject"], scope=everything)
            assert thing.city_object == found.id == location.city_object
            x, y = to_city.transform(*location.location["coordinates"][:2])
            assert found.footprint is not None
            assert found.footprint.buffer(0.01).contains(shapely.Point(x, y)), thing.name
            code = jurisdiction_at(store, location.location)
            assert code is not None and thing.jurisdiction == location.jurisdiction == code
            assert shape(location.location).geom_type == "Point"
    levels = {thing.properties["level"] for thing, _ in placed if thing.properties}
    assert levels == {"building", "storey", "space", "street"}
    assert len({thing.jurisdiction for thing, _ in placed}) >= 4  # spread over the villages


def test_a_day_of_history(demo_city: DemoCity) -> None:
    plan = sensor_plan()
    counts = observation_counts(demo_city.folder)
    per_day = int(plan.backfill_hours * 3600 / plan.backfill_step_s)
    assert set(counts) == set(plan.datastreams())
    for name, (count, first, last) in counts.items():
        assert per_day - 1 <= count <= per_day + 1, name
        assert demo_city.built_us - 24 * HOUR <= first < demo_city.built_us - 23 * HOUR
        assert demo_city.built_us - plan.backfill_step_s * US < last <= demo_city.built_us
    assert demo_city.build.backfilled == sum(count for count, *_ in counts.values())


def test_a_second_build_fills_only_the_gap(demo_copy: DemoCity) -> None:
    later = demo_copy.built_us + HOUR
    with CityStore.open(demo_copy.folder) as store, OpsDatabase.for_city(demo_copy.folder) as db:
        again = ensure_demo_sensors(store, db, now=demo_copy.built_us, log=lambda _: None)
        assert again.created == [] and again.backfilled == 0
        gap = ensure_demo_sensors(store, db, now=later, log=lambda _: None)
    assert gap.created == []
    assert gap.backfilled == pytest.approx(12 * len(sensor_plan().datastreams()), abs=29)
    assert len(things(demo_copy.folder)) == len(sensor_plan().things)


def test_a_replay_step_changes_the_values_and_passes_the_thresholds(demo_copy: DemoCity) -> None:
    """The replay's clock is driven: 90 s of demo in 18 steps, without waiting. It starts
    at the next local noon after the history (04:00 UTC in Guangzhou): at night occupancy
    and traffic are flat and fewer values change in one step."""
    served = create_app(demo_copy.folder, worker=False)
    seen: list[Event] = []
    event_hub_of(served).add_listener(seen.append)
    day = 24 * HOUR
    anchor = demo_copy.built_us // day * day + 4 * HOUR
    if anchor <= demo_copy.built_us:
        anchor += day
    with OpsDatabase.for_city(demo_copy.folder) as db:
        replay = demo_replay_of(served, db, anchor)
        assert replay is not None and len(replay.streams) == len(sensor_plan().datastreams())
        before = latest(db)
        first = replay.step(anchor + 5 * US)
        after_one = latest(db)
        for second in range(10, 95, 5):
            replay.step(anchor + second * US)
        after = latest(db)
    assert len(first.created) == len(replay.streams) and not first.rejected
    changed = [name for name in before if after_one[name][1] != before[name][1]]
    assert len(changed) >= 0.6 * len(before)
    assert all(after_one[name][0] == anchor + 5 * US for name in before)
    assert before[UNDERPASS][1] < 0.15 <= after[UNDERPASS][1]  # rain: warning, then alarm
    silent = next(s.datastream_id for s in replay.streams if s.silent_after_s is not None)
    sent = [e.data["phenomenonTime"] for e in seen if e.data["Datastream@iot.id"] == silent]
    assert len(sent) == 11  # 5 to 55 s: the footbridge gauge is silent from its 60th second
    assert len(seen) == 18 * len(replay.streams) - 7
    underpass = next(s.datastream_id for s in replay.streams if s.series.key == UNDERPASS)
    levels = [e.data["level"] for e in seen if e.data["Datastream@iot.id"] == underpass]
    assert levels[0] == "normal" and levels[-1] == "alarm" and "warning" in levels
    assert levels.index("warning") < levels.index("alarm")
    event = seen[-1]
    assert {"@iot.id", "phenomenonTime", "result", "Datastream@iot.id", "Thing@iot.id",
            "cityObject", "level"} <= set(event.data)  # fmt: skip
    assert event.kind == "observation" and len(event.jurisdiction) == 12


def test_a_subscriber_gets_its_jurisdictions_observations_only(demo_copy: DemoCity) -> None:
    served = create_app(demo_copy.folder, worker=False)
    hub = event_hub_of(served)
    anchor = (demo_copy.built_us // US + 1) * US

    async def listen() -> list[Event]:
        subscription = hub.subscribe(Scope.of(VILLAGE), frozenset({"observation"}))
        with OpsDatabase.for_city(demo_copy.folder) as db:
            replay = demo_replay_of(served, db, anchor)
            assert replay is not None
            await asyncio.to_thread(replay.step, anchor + 60 * US)
        got = []
        while (event := await subscription.next_event(timeout=0.5)) is not None:
            got.append(event)
        return got

    got = asyncio.run(listen())
    names = {e.data["Datastream@iot.id"] for e in got}
    with OpsDatabase.for_city(demo_copy.folder) as db:
        in_village = {s.datastream_id for s in demo_streams(db) if s.jurisdiction == VILLAGE}
    assert names == in_village and len(in_village) >= 3
    assert any(e.data["level"] != "normal" for e in got)  # the underpass is flooding


def test_the_served_demo_replays_and_stops_with_the_server(demo_copy: DemoCity) -> None:
    served = create_app(demo_copy.folder, worker=False)
    served.state.demo_sensors = True
    arrived = threading.Event()
    seen: list[Event] = []

    def listener(event: Event) -> None:
        seen.append(event)
        arrived.set()

    event_hub_of(served).add_listener(listener)
    with TestClient(served):
        assert arrived.wait(timeout=60), "no observation event from the replay"
        replay = served.state.sensor_replay
    assert {e.data["Datastream@iot.id"] for e in seen} >= {s.datastream_id for s in replay.streams}
    assert served.state.sensor_replay_task.done()  # stopped with the server
    with OpsDatabase.for_city(demo_copy.folder) as db:
        assert latest(db)[UNDERPASS][0] > demo_copy.built_us


def test_a_plain_server_replays_nothing(demo_copy: DemoCity) -> None:
    served = create_app(demo_copy.folder, worker=False)
    seen: list[Any] = []
    event_hub_of(served).add_listener(seen.append)
    with TestClient(served) as client:
        assert client.get("/api/health").status_code in (200, 404)
    assert seen == [] and not hasattr(served.state, "sensor_replay")


def test_cimtwin_sensors_replay_stores_the_real_file(
    demo_copy: DemoCity, shared_data: Path
) -> None:
    """BETR801's 101 PM2.5 rows and London Westminster's 1009 into two demo datastreams."""
    record = shared_data / "sensors" / "air_quality_pm25_long.csv"
    with OpsDatabase.for_city(demo_copy.folder) as db:
        ids = {s.series.key: s.datastream_id for s in demo_streams(db)}
    roadside, background = ids["East-West Road 5 PM2.5"], ids["East-West Road 2 PM2.5"]
    runner = CliRunner()
    args = ["sensors", "replay", str(record), "--city", str(demo_copy.folder),
            "--map", f"BETR801={roadside}",
            "--map", f"London Westminster={background}"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert "BETR801 -> datastream" in result.stderr and "101 stored" in result.stderr
    assert "1009 rows, 1009 stored" in result.stderr
    in_2019 = _counts_between(demo_copy.folder, 1_546_300_800 * US, 1_577_836_800 * US)
    assert in_2019 == {roadside: 101, background: 1009}
    again = runner.invoke(cli, [*args, "--json"])
    assert again.exit_code == 0
    assert '"already": 1009' in again.stdout and '"stored": 0' in again.stdout
    listed = runner.invoke(cli, ["sensors", "list", "--city", str(demo_copy.folder), "--json"])
    assert listed.exit_code == 0 and UNDERPASS in listed.stdout


def _counts_between(folder: Path, start: int, end: int) -> dict[int, int]:
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        rows = session.execute(
            select(t.Observation.datastream_id, func.count())
            .where(t.Observation.phenomenon_us.between(start, end))
            .group_by(t.Observation.datastream_id)
        ).all()
    return {int(i): int(n) for i, n in rows}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "BETR801"], "write STATION=DATASTREAM_ID"),
        (["--map", "Paris=1"], "has no pm25 rows of 'Paris'"),
        (["--map", "BETR801=99999"], "no datastream 99999"),
        (["--map", "BETR801=1", "--map", "BETR801=2"], "mapped twice"),
    ],
)
def test_cimtwin_sensors_replay_refuses_bad_maps(
    demo_city: DemoCity, shared_data: Path, args: list[str], message: str
) -> None:
    record = shared_data / "sensors" / "air_quality_pm25_long.csv"
    result = CliRunner().invoke(
        cli, ["sensors", "replay", str(record), "--city", str(demo_city.folder), *args]
    )
    assert result.exit_code == 1 and message in result.stderr


def test_cimtwin_sensors_fit_prints_the_demo_profile(shared_data: Path) -> None:
    record = shared_data / "sensors" / "air_quality_pm25_long.csv"
    result = CliRunner().invoke(
        cli, ["sensors", "fit", str(record), "--station", "BETR801", "--utc-offset", "2"]
    )
    assert result.exit_code == 0 and '"level": 2.9085' in result.stdout


def test_the_demo_sensors_on_each_backend(demo_city: DemoCity, ops_url: str) -> None:
    """Made, backfilled and replayed in an operational database on SQLite and PostgreSQL."""
    served = create_app(demo_city.folder, worker=False)
    with CityStore.open(demo_city.folder) as store, OpsDatabase.open(ops_url) as db:
        build = ensure_demo_sensors(store, db, now=demo_city.built_us, log=lambda _: None)
        assert len(build.created) == len(sensor_plan().things)
        assert build.backfilled == demo_city.build.backfilled
        replay = demo_replay_of(served, db, demo_city.built_us)
        assert replay is not None
        step = replay.step(demo_city.built_us + 60 * US)
        assert len(step.created) == build.streams and not step.rejected
        again = ensure_demo_sensors(store, db, now=demo_city.built_us, log=lambda _: None)
        assert again.created == [] and again.backfilled == 0


def test_a_village_viewer_reads_its_sensors_through_sensorthings(demo_city: DemoCity) -> None:
    """The community's viewer sees its datastreams, each with its sensor and observed property
    (made in the thing's jurisdiction, not the caller's), and no other."""
    served = create_app(demo_city.folder, worker=False)
    viewer = signed_in(served, roles=("viewer",), jurisdiction=VILLAGE)
    with OpsDatabase.for_city(demo_city.folder) as db:
        mine = {s.datastream_id for s in demo_streams(db) if s.jurisdiction == VILLAGE}
    with TestClient(served) as client:
        expand = {"$expand": "Sensor,ObservedProperty,Thing", "$top": "100"}
        answer = client.get("/sta/v1.1/Datastreams", headers=viewer, params=expand)
    assert answer.status_code == 200, answer.text
    streams = answer.json()["value"]
    assert {s["@iot.id"] for s in streams} == mine
    assert all(s["Sensor"]["name"] and s["ObservedProperty"]["name"] for s in streams)
    assert all(s["Thing"]["properties"]["cityObject"] for s in streams)


def test_the_viewer_state_follows_the_served_replay(demo_copy: DemoCity) -> None:
    """What the viewer asks for: the community's sensors and the worst level of Tianhe
    Office A's, before and after the replay (driven ahead of the clock) floods the underpass
    and overheats a storey."""
    served = create_app(demo_copy.folder, worker=False)
    served.state.demo_sensors = True
    viewer = signed_in(served, roles=("viewer",), jurisdiction=VILLAGE)
    with TestClient(served) as client:
        replay = served.state.sensor_replay
        replay.step(replay.anchor_us)  # the served replay's first step, at its start
        before = client.get("/api/sensors/state", headers=viewer).json()
        for second in range(5, 95, 5):
            replay.step(replay.anchor_us + second * US)
        after = client.get("/api/sensors/state", headers=viewer).json()
    level = {s["name"]: s["level"] for s in after["sensors"]}
    assert {s["jurisdiction"] for s in after["sensors"]} == {VILLAGE}
    assert {s["name"]: s["level"] for s in before["sensors"]}[UNDERPASS] == "normal"
    assert level[UNDERPASS] == "alarm"
    assert level["Tianhe Office A level 6 air temperature"] in ("warning", "alarm")
    office = next(s["building"] for s in after["sensors"] if s["name"].startswith("Tianhe Off"))
    assert after["buildings"][office] in ("warning", "alarm")
    changed = [s["name"] for s, b in zip(after["sensors"], before["sensors"], strict=True)
               if s["result"] != b["result"]]  # fmt: skip
    assert len(changed) >= len(after["sensors"]) // 2
