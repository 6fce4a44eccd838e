"""The viewer's sensor routes: the latest state in the caller's scope with the worst level
rolled up to buildings, the state of a city object and its children, a datastream's series
(raw or downsampled), and the server-sent event stream limited to the caller's scope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principal import Principal
from api.auth.state import auth_state_of, configure
from api.errors import NotAuthenticatedError
from api.events import Event, event_hub_of
from api.routes.sensors import MAX_POINTS
from api.stream_tickets import TICKET_SECONDS, StreamTickets
from cim.crs import transformer
from cim.ops.database import OpsDatabase
from tests.scoped_city import PLACES, PROVINCE, TOWN_A, TOWN_B, build_scoped_city
from tests.sensor_rows import HOUR_US, add_datastream
from tests.signin import signed_in
from tests.viewer.conftest import APPS, serve

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
NOW_US = int(NOW.timestamp() * 1_000_000)
MINUTE_US = 60 * 1_000_000
LEVEL = {"thresholds": {"warning": 2.0, "alarm": 3.0}}


@dataclass(frozen=True)
class SensorCity:
    folder: Path
    ids: dict[str, int]  # datastream ids by name
    values: np.ndarray  # the minute series of "A wall strain", oldest first


def _lonlat(key: str, dx: float = 5.0, dy: float = 5.0) -> tuple[float, float]:
    x, y = PLACES[key]
    lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(x + dx, y + dy)
    return float(lon), float(lat)


def add_city_sensors(db: OpsDatabase) -> tuple[dict[str, int], np.ndarray]:
    """Sensors of town A (wall: alarm, storey: normal, GIS building: stale, street: warning)
    and of town B (wall: warning); three days of minute values on town A's wall."""
    minutes = np.arange(3 * 24 * 60)
    values = 1.0 + np.sin(minutes / 90.0) + 0.001 * minutes  # ends above the alarm (3.0)
    values[-1] = 3.5
    series = [(NOW_US - (len(minutes) - i) * MINUTE_US, float(v)) for i, v in enumerate(values)]
    ids = {
        "A wall strain": add_datastream(
            db, name="A wall strain", jurisdiction=TOWN_A, city_object="A-wall",
            lon=_lonlat("A")[0], lat=_lonlat("A")[1], height=6.0, thresholds=LEVEL["thresholds"],
            observations=series,
        ),
        "A storey humidity": add_datastream(
            db, name="A storey humidity", jurisdiction=TOWN_A, city_object="A-storey",
            lon=_lonlat("A", 10)[0], lat=_lonlat("A", 10)[1], thresholds=LEVEL["thresholds"],
            observations=[(NOW_US - MINUTE_US, 1.0)],
        ),
        "A annex power": add_datastream(
            db, name="A annex power", jurisdiction=TOWN_A, city_object="blocks.gpkg:A",
            lon=_lonlat("A", 40)[0], lat=_lonlat("A", 40)[1],
            observations=[(NOW_US - 5 * HOUR_US, 7.0)],  # older than the default hour: stale
        ),
        "A street noise": add_datastream(
            db, name="A street noise", jurisdiction=TOWN_A, lon=_lonlat("A", -50)[0],
            lat=_lonlat("A", -50)[1], thresholds=LEVEL["thresholds"],
            observations=[(NOW_US - MINUTE_US, 2.5)],
        ),
        "B wall strain": add_datastream(
            db, name="B wall strain", jurisdiction=TOWN_B, city_object="B-wall",
            lon=_lonlat("B")[0], lat=_lonlat("B")[1], thresholds=LEVEL["thresholds"],
            observations=[(NOW_US - MINUTE_US, 2.2)],
        ),
    }  # fmt: skip
    return ids, values


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> SensorCity:
    folder = build_scoped_city(tmp_path_factory.mktemp("sensor-routes") / "city").folder
    with OpsDatabase.for_city(folder) as db:
        ids, values = add_city_sensors(db)
    return SensorCity(folder, ids, values)


@pytest.fixture(scope="module")
def app(city: SensorCity) -> FastAPI:
    app = create_app(city.folder, worker=False)
    configure(app, clock=lambda: NOW)
    return app


