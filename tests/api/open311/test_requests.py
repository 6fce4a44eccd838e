"""GET requests and requests/{id}: the standard's fields (compared with its examples), the
workflow's status mapped to open/closed as it moves, the filters and their defaults, and
what each caller sees: their jurisdiction with a key, the public list (citizens' requests,
no contact details) without one, nothing when the city does not publish it."""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth.state import auth_state_of
from cim.scope import Scope
from simulation.incidents.actors import Actor
from simulation.incidents.incidents import IncidentReport, report_incident, take_step
from tests.api.open311 import wiki_examples as wiki
from tests.api.open311.city import V2, Clock, api_key, lonlat, open311_app, png_bytes
from tests.api.open311.shapes import json_shape, xml_shape
from tests.scoped_city import TOWN_A, TOWN_B, ScopedCity, build_scoped_city
from tests.signin import signed_in

STAFF = frozenset({"read", "report", "handle", "verify", "dispatch"})
MANAGER = Actor("zhang", "user", TOWN_A, Scope.of(TOWN_A), STAFF, None, "manager")
WATER = Actor("shuiwu", "user", TOWN_A, Scope.of(TOWN_A), STAFF, "water", "operator")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("open311-get") / "city")


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(city: ScopedCity, clock: Clock) -> FastAPI:
    return open311_app(city, clock)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def keys(app: FastAPI) -> dict[str, str]:
    return {"A": api_key(app, TOWN_A), "B": api_key(app, TOWN_B)}


def _post(client: TestClient, key: str, place: str = "A", **fields: str) -> int:
    lon, lat = lonlat(place)
    answered = client.post(f"{V2}/requests.json", data={
        "api_key": key, "service_code": "waterlogging", "lat": str(lat), "long": str(lon),
        "email": "li@example.cn", "phone": "13800000000", "first_name": "Li",
        "description": "Water at the gate", **fields,
    })  # fmt: skip
    assert answered.status_code == 201, answered.text
    return int(answered.json()[0]["service_request_id"])


def _now_us(clock: Clock) -> int:
    return int(clock.now.timestamp()) * 1_000_000


def test_requests_have_the_fields_of_the_standards_example(
    client: TestClient, keys: dict[str, str]
) -> None:
    made = _post(client, keys["A"], address_string="1 School Road")
    listed = client.get(f"{V2}/requests.json", params={"api_key": keys["A"]})
    assert listed.status_code == 200
    assert json_shape(listed.json()) == json_shape(wiki.REQUESTS_JSON)
    xml = client.get(f"{V2}/requests.xml", params={"api_key": keys["A"]})
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml_shape(xml.content) == xml_shape(wiki.REQUESTS_XML)
    one = client.get(f"{V2}/requests/{made}.xml", params={"api_key": keys["A"], "lang": "en"})
    assert xml_shape(one.content) == xml_shape(wiki.REQUESTS_XML)
    request = ET.fromstring(one.content).find("request")
    assert request is not None
    assert request.findtext("service_request_id") == str(made)
    assert request.findtext("status") == "open"
    assert request.findtext("service_code") == "waterlogging"
    assert request.findtext("service_name") == "Waterlogging"
    assert request.findtext("agency_responsible") == "Water Affairs"
    assert request.findtext("address") == "1 School Road"
    assert request.findtext("requested_datetime") == "2026-12-03T08:00:00Z"
    assert request.findtext("expected_datetime") == "2026-12-03T08:10:00Z"  # 10 min to register
    lon, lat = lonlat("A")
    assert abs(float(request.findtext("lat", "0")) - lat) < 1e-9
    assert abs(float(request.findtext("long", "0")) - lon) < 1e-9


