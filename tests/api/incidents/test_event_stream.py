"""The city's event stream over HTTP: a user receives only the events of their jurisdiction,
through the filters they ask for; a client that reconnects with the last id it received
gets what it missed, in order and once, then the live events; an id the server cannot
resume from gets a ``reset``. Alerts and incidents are published on the hub directly (their
producers are tested with them)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import auth_state_of, configure
from api.events import Event, EventHub, event_hub_of
from cim.ops.database import OpsDatabase
from simulation.sensors.times import format_time
from tests.scoped_city import PROVINCE, TOWN_A, TOWN_B, build_scoped_city
from tests.sensor_rows import add_datastream
from tests.signin import signed_in
from tests.viewer.conftest import APPS, serve

INSIDE = (113.30, 23.10)  # lon, lat within BOX
BOX = "113.2,23.0,113.4,23.2"


@dataclass(frozen=True)
class Frame:
    """One server-sent event: its id (None: none given), name and data."""

    id: str | None
    kind: str
    data: dict[str, Any]


def frames(response: httpx.Response) -> Iterator[Frame]:
    """The events of a server-sent event stream, comments and ``retry`` skipped."""
    event_id, kind, data = None, "message", ""
    for line in response.iter_lines():
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            kind = value
        elif field == "data":
            data += value
        elif line == "" and data:
            yield Frame(event_id, kind, json.loads(data))
            event_id, kind, data = None, "message", ""


def alert(code: str, n: int, category: str = "waterlogging", *, located: bool = True) -> Event:
    where = {"lon": INSIDE[0], "lat": INSIDE[1]} if located else {}
    return Event("alert", code, {"id": n, "status": "active", "category": category, **where})


def incident(code: str, n: int, category: str = "waterlogging", lon: float = INSIDE[0]) -> Event:
    data = {"id": n, "category": category, "change": "report", "lon": lon, "lat": INSIDE[1]}
    return Event("incident", code, data)


def observation(code: str, n: int) -> Event:
    return Event("observation", code, {"id": n, "Datastream@iot.id": 1, "result": 1.0})


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scoped city, with a gauge of town A inside BOX and one east of it."""
    folder = build_scoped_city(tmp_path_factory.mktemp("event-stream") / "city").folder
    with OpsDatabase.for_city(folder) as db:
        for name, lon in (("inside", INSIDE[0]), ("outside", 114.0)):
            add_datastream(db, name=name, jurisdiction=TOWN_A, lon=lon, lat=INSIDE[1])
    return folder


@pytest.fixture(scope="module")
def served(city: Path) -> Iterator[tuple[str, FastAPI]]:
    with serve(city, worker=False) as url:
        yield url, APPS[url]