def client_of(app: FastAPI, jurisdiction: str, roles: tuple[str, ...] = ("viewer",)) -> TestClient:
    client = TestClient(app)
    client.headers.update(signed_in(app, roles=roles, jurisdiction=jurisdiction))
    return client


@pytest.fixture(scope="module")
def town_a(app: FastAPI) -> TestClient:
    return client_of(app, TOWN_A)


def test_the_state_holds_the_callers_datastreams_only(
    city: SensorCity, app: FastAPI, town_a: TestClient
) -> None:
    body = town_a.get("/api/sensors/state").json()
    names = {s["name"]: s for s in body["sensors"]}
    assert set(names) == {"A wall strain", "A storey humidity", "A annex power", "A street noise"}
    assert "B-" not in json.dumps(body)
    wall = names["A wall strain"]
    assert (wall["level"], wall["result"], wall["unit"]) == ("alarm", 3.5, "m")
    assert wall["city_object"] == "A-wall" and wall["building"] == "A-bldg"
    assert wall["object_name"] == "A Hall wall"
    assert wall["lon"] == pytest.approx(_lonlat("A")[0]) and wall["height"] == 6.0
    assert wall["time"] == "2026-12-03T07:59:00Z"
    assert names["A annex power"]["level"] == "stale"
    assert names["A street noise"]["level"] == "warning"
    assert names["A street noise"]["building"] is None
    everyone = client_of(app, PROVINCE, ("admin",)).get("/api/sensors/state").json()
    assert {s["datastream_id"] for s in everyone["sensors"]} == set(city.ids.values())
    assert client_of(app, TOWN_B).get("/api/sensors/state").json()["buildings"] == {
        "B-bldg": "warning"
    }


def test_the_worst_level_rolls_up_to_the_building(town_a: TestClient) -> None:
    body = town_a.get("/api/sensors/state").json()
    # the wall (alarm) and the storey (normal) are in A-bldg; the annex is its own building
    assert body["buildings"] == {"A-bldg": "alarm", "blocks.gpkg:A": "stale"}
    assert body["objects"] == {"A-wall": "alarm", "A-storey": "normal", "blocks.gpkg:A": "stale"}


def test_the_state_narrows_to_a_box_and_a_jurisdiction(app: FastAPI, town_a: TestClient) -> None:
    west, south = _lonlat("A", -100, -100)
    east, north = _lonlat("A", 20, 20)
    boxed = town_a.get("/api/sensors/state", params={"bbox": f"{west},{south},{east},{north}"})
    assert {s["name"] for s in boxed.json()["sensors"]} == {
        "A wall strain", "A storey humidity", "A street noise"
    }  # fmt: skip
    assert town_a.get("/api/sensors/state", params={"bbox": "1,2,3"}).status_code == 400
    assert town_a.get("/api/sensors/state", params={"bbox": "3,2,1,4"}).status_code == 400
    province = client_of(app, PROVINCE, ("admin",))
    narrowed = province.get("/api/sensors/state", params={"jurisdiction": TOWN_B}).json()
    assert [s["name"] for s in narrowed["sensors"]] == ["B wall strain"]
    refused = town_a.get("/api/sensors/state", params={"jurisdiction": TOWN_B})
    assert refused.status_code == 404


def test_an_objects_state_holds_its_childrens_datastreams(town_a: TestClient) -> None:
    def names(object_id: str) -> tuple[str, set[str]]:
        body = town_a.get(f"/api/objects/{object_id}/state").json()
        return body["level"], {s["name"] for s in body["sensors"]}

    assert names("A-bldg") == ("alarm", {"A wall strain", "A storey humidity"})
    assert names("A-storey") == ("alarm", {"A wall strain", "A storey humidity"})
    assert names("A-wall") == ("alarm", {"A wall strain"})
    assert names("A-site") == ("alarm", {"A wall strain", "A storey humidity"})
    assert names("blocks.gpkg:A") == ("stale", {"A annex power"})
    assert town_a.get("/api/objects/B-bldg/state").status_code == 404
    assert town_a.get("/api/objects/nowhere/state").status_code == 404