def test_the_status_follows_the_workflow(
    app: FastAPI, client: TestClient, clock: Clock, keys: dict[str, str]
) -> None:
    db = auth_state_of(app).db
    made = _post(client, keys["A"])

    def shown() -> dict[str, object]:
        answered = client.get(f"{V2}/requests/{made}.json",
                              params={"api_key": keys["A"], "lang": "en"})  # fmt: skip
        return dict(answered.json()[0])

    assert (shown()["status"], shown()["status_notes"]) == ("open", "Reported")
    steps = [(MANAGER, "register", "", None), (MANAGER, "dispatch", "", "water"),
             (WATER, "accept", "", None), (WATER, "handle", "pumped away", None),
             (MANAGER, "verify", "", None)]  # fmt: skip
    for actor, action, note, department in steps:
        clock.advance(minutes=5)
        take_step(db, made, action, actor, now_us=_now_us(clock), note=note,
                  department=department)  # fmt: skip
        assert shown()["status"] == "open", action
    handled_note = shown()["status_notes"]
    assert handled_note == "Verified"
    clock.advance(minutes=5)
    take_step(db, made, "close", MANAGER, now_us=_now_us(clock), note="done")
    closed = shown()
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Closed: done"
    assert closed["updated_datetime"] == "2026-12-03T08:30:00Z"
    assert closed["expected_datetime"] is None
    rejected = _post(client, keys["A"])
    take_step(db, rejected, "reject", MANAGER, now_us=_now_us(clock), note="Duplicate request.")
    answered = client.get(f"{V2}/requests/{rejected}.json", params={"api_key": keys["A"]})
    assert answered.json()[0]["status"] == "closed"
    assert answered.json()[0]["status_notes"] == "不予立案: Duplicate request."


