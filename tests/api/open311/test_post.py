"""POST requests as Open311 clients send it: form-encoded (the standard's example among
them) or multipart with a photo, an ``api_key`` of the city that may report, the request
landing in the smallest jurisdiction of its point; every refusal in the standard's error
format with nothing stored."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.auth.state import auth_state_of
from api.events import Event, event_hub_of
from api.settings import get_settings
from cim.ops.incident_tables import Incident, IncidentAttachment
from cim.scope import Scope
from simulation.incidents.incidents import get_incident, incident_history
from tests.api.open311 import wiki_examples as wiki
from tests.api.open311.city import PDF, V2, Clock, api_key, lonlat, open311_app, png_bytes
from tests.api.open311.shapes import json_shape, xml_shape
from tests.scoped_city import TOWN_A, TOWN_B, ScopedCity, build_scoped_city
from tests.signin import signed_in

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("open311-post") / "city")


@pytest.fixture(scope="module")
def app(city: ScopedCity) -> FastAPI:
    return open311_app(city, Clock())


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def key_a(app: FastAPI) -> str:
    return api_key(app, TOWN_A)


def _stored(app: FastAPI) -> tuple[int, int]:
    """How many incidents and attachments the city holds."""
    with auth_state_of(app).db.transaction() as session:
        incidents = session.scalar(select(func.count()).select_from(Incident))
        attachments = session.scalar(select(func.count()).select_from(IncidentAttachment))
    return int(incidents or 0), int(attachments or 0)


def _report(key: str, **fields: str) -> dict[str, str]:
    lon, lat = lonlat("A")
    return {"api_key": key, "service_code": "waterlogging", "lat": str(lat), "long": str(lon),
            "description": "Water over the road at the school gate", **fields}  # fmt: skip


def test_a_form_encoded_request_becomes_a_citizens_incident(
    app: FastAPI, client: TestClient, key_a: str
) -> None:
    fields = _report(key_a, email="li@example.cn", first_name="Li", last_name="Hua",
                     phone="13800000000", account_id="citizen-7", device_id="dev-1",
                     address_string="1 School Road", **{"attribute[depth]": "knee"})  # fmt: skip
    answered = client.post(f"{V2}/requests.json", content=urlencode(fields), headers=FORM)
    assert answered.status_code == 201, answered.text
    assert json_shape(answered.json()) == json_shape(wiki.POST_RESPONSE_JSON)
    (created,) = answered.json()
    assert created["account_id"] == "citizen-7"
    assert "Water Affairs" in created["service_notice"] or "水务局" in created["service_notice"]
    record = get_incident(auth_state_of(app).db, created["service_request_id"], Scope.everything())
    assert (record.category, record.source, record.status) == (
        "waterlogging",
        "citizen",
        "reported",
    )
    assert record.jurisdiction == TOWN_A  # the smallest node holding the point
    assert record.contact == {"email": "li@example.cn", "first_name": "Li", "last_name": "Hua",
                              "phone": "13800000000", "device_id": "dev-1",
                              "account_id": "citizen-7"}  # fmt: skip
    assert record.attributes == {"depth": "knee"}
    assert record.address == "1 School Road"
    assert record.reporter.startswith("key:")
    assert record.title.endswith("1 School Road")


def test_the_answer_in_xml_has_the_standards_shape(client: TestClient, key_a: str) -> None:
    answered = client.post(f"{V2}/requests.xml", data=_report(key_a))
    assert answered.status_code == 201
    assert answered.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml_shape(answered.content) == xml_shape(wiki.POST_RESPONSE_XML)
    root = ET.fromstring(answered.content)
    assert root.findtext("request/service_request_id", "").isdigit()
    assert root.findtext("request/account_id") == ""  # <account_id/>, as in the example


def test_the_standards_example_request_is_answered_as_the_standard_says(
    app: FastAPI, client: TestClient, key_a: str
) -> None:
    before = _stored(app)
    example = dict(parse_qsl(wiki.POST_BODY))
    unknown = client.post(f"{V2}/requests.xml", data={**example, "api_key": key_a})
    assert unknown.status_code == 404  # service_code 001 is not one of this city's
    assert "001" in ET.fromstring(unknown.content).findtext("error/description", "")
    ours = {**example, "api_key": key_a, "service_code": "air_quality"}
    attributes = client.post(f"{V2}/requests.json", data=ours)
    assert attributes.status_code == 400
    assert "no attribute 'WHISDORN'" in attributes.json()[0]["description"]
    ours = {k: v for k, v in ours.items() if not k.startswith("attribute[")}
    outside = client.post(f"{V2}/requests.json", data=ours)  # San Francisco
    assert outside.status_code == 400
    assert "outside every jurisdiction" in outside.json()[0]["description"]
    assert _stored(app) == before
    lon, lat = lonlat("A")
    made = client.post(f"{V2}/requests.json", data={**ours, "lat": str(lat), "long": str(lon)})
    assert made.status_code == 201
    record = get_incident(auth_state_of(app).db, made.json()[0]["service_request_id"],
                          Scope.everything())  # fmt: skip
    assert record.attributes == {"media_url": example["media_url"]}
    assert record.address == "1234 5th street"


def test_an_address_alone_is_a_location_in_the_keys_jurisdiction(
    app: FastAPI, client: TestClient
) -> None:
    key_b = api_key(app, TOWN_B)
    made = client.post(
        f"{V2}/requests.json",
        data={
            "api_key": key_b,
            "service_code": "exposed_garbage",
            "address_string": "Pearl Road B",
            "address_id": "B-17",
        },
    )
    assert made.status_code == 201, made.text
    record = get_incident(auth_state_of(app).db, made.json()[0]["service_request_id"],
                          Scope.everything())  # fmt: skip
    assert (record.jurisdiction, record.lon, record.attributes) == (
        TOWN_B, None, {"address_id": "B-17"},
    )  # fmt: skip


def test_a_photo_comes_as_media_and_is_checked_by_its_bytes(
    app: FastAPI, client: TestClient, key_a: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = {"media": ("gate.jpg", png_bytes(), "application/octet-stream")}
    made = client.post(f"{V2}/requests.json", data=_report(key_a), files=photo)
    assert made.status_code == 201, made.text
    incident_id = made.json()[0]["service_request_id"]
    (step,) = incident_history(auth_state_of(app).db, incident_id, Scope.everything())
    (stored,) = step.attachments
    assert (stored.filename, stored.media_type) == ("gate.jpg", "image/png")
    before = _stored(app)
    pdf = client.post(f"{V2}/requests.json", data=_report(key_a),
                      files={"media": ("photo.jpg", PDF, "image/jpeg")})  # fmt: skip
    assert pdf.status_code == 400
    assert "a PDF document" in pdf.json()[0]["description"]
    monkeypatch.setattr(get_settings(), "max_photo_mb", 0.0001)  # about 100 bytes
    padded = png_bytes() + b"\x00" * 200
    big = client.post(f"{V2}/requests.json", data=_report(key_a),
                      files={"media": ("big.png", padded, "image/png")})  # fmt: skip
    assert big.status_code == 400 and "at most" in big.json()[0]["description"]
    other = client.post(f"{V2}/requests.json", data=_report(key_a),
                        files={"photo": ("a.png", png_bytes(), "image/png")})  # fmt: skip
    assert other.status_code == 400 and "media" in other.json()[0]["description"]
    assert _stored(app) == before


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"api_key": None}, 403, "api_key was not provided"),
        ({"api_key": "ck_000000000000_" + "x" * 32}, 403, "invalid api_key"),
        ({"api_key": "xyz"}, 403, "invalid api_key"),
        ({"service_code": None}, 400, "service_code was not provided"),
        ({"service_code": "potholes"}, 404, "service_code 'potholes' was not found"),
        ({"lat": None, "long": None}, 400, "a location was not provided"),
        ({"long": None}, 400, "lat and long must both be sent"),
        ({"service_code": "road_damage"}, 400, "attribute[size] is required"),
        ({"service_code": "road_damage", "attribute[size]": "huge"}, 400, "not one of its keys"),
        ({"description": "x" * 4001}, 400, "longer than 4000"),
    ],
)
def test_refusals_name_the_problem_with_the_standards_status(
    app: FastAPI,
    client: TestClient,
    key_a: str,
    change: dict[str, str | None],
    status: int,
    message: str,
) -> None:
    before = _stored(app)
    fields = {k: v for k, v in {**_report(key_a), **change}.items() if v is not None}
    for fmt in ("json", "xml"):
        refused = client.post(f"{V2}/requests.{fmt}", data=fields)
        assert refused.status_code == status, refused.text
        if fmt == "json":
            ((error),) = refused.json()
            assert error["code"] == status and message in error["description"]
        else:
            root = ET.fromstring(refused.content)
            assert root.tag == "errors" and root.findtext("error/code") == str(status)
            assert message in root.findtext("error/description", "")
    assert _stored(app) == before


def test_a_key_reports_only_inside_its_jurisdiction_and_with_the_report_action(
    app: FastAPI, client: TestClient, key_a: str
) -> None:
    before = _stored(app)
    lon, lat = lonlat("B")
    elsewhere = client.post(f"{V2}/requests.json",
                            data=_report(key_a, lat=str(lat), long=str(lon)))  # fmt: skip
    assert elsewhere.status_code == 403
    assert TOWN_B in elsewhere.json()[0]["description"]
    observer = api_key(app, TOWN_A, actions=("observe",))
    refused = client.post(f"{V2}/requests.json", data=_report(observer))
    assert refused.status_code == 403 and "may not report" in refused.json()[0]["description"]
    header = client.post(f"{V2}/requests.json", data={k: v for k, v in _report(key_a).items()
                                                       if k != "api_key"},
                         headers={"X-API-Key": key_a})  # fmt: skip
    assert header.status_code == 201  # the platform's header works too
    assert _stored(app)[0] == before[0] + 1


def test_a_report_is_published_as_an_incident_event_without_the_contact(
    app: FastAPI, client: TestClient, key_a: str
) -> None:
    events: list[Event] = []
    event_hub_of(app).add_listener(events.append)
    try:
        made = client.post(f"{V2}/requests.json", data=_report(key_a, email="li@example.cn"))
    finally:
        event_hub_of(app).remove_listener(events.append)
    (event,) = [e for e in events if e.kind == "incident"]
    assert event.jurisdiction == TOWN_A
    assert event.data["id"] == made.json()[0]["service_request_id"]
    assert (event.data["change"], event.data["source"]) == ("report", "citizen")
    assert "li@example.cn" not in str(event.data)


def test_a_photo_may_be_larger_than_other_bodies(
    city: ScopedCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "max_body_mb", 0.001)  # about 1 KB
    monkeypatch.setattr(get_settings(), "max_photo_mb", 0.01)  # about 10 KB
    app = open311_app(city, Clock())
    key = api_key(app, TOWN_A)
    photo = png_bytes() + b"\x00" * 5_000
    with TestClient(app) as client:
        made = client.post(f"{V2}/requests.json", data=_report(key),
                           files={"media": ("gate.png", photo, "image/png")})  # fmt: skip
        assert made.status_code == 201, made.text
        other = client.post("/api/objects/query", json={"padding": "x" * 5_000})
        assert other.status_code == 413


def test_a_signed_in_operator_may_post_and_a_viewer_may_not(
    app: FastAPI, client: TestClient, key_a: str
) -> None:
    fields = {k: v for k, v in _report(key_a).items() if k != "api_key"}
    operator = signed_in(app, roles=("operator",), jurisdiction=TOWN_A, department="water")
    made = client.post(f"{V2}/requests.json", data=fields, headers=operator)
    assert made.status_code == 201, made.text
    (step,) = incident_history(auth_state_of(app).db, made.json()[0]["service_request_id"],
                               Scope.everything())  # fmt: skip
    assert (step.actor_kind, step.department) == ("user", "water")
    viewer = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    refused = client.post(f"{V2}/requests.json", data=fields, headers=viewer)
    assert refused.status_code == 403 and "may not report" in refused.json()[0]["description"]