def test_a_long_series_is_downsampled_under_the_point_limit(
    city: SensorCity, town_a: TestClient
) -> None:
    url = f"/api/datastreams/{city.ids['A wall strain']}/series"
    whole = town_a.get(url).json()
    assert whole["points"] == [] and whole["resolution"] == "5min"  # 3 days / 2 000 -> 5 min
    assert 0 < len(whole["buckets"]) <= MAX_POINTS
    assert sum(b["count"] for b in whole["buckets"]) == len(city.values)
    hourly = town_a.get(url, params={"resolution": "1h"}).json()
    assert hourly["resolution"] == "1h" and len(hourly["buckets"]) == 72
    # the first hour starts on the hour with the first value (3 days before 08:00)
    first = hourly["buckets"][0]
    assert first["start"] == "2026-11-30T08:00:00Z" and first["count"] == 60
    expected = city.values[:60]
    assert first["min"] == pytest.approx(expected.min())
    assert first["max"] == pytest.approx(expected.max())
    assert first["mean"] == pytest.approx(expected.mean())


def test_a_short_series_answers_raw_values(city: SensorCity, town_a: TestClient) -> None:
    url = f"/api/datastreams/{city.ids['A wall strain']}/series"
    params = {"start": "2026-12-03T07:00:00Z", "end": "2026-12-03T08:00:00Z"}
    body = town_a.get(url, params=params).json()
    assert body["resolution"] is None and body["buckets"] == []
    assert len(body["points"]) == 60
    assert body["points"][0] == {"time": "2026-12-03T07:00:00Z",
                                 "result": pytest.approx(city.values[-60])}  # fmt: skip
    assert body["points"][-1]["result"] == 3.5


def test_bad_series_requests_are_refused(city: SensorCity, town_a: TestClient) -> None:
    url = f"/api/datastreams/{city.ids['A wall strain']}/series"
    assert town_a.get(url, params={"resolution": "fortnightly"}).status_code == 400
    backwards = {"start": "2026-12-03T08:00:00Z", "end": "2026-12-03T07:00:00Z"}
    assert town_a.get(url, params=backwards).status_code == 400
    assert town_a.get(url, params={"start": "yesterday"}).status_code == 400
    other = f"/api/datastreams/{city.ids['B wall strain']}/series"
    assert town_a.get(other).status_code == 404
    assert town_a.get("/api/datastreams/999999/series").status_code == 404