def test_filters_ids_status_service_and_dates(
    client: TestClient, clock: Clock, keys: dict[str, str]
) -> None:
    clock.advance(days=1)
    first = _post(client, keys["A"], service_code="air_quality")
    between = (clock.now + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(hours=1)
    second = _post(client, keys["A"], service_code="air_quality")
    key = {"api_key": keys["A"]}

    def ids(**params: str) -> list[int]:
        answered = client.get(f"{V2}/requests.json", params={**key, **params})
        assert answered.status_code == 200, answered.text
        return [r["service_request_id"] for r in answered.json()]

    assert ids(service_code="air_quality") == [second, first]  # the newest first
    assert ids(service_request_id=f"{first},{second}") == [second, first]
    assert ids(service_request_id=str(first), status="closed") == [first]  # ids override
    assert first not in ids(status="closed") and first in ids(status="open,closed")
    assert ids(service_code="air_quality", start_date=between) == [second]
    assert ids(service_code="air_quality", end_date=between) == [first]
    clock.advance(days=91)
    assert first not in ids()  # the default span is the last 90 days
    assert ids(service_code="air_quality", start_date="2026-12-01") == [second, first]
    clock.advance(days=-91)
    for params, status in (({"status": "pending"}, 400), ({"service_code": "potholes"}, 404),
                           ({"start_date": "2026-01-01", "end_date": "2026-12-01"}, 400),
                           ({"jurisdiction_id": "city.gov"}, 404)):  # fmt: skip
        refused = client.get(f"{V2}/requests.xml", params={**key, **params})
        assert refused.status_code == status, params
        assert ET.fromstring(refused.content).tag == "errors"
    town = client.get(f"{V2}/requests.json", params={**key, "jurisdiction_id": TOWN_A})
    assert {r["service_request_id"] for r in town.json()} >= {first, second}


def test_a_key_sees_its_jurisdiction_and_anonymous_callers_the_public_list(
    app: FastAPI, client: TestClient, clock: Clock, keys: dict[str, str]
) -> None:
    in_a = _post(client, keys["A"])
    in_b = _post(client, keys["B"], "B")
    inspected = report_incident(auth_state_of(app).db, IncidentReport(
        category="road_damage", title="Pothole", description="seen on patrol",
        source="inspector", jurisdiction=TOWN_A,
    ), MANAGER, now_us=_now_us(clock)).id  # fmt: skip
    listed_for_a = client.get(f"{V2}/requests.json", params={"api_key": keys["A"]}).json()
    seen_by_a = {r["service_request_id"] for r in listed_for_a}
    assert in_a in seen_by_a and inspected in seen_by_a and in_b not in seen_by_a
    outside = client.get(f"{V2}/requests/{in_b}.json", params={"api_key": keys["A"]})
    missing = client.get(f"{V2}/requests/999999.json", params={"api_key": keys["A"]})
    assert (outside.status_code, missing.status_code) == (404, 404)
    assert outside.json()[0]["description"].replace(str(in_b), "N") == missing.json()[0][
        "description"
    ].replace("999999", "N")
    public = client.get(f"{V2}/requests.json")  # no key: the citizens' requests of the city
    assert public.status_code == 200
    listed = {r["service_request_id"] for r in public.json()}
    assert {in_a, in_b} <= listed and inspected not in listed
    assert client.get(f"{V2}/requests/{inspected}.json").status_code == 404
    for text in (public.text, client.get(f"{V2}/requests.xml").text):
        assert "li@example.cn" not in text and "13800000000" not in text
    user = signed_in(app, roles=("viewer",), jurisdiction=TOWN_B)
    by_user = client.get(f"{V2}/requests.json", headers=user).json()
    assert {r["service_request_id"] for r in by_user} >= {in_b}
    assert in_a not in {r["service_request_id"] for r in by_user}
    app.state.open311_public = False
    try:
        closed = client.get(f"{V2}/requests.json")
        assert closed.status_code == 403 and "api_key" in closed.json()[0]["description"]
        assert client.get(f"{V2}/requests.json", params={"api_key": keys["A"]}).status_code == 200
    finally:
        app.state.open311_public = None
    bad = client.get(f"{V2}/requests.json", params={"api_key": "ck_000000000000_" + "y" * 30})
    assert bad.status_code == 403


def test_notes_of_the_workflow_are_shown_to_keys_only(
    app: FastAPI, client: TestClient, clock: Clock, keys: dict[str, str]
) -> None:
    made = _post(client, keys["A"])
    take_step(auth_state_of(app).db, made, "reject", MANAGER, now_us=_now_us(clock),
              note="Reported by Wang at 13900000000 already")  # fmt: skip
    public = client.get(f"{V2}/requests/{made}.json", params={"lang": "en"}).json()[0]
    assert public["status_notes"] == "Not accepted"
    keyed = client.get(f"{V2}/requests/{made}.json",
                       params={"api_key": keys["A"], "lang": "en"}).json()[0]  # fmt: skip
    assert keyed["status_notes"].startswith("Not accepted: Reported by Wang")


def test_a_photo_is_the_media_url(client: TestClient, keys: dict[str, str]) -> None:
    lon, lat = lonlat("A")
    posted = client.post(f"{V2}/requests.json", data={
        "api_key": keys["A"], "service_code": "waterlogging", "lat": str(lat), "long": str(lon),
    }, files={"media": ("gate.png", png_bytes(), "image/png")})  # fmt: skip
    made = posted.json()[0]["service_request_id"]
    shown = client.get(f"{V2}/requests/{made}.json", params={"api_key": keys["A"]}).json()[0]
    assert shown["media_url"].startswith(f"http://testserver/api/incidents/{made}/attachments/")
    given = _post(client, keys["A"], media_url="https://photos.example.cn/1.jpg")
    shown = client.get(f"{V2}/requests/{given}.json", params={"api_key": keys["A"]}).json()[0]
    assert shown["media_url"] == "https://photos.example.cn/1.jpg"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(app: FastAPI) -> Iterator[str]:
    """The app on a free loopback port, as an Open311 client reaches it: its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{V2}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_plain_http_client_posts_form_data_and_reads_it_back(
    served: str, keys: dict[str, str]
) -> None:
    services = requests.get(f"{served}/services.json", timeout=10).json()
    code = next(s["service_code"] for s in services if s["metadata"])
    definition = requests.get(f"{served}/services/{code}.json", timeout=10).json()
    answers = {f"attribute[{a['code']}]": a["values"][0]["key"] if "values" in a else "x"
               for a in definition["attributes"]}  # fmt: skip
    lon, lat = lonlat("A")
    posted = requests.post(f"{served}/requests.json", timeout=10, data={
        "api_key": keys["A"], "service_code": code, "lat": lat, "long": lon,
        "first_name": "Li", "description": "Seen from the bus", **answers,
    })  # fmt: skip
    assert posted.status_code == 201, posted.text
    assert posted.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    made = posted.json()[0]["service_request_id"]
    read = requests.get(f"{served}/requests/{made}.xml", timeout=10)
    root = ET.fromstring(read.content)
    assert root.findtext("request/service_code") == code
    assert root.findtext("request/status") == "open"
    refused = requests.post(f"{served}/requests.xml", data={"service_code": code}, timeout=10)
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).findtext("error/code") == "403"


def test_xml_stays_well_formed_whatever_the_description_holds(
    client: TestClient, keys: dict[str, str]
) -> None:
    text = "<b>deep</b> & ]]> \x07bell \u2028积水"
    made = _post(client, keys["A"], description=text)
    xml = client.get(f"{V2}/requests/{made}.xml", params={"api_key": keys["A"]})
    request = ET.fromstring(xml.content).find("request")  # parses: well-formed
    assert request is not None
    assert request.findtext("description") == text.replace("\x07", "")
    json = client.get(f"{V2}/requests/{made}.json", params={"api_key": keys["A"]}).json()
    assert json[0]["description"] == text
