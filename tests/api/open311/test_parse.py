"""Reading what Open311 clients send: the fields of a report (the standard's example
request among them), attributes checked against the service's definition, and the filters
of GET requests."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

import pytest

from api.errors import Open311RequestError
from api.open311.parse import checked_attributes, report_form, requests_query
from api.open311.times import parse_w3c, w3c_time
from simulation.incidents.codes import Category, category
from tests.api.open311.wiki_examples import POST_BODY

NOW = parse_w3c("2026-12-03T08:00:00Z", "now")
DAY = 86_400 * 1_000_000


def test_the_standards_example_request_is_read() -> None:
    form = report_form(parse_qsl(POST_BODY))
    assert form.service_code == "001"
    assert (form.lat, form.long) == (37.76524078, -122.4212043)
    assert form.address_string == "1234 5th street"
    assert form.description == "A large sinkhole is destroying the street"
    assert form.media_url == "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg"
    assert form.contact == {"email": "smit333@sfgov.edu", "first_name": "john",
                            "last_name": "smith", "phone": "111111111", "device_id": "tt222111",
                            "account_id": "123456"}  # fmt: skip
    assert form.attributes == {"WHISPAWN": ["123456"], "WHISDORN": ["COISL001"]}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("lat", "23.1"), ("long", "113.3")], "service_code was not provided"),
        ([("service_code", "road_damage")], "a location was not provided"),
        ([("service_code", "x"), ("lat", "23.1")], "lat and long must both be sent"),
        ([("service_code", "x"), ("lat", "93"), ("long", "113")], "not a latitude"),
        ([("service_code", "x"), ("lat", "nan"), ("long", "113")], "not a number"),
        ([("service_code", "x"), ("address_id", "1"), ("media_url", "javascript:alert(1)")],
         "not an http(s) URL"),
        ([("service_code", "x"), ("address_id", "1"), ("description", "d" * 4001)],
         "longer than 4000"),
        ([("service_code", "x"), ("service_code", "y"), ("address_id", "1")], "more than once"),
    ],
)  # fmt: skip
def test_a_report_without_what_the_standard_requires_is_refused(
    fields: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(Open311RequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        report_form(fields)


def test_empty_fields_count_as_not_sent_and_an_address_is_a_location() -> None:
    form = report_form([("service_code", "air_quality"), ("lat", ""), ("long", " "),
                        ("address_string", "Tianhe Road 1"), ("email", "")])  # fmt: skip
    assert form.lat is None and form.address_string == "Tianhe Road 1" and form.contact == {}


def test_multivaluelist_values_come_as_repeated_fields() -> None:
    form = report_form([("service_code", "x"), ("address_id", "9"),
                        ("attribute[kinds][]", "a"), ("attribute[kinds][]", "b")])  # fmt: skip
    assert form.attributes == {"kinds": ["a", "b"]}


def test_attributes_are_checked_against_the_definition() -> None:
    road = category("road_damage")
    assert checked_attributes(road, {"size": ["large"]}) == {"size": "large"}
    with pytest.raises(Open311RequestError, match=r"attribute\[size\] is required"):
        checked_attributes(road, {})
    with pytest.raises(Open311RequestError, match="'huge' is not one of its keys: small, large"):
        checked_attributes(road, {"size": ["huge"]})
    with pytest.raises(Open311RequestError, match="takes one value"):
        checked_attributes(road, {"size": ["small", "large"]})
    with pytest.raises(Open311RequestError, match="has no attribute 'colour'"):
        checked_attributes(road, {"size": ["small"], "colour": ["red"]})
    water = category("waterlogging")
    assert checked_attributes(water, {}) == {}  # depth is optional
    structure = category("structural_safety")
    with pytest.raises(Open311RequestError, match="no line breaks"):
        checked_attributes(structure, {"structure": ["bridge\nno 3"]})


def test_requests_default_to_the_last_90_days() -> None:
    query = requests_query({}, NOW)
    assert (query.start_us, query.end_us) == (NOW - 90 * DAY, NOW)
    assert query.ids is None and query.statuses is None and query.workflow_statuses is None


def test_request_filters_are_comma_lists() -> None:
    query = requests_query({"service_request_id": ["3,1", "2"], "status": ["open"],
                            "service_code": ["road_damage,waterlogging"]}, NOW)  # fmt: skip
    assert query.ids == (3, 1, 2)
    assert query.service_codes == ("road_damage", "waterlogging")
    assert query.workflow_statuses is not None
    assert "handling" in query.workflow_statuses and "closed" not in query.workflow_statuses
    closed = requests_query({"status": ["closed"]}, NOW).workflow_statuses
    assert closed == ("not_accepted", "closed")


def test_dates_are_w3c_with_a_zone_within_90_days() -> None:
    start = "2026-11-01T00:00:00+08:00"
    query = requests_query({"start_date": [start]}, NOW)
    assert query.start_us == parse_w3c("2026-10-31T16:00:00Z", "x") and query.end_us == NOW
    ended = requests_query({"end_date": ["2026-06-01"]}, NOW)
    assert ended.end_us - ended.start_us == 90 * DAY
    assert w3c_time(ended.end_us) == "2026-06-01T00:00:00Z"
    for params, message in (
        ({"start_date": ["2026-11-01T00:00:00"]}, "no time zone"),
        ({"start_date": ["yesterday"]}, "not a W3C date-time"),
        ({"start_date": ["2026-01-01"], "end_date": ["2026-12-01"]}, "more than 90 days"),
        ({"start_date": ["2026-12-01"], "end_date": ["2026-11-01"]}, "before start_date"),
        ({"status": ["pending"]}, "not open or closed"),
        ({"service_request_id": ["12a"]}, "not a request id"),
    ):
        with pytest.raises(Open311RequestError, match=message):
            requests_query(params, NOW)


def _category_asking(*attributes: dict[str, object]) -> Category:
    """A category whose service definition asks ``attributes``."""
    return replace(category("air_quality"), attributes=attributes)


def test_every_datatype_of_the_standard_is_checked() -> None:
    kinds = {
        "code": "kinds",
        "datatype": "multivaluelist",
        "required": True,
        "values": [{"key": "smoke", "name": "Smoke"}, {"key": "dust", "name": "Dust"}],
    }
    asked = _category_asking(
        kinds,
        {"code": "level", "datatype": "number", "required": False},
        {"code": "seen", "datatype": "datetime", "required": False},
        {"code": "story", "datatype": "text", "required": False},
    )  # fmt: skip
    given = {"kinds": ["smoke", "dust"], "level": ["3.5"], "seen": ["2026-12-03T07:30:00+08:00"],
             "story": ["first line\nsecond line"]}  # fmt: skip
    assert checked_attributes(asked, given) == {"kinds": ["smoke", "dust"], "level": "3.5",
                                                "seen": "2026-12-03T07:30:00+08:00",
                                                "story": "first line\nsecond line"}  # fmt: skip
    for wrong, message in (({"kinds": ["smoke", "fog"]}, "'fog' is not one of its keys"),
                           ({"kinds": ["dust"], "level": ["high"]}, "not a number"),
                           ({"kinds": ["dust"], "seen": ["dawn"]}, "not an ISO 8601 date"),
                           ({}, r"attribute\[kinds\] is required")):  # fmt: skip
        with pytest.raises(Open311RequestError, match=message):
            checked_attributes(asked, wrong)