@pytest.fixture(scope="module")
def served(city: SensorCity) -> Iterator[tuple[str, FastAPI]]:
    with serve(city.folder, worker=False) as url:
        yield url, APPS[url]


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, object]]]:
    """(event name, data) of a server-sent event stream, comments skipped."""
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data += line.partition(":")[2].strip()
        elif line == "" and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def _ticket(url: str, headers: dict[str, str]) -> str:
    answer = httpx.post(f"{url}/api/sensors/stream/ticket", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    ticket: str = answer.json()["ticket"]
    return ticket


def test_the_stream_carries_events_of_the_callers_scope_only(
    served: tuple[str, FastAPI],
) -> None:
    url, app = served
    ticket = _ticket(url, signed_in(app, roles=("viewer",), jurisdiction=TOWN_A))
    hub = event_hub_of(app)
    stream_url = f"{url}/api/sensors/stream?ticket={ticket}"
    with httpx.Client(timeout=10) as client, client.stream("GET", stream_url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
        assert next(events) == ("ready", {"scope": "440106001"})
        hub.publish(Event("observation", TOWN_B, {"Datastream@iot.id": 5, "result": 9.0}))
        hub.publish(Event("observation", TOWN_A, {"Datastream@iot.id": 1, "result": 4.0,
                                                   "level": "alarm"}))  # fmt: skip
        kind, data = next(events)
        assert kind == "observation"
        assert data == {"Datastream@iot.id": 1, "result": 4.0, "level": "alarm",
                        "jurisdiction": TOWN_A}  # fmt: skip
        hub.publish(Event("entity", TOWN_A, {"type": "Datastream", "id": 7, "change": "created"}))
        assert next(events)[0] == "entity"


def test_the_stream_needs_a_fresh_ticket_or_a_header(served: tuple[str, FastAPI]) -> None:
    url, app = served
    headers = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    ticket = _ticket(url, headers)
    stream_url = f"{url}/api/sensors/stream"
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", stream_url, params={"ticket": ticket}) as response:
            assert response.status_code == 200
            assert next(_events(response))[0] == "ready"
        used = client.get(stream_url, params={"ticket": ticket})
        assert used.status_code == 401 and "ticket" in used.json()["detail"]
        assert client.get(stream_url, params={"ticket": "made-up"}).status_code == 401
        assert client.get(stream_url).status_code == 401
        assert httpx.post(f"{url}/api/sensors/stream/ticket").status_code == 401
        with client.stream("GET", stream_url, headers=headers) as response:
            assert response.status_code == 200
            assert next(_events(response)) == ("ready", {"scope": "440106001"})


def test_the_stream_ends_when_an_access_token_would_have(served: tuple[str, FastAPI]) -> None:
    url, app = served
    ticket = _ticket(url, signed_in(app, roles=("viewer",), jurisdiction=TOWN_A))
    lifetime = auth_state_of(app).config
    configure(app, config=replace(lifetime, access_lifetime=timedelta(seconds=1)))
    try:
        stream_url = f"{url}/api/sensors/stream?ticket={ticket}"
        with httpx.Client(timeout=10) as client, client.stream("GET", stream_url) as response:
            events = _events(response)
            assert next(events)[0] == "ready"
            assert next(events) == ("end", {"reason": "expired"})
            assert list(events) == []  # and the server closes it
    finally:
        configure(app, config=lifetime)


def test_an_observation_written_through_sensorthings_reaches_the_stream(
    served: tuple[str, FastAPI], city: SensorCity
) -> None:
    url, app = served
    viewer = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    operator = signed_in(app, roles=("operator",), jurisdiction=TOWN_A)
    other_town = signed_in(app, roles=("viewer",), jurisdiction=TOWN_B)
    humidity = city.ids["A storey humidity"]
    now = datetime.now(UTC).isoformat()
    observation = {"result": 3.9, "phenomenonTime": now, "Datastream": {"@iot.id": humidity}}
    with httpx.Client(base_url=url, timeout=10) as client:
        mine = client.stream("GET", f"/api/sensors/stream?ticket={_ticket(url, viewer)}")
        theirs = client.stream("GET", f"/api/sensors/stream?ticket={_ticket(url, other_town)}")
        with mine as response, theirs as refused:
            events, others = _events(response), _events(refused)
            assert next(events)[0] == "ready" and next(others)[0] == "ready"
            posted = client.post("/sta/v1.1/Observations", json=observation, headers=operator)
            assert posted.status_code == 201, posted.text
            kind, data = next(events)
            assert kind == "observation"
            assert (data["Datastream@iot.id"], data["result"]) == (humidity, 3.9)
            assert (data["level"], data["cityObject"]) == ("alarm", "A-storey")
            # town B's stream got nothing: the next thing it sees is an event of its own
            event_hub_of(app).publish(Event("observation", TOWN_B, {"own": True}))
            assert next(others) == ("observation", {"own": True, "jurisdiction": TOWN_B})
        state = client.get("/api/sensors/state", headers=viewer).json()
    humid = next(s for s in state["sensors"] if s["datastream_id"] == humidity)
    assert (humid["result"], humid["level"]) == (3.9, "alarm")
    assert state["buildings"]["A-bldg"] == "alarm"


def test_a_stream_ticket_is_good_once_and_for_a_minute() -> None:
    tickets = StreamTickets()
    reader = Principal.user("reader", TOWN_A, frozenset({"viewer"}))
    late = tickets.issue(reader, NOW)
    used = tickets.issue(reader, NOW)
    assert tickets.redeem(used, NOW + timedelta(seconds=TICKET_SECONDS - 1)) == reader
    for ticket in (used, late):  # used up; past its minute
        with pytest.raises(NotAuthenticatedError, match="stream ticket"):
            tickets.redeem(ticket, NOW + timedelta(seconds=TICKET_SECONDS))
