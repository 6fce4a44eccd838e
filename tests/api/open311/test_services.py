"""Open311 discovery, services and service definitions: the standard's structure and field
names (compared with its documented examples), XML and JSON, names in Chinese or English,
and errors in the standard's format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from simulation.incidents.codes import categories
from tests.api.open311 import wiki_examples as wiki
from tests.api.open311.shapes import json_shape, xml_shape

V2 = "/open311/v2"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder: Path = tmp_path_factory.mktemp("open311-services")
    return TestClient(create_app(folder, worker=False))  # no credentials: services are public


def test_the_service_list_has_the_fields_of_the_standards_example(client: TestClient) -> None:
    xml = client.get(f"{V2}/services.xml")
    assert xml.status_code == 200
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert xml_shape(xml.content) == xml_shape(wiki.SERVICES_XML)
    listed = client.get(f"{V2}/services.json")
    assert listed.headers["content-type"] == "application/json; charset=utf-8"
    assert json_shape(listed.json()) == json_shape(wiki.SERVICES_JSON)


def test_every_category_is_a_service_with_metadata_when_it_has_attributes(
    client: TestClient,
) -> None:
    services = client.get(f"{V2}/services.json", params={"lang": "en"}).json()
    assert [s["service_code"] for s in services] == list(categories())
    by_code = {s["service_code"]: s for s in services}
    assert by_code["road_damage"]["metadata"] is True  # it asks for the size
    assert by_code["air_quality"]["metadata"] is False
    assert by_code["waterlogging"]["service_name"] == "Waterlogging"
    assert by_code["waterlogging"]["type"] == "realtime"
    assert "flood" in by_code["waterlogging"]["keywords"].split(", ")
    assert "Water Affairs" in by_code["waterlogging"]["description"]
    root = ET.fromstring(client.get(f"{V2}/services.xml", params={"lang": "en"}).content)
    metadata = {s.findtext("service_code"): s.findtext("metadata") for s in root}
    assert metadata["road_damage"] == "true" and metadata["air_quality"] == "false"


@pytest.mark.parametrize(
    ("headers", "params", "name"),
    [
        ({}, {}, "积水内涝"),  # the city's language by default
        ({"Accept-Language": "en-GB,en;q=0.9"}, {}, "Waterlogging"),
        ({"Accept-Language": "fr, en;q=0.5, zh;q=0.8"}, {}, "积水内涝"),
        ({"Accept-Language": "zh-CN"}, {"lang": "en"}, "Waterlogging"),  # lang wins
    ],
)
def test_names_follow_lang_then_accept_language(
    client: TestClient, headers: dict[str, str], params: dict[str, str], name: str
) -> None:
    services = client.get(f"{V2}/services.json", headers=headers, params=params).json()
    assert services[0]["service_name"] == name


def test_a_service_definition_has_the_fields_of_the_standards_example(client: TestClient) -> None:
    xml = client.get(f"{V2}/services/road_damage.xml")
    assert xml.status_code == 200
    assert xml_shape(xml.content) == xml_shape(wiki.SERVICE_DEFINITION_XML)
    definition = client.get(f"{V2}/services/road_damage.json").json()
    assert json_shape(definition) == json_shape(wiki.SERVICE_DEFINITION_JSON)
    size = definition["attributes"][0]
    assert (size["code"], size["datatype"], size["required"], size["order"]) == (
        "size", "singlevaluelist", True, 1,
    )  # fmt: skip
    assert [v["key"] for v in size["values"]] == ["small", "large"]


def test_a_string_attribute_has_no_values(client: TestClient) -> None:
    definition = client.get(f"{V2}/services/structural_safety.json").json()
    (structure,) = definition["attributes"]
    assert structure["datatype"] == "string" and "values" not in structure
    empty = client.get(f"{V2}/services/air_quality.xml")
    assert ET.fromstring(empty.content).find("attributes") is not None


def test_discovery_names_this_endpoint_and_its_formats(client: TestClient) -> None:
    xml = client.get(f"{V2}/discovery.xml")
    assert xml_shape(xml.content) == xml_shape(wiki.DISCOVERY_XML)
    document = client.get(f"{V2}/discovery.json").json()
    (endpoint,) = document["endpoints"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]


def test_errors_have_the_standards_format_and_status(client: TestClient) -> None:
    missing = client.get(f"{V2}/services/potholes.json")
    assert missing.status_code == 404
    assert json_shape(missing.json()) == json_shape(wiki.ERRORS_JSON)
    assert missing.json()[0]["code"] == 404
    assert "potholes" in missing.json()[0]["description"]
    as_xml = client.get(f"{V2}/services/potholes.xml")
    assert as_xml.status_code == 404
    assert as_xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml_shape(as_xml.content) == xml_shape(wiki.ERRORS_XML)
    assert ET.fromstring(as_xml.content).findtext("error/code") == "404"
    bad_format = client.get(f"{V2}/services.csv")
    assert bad_format.status_code == 400 and "csv" in bad_format.json()[0]["description"]
    bad_lang = client.get(f"{V2}/services.xml", params={"lang": "fr"})
    assert bad_lang.status_code == 400
    assert "fr" in ET.fromstring(bad_lang.content).findtext("error/description", "")
