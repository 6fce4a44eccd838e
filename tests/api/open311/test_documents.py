"""Open311 documents: XML made by the standard library is well-formed whatever the text
holds, lists are named after their items, JSON keeps nulls."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import orjson

from api.open311.documents import answer, xml_document


def test_text_that_xml_cannot_hold_is_left_out_and_markup_is_escaped() -> None:
    value = [{"description": "<b>pothole</b> & \x00crack\x1b\u3000积水", "lat": 23.1, "ok": True}]
    document = xml_document("service_requests", value)
    root = ET.fromstring(document)  # well-formed
    request = root.find("request")
    assert request is not None
    assert request.findtext("description") == "<b>pothole</b> & crack\u3000积水"
    assert request.findtext("lat") == "23.1" and request.findtext("ok") == "true"


def test_none_is_an_empty_element_and_lists_name_their_items() -> None:
    value = {"service_code": "x", "attributes": [{"values": [{"key": "a"}]}], "none": None}
    root = ET.fromstring(xml_document("service_definition", value))
    assert root.find("none") is not None and root.findtext("none") == ""
    assert root.findtext("attributes/attribute/values/value/key") == "a"


def test_json_answers_keep_nulls_and_xml_declares_utf8() -> None:
    json = answer("json", "service_requests", [{"account_id": None}])
    assert orjson.loads(json.body) == [{"account_id": None}]
    xml = answer("xml", "service_requests", [{"account_id": None}], status_code=201)
    assert xml.status_code == 201
    assert bytes(xml.body).startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<service_requests>')