def ticket_url(url: str, headers: dict[str, str], path: str = "/api/events/stream") -> str:
    """The stream URL that a new ticket opens (the ticket route beside ``path``)."""
    answer = httpx.post(f"{url}{path}/ticket", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith(f"{path}?ticket=")
    return f"{url}{answer.json()['url']}"


def test_a_town_user_receives_only_their_towns_events(served: tuple[str, FastAPI]) -> None:
    url, app = served
    hub = event_hub_of(app)
    town = ticket_url(url, signed_in(app, roles=("viewer",), jurisdiction=TOWN_A))
    province = ticket_url(url, signed_in(app, roles=("viewer",), jurisdiction=PROVINCE))
    client = httpx.Client(timeout=10)
    with client, client.stream("GET", town) as mine, client.stream("GET", province) as everyone:
        ours, all_ = frames(mine), frames(everyone)
        assert next(ours).kind == "ready" and next(all_).kind == "ready"
        published = [alert(TOWN_B, 1), incident(TOWN_B, 2), observation(TOWN_B, 3),
                     alert(TOWN_A, 4), incident(TOWN_A, 5), observation(TOWN_A, 6)]  # fmt: skip
        hub.publish_all(published)
        got = [next(ours) for _ in range(3)]
        seen = [next(all_) for _ in range(6)]
        hub.publish(Event("entity", TOWN_A, {"marker": True}))
        assert next(ours).data == {"marker": True, "jurisdiction": TOWN_A}  # nothing else
    assert [(f.kind, f.data["jurisdiction"]) for f in got] == [
        ("alert", TOWN_A), ("incident", TOWN_A), ("observation", TOWN_A)]  # fmt: skip
    assert [f.kind for f in seen] == [e.kind for e in published]
    assert got[0].data == {**published[3].data, "jurisdiction": TOWN_A}
    seqs = [int(str(f.id).rpartition("-")[2]) for f in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    assert {str(f.id).rpartition("-")[0] for f in seen} == {hub.boot}
    assert [f.id for f in got] == [f.id for f in seen[3:]]  # one id per event, for all


def test_the_stream_keeps_the_kinds_categories_and_area_asked_for(
    served: tuple[str, FastAPI],
) -> None:
    url, app = served
    hub = event_hub_of(app)
    headers = signed_in(app, roles=("viewer",), jurisdiction=PROVINCE)
    query = f"&kinds=alert,incident&categories=waterlogging,road_damage&bbox={BOX}"
    loose = ticket_url(url, headers) + query
    strict = ticket_url(url, headers) + query + "&strictArea=true"
    client = httpx.Client(timeout=10)
    with client, client.stream("GET", loose) as one, client.stream("GET", strict) as two:
        loose_frames, strict_frames = frames(one), frames(two)
        assert next(loose_frames).kind == "ready" and next(strict_frames).kind == "ready"
        hub.publish_all([
            observation(TOWN_A, 1),  # not a kind asked for
            alert(TOWN_A, 2, "air_quality"),  # another category
            incident(TOWN_A, 3, lon=114.0),  # outside the box
            alert(TOWN_B, 4, located=False),  # no location: passes unless strictArea
            incident(TOWN_A, 5, "road_damage"),
        ])  # fmt: skip
        assert [next(loose_frames).data["id"] for _ in range(2)] == [4, 5]
        assert next(strict_frames).data["id"] == 5


def test_unusable_filters_are_refused_naming_the_problem(served: tuple[str, FastAPI]) -> None:
    url, app = served
    headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    stream = f"{url}/api/events/stream"
    for query, problem in [("kinds=alert,weather", "unknown event kind weather"),
                           ("categories=fire", "unknown category fire"),
                           ("bbox=1,2,3", "four numbers"),
                           ("bbox=5,0,1,1", "minimum is larger")]:  # fmt: skip
        answer = httpx.get(f"{stream}?{query}", headers=headers, timeout=10)
        assert answer.status_code == 422, query
        assert problem in answer.json()["detail"]


def test_a_reconnecting_client_gets_what_it_missed_once_and_in_order(
    served: tuple[str, FastAPI],
) -> None:
    url, app = served
    hub = event_hub_of(app)
    headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", ticket_url(url, headers)) as first:
            before = frames(first)
            ready = next(before)
            assert ready.kind == "ready" and ready.id == hub.last_id
            hub.publish_all([alert(TOWN_A, 1), incident(TOWN_A, 2)])
            received = [next(before), next(before)]
        # disconnected: what happens meanwhile, the other town's included
        missed = [incident(TOWN_A, 3), alert(TOWN_B, 4), observation(TOWN_A, 5),
                  incident(TOWN_B, 6), alert(TOWN_A, 7)]  # fmt: skip
        hub.publish_all(missed)
        again = f"{ticket_url(url, headers)}&lastEventId={received[-1].id}"
        with client.stream("GET", again) as second:
            after = frames(second)
            assert next(after) == Frame(None, "ready", {"scope": TOWN_A[:9]})
            resumed = [next(after) for _ in range(3)]
            hub.publish(alert(TOWN_A, 8))
            live = next(after)
        # a client sending headers resumes with Last-Event-ID
        resume = {**headers, "Last-Event-ID": str(received[0].id)}
        with client.stream("GET", f"{url}/api/events/stream", headers=resume) as third:
            replayed = frames(third)
            assert next(replayed).kind == "ready"
            from_header = [next(replayed).data["id"] for _ in range(5)]
    assert [f.data["id"] for f in received] == [1, 2]
    assert [f.data["id"] for f in resumed] == [3, 5, 7] and live.data["id"] == 8
    ids = [f.id for f in received + resumed + [live]]
    assert len(set(ids)) == len(ids)
    assert [int(str(i).rpartition("-")[2]) for i in ids] == sorted(
        int(str(i).rpartition("-")[2]) for i in ids
    )
    assert from_header == [2, 3, 5, 7, 8]


def test_an_id_the_server_cannot_resume_from_gets_a_reset_then_live_events(
    served: tuple[str, FastAPI],
) -> None:
    url, app = served
    kept = app.state.events
    app.state.events = hub = EventHub(replay=3)
    try:
        headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
        hub.publish_all([alert(TOWN_A, n) for n in range(1, 6)])  # the ring holds 3, 4, 5
        too_old, other_boot = hub.event_id(1), "0badb007-4"
        with httpx.Client(timeout=10) as client:
            for last in (too_old, other_boot):
                stream = f"{ticket_url(url, headers)}&lastEventId={last}"
                with client.stream("GET", stream) as response:
                    got = frames(response)
                    assert next(got).kind == "ready"
                    reset = next(got)
                    hub.publish(alert(TOWN_A, 9))
                    live = next(got)
                latest = hub.event_id(5 if last == too_old else 6)
                assert reset.kind == "reset" and reset.id == latest
                assert ("older than" if last == too_old else "restarted") in reset.data["reason"]
                assert live.kind == "alert" and live.data["id"] == 9
            # the oldest id still resumable: the one just before the ring
            stream = f"{ticket_url(url, headers)}&lastEventId={hub.event_id(4)}"
            with client.stream("GET", stream) as response:
                got = frames(response)
                assert next(got).kind == "ready"
                assert [next(got).id for _ in range(3)] == [hub.event_id(n) for n in (5, 6, 7)]
    finally:
        app.state.events = kept


def test_the_sensor_stream_resumes_with_its_own_kinds(served: tuple[str, FastAPI]) -> None:
    url, app = served
    hub = event_hub_of(app)
    headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    last = hub.last_id
    hub.publish_all([alert(TOWN_A, 1), observation(TOWN_A, 2), observation(TOWN_B, 3),
                     Event("entity", TOWN_A, {"id": 4})])  # fmt: skip
    stream = f"{ticket_url(url, headers, '/api/sensors/stream')}&lastEventId={last}"
    with httpx.Client(timeout=10) as client, client.stream("GET", stream) as response:
        got = frames(response)
        assert next(got).kind == "ready"
        assert [next(got).kind for _ in range(2)] == ["observation", "entity"]


def test_a_stream_through_the_test_client_replays_then_ends(city: Path) -> None:
    app = create_app(city, worker=False)
    headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_B)  # a token of minutes
    config = auth_state_of(app).config  # streams end after a second
    configure(app, config=replace(config, access_lifetime=timedelta(seconds=1)))
    hub = event_hub_of(app)
    hub.publish_all([incident(TOWN_B, 1), incident(TOWN_A, 2), incident(TOWN_B, 3)])
    with TestClient(app) as client:
        answer = client.get(
            "/api/events/stream?kinds=incident",
            headers={**headers, "Last-Event-ID": hub.event_id(1)},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    got = list(frames(answer))
    assert [(f.kind, f.id) for f in got] == [
        ("ready", None), ("incident", hub.event_id(3)), ("end", None)]  # fmt: skip


def test_observations_carry_where_their_thing_stands_for_the_area_filter(
    served: tuple[str, FastAPI],
) -> None:
    url, app = served
    viewer = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    operator = signed_in(app, roles=("operator",), jurisdiction=TOWN_A)
    with OpsDatabase.for_city(app.state.city_dir) as db, db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, name FROM sta_datastreams").all()
    ids = {name: number for number, name in rows}
    stream = f"{ticket_url(url, viewer)}&kinds=observation&bbox={BOX}&strictArea=true"
    with httpx.Client(base_url=url, timeout=10) as client, client.stream("GET", stream) as response:
        got = frames(response)
        assert next(got).kind == "ready"
        for name in ("outside", "inside"):
            body = {"result": 1.5, "phenomenonTime": format_time(time.time_ns() // 1000),
                    "Datastream": {"@iot.id": ids[name]}}  # fmt: skip
            posted = client.post("/sta/v1.1/Observations", json=body, headers=operator)
            assert posted.status_code == 201, posted.text
        seen = next(got)
    assert seen.data["Datastream@iot.id"] == ids["inside"]
    assert (seen.data["lon"], seen.data["lat"]) == pytest.approx(INSIDE)
