"""Conformance of the read side of SensorThings API 1.1, after the OGC test suite's classes
"sensing core" (entities, their control information, resource paths) and "filtering"
(``$select $expand $top $skip $orderby $count $filter``, paging, status codes), and the
data array extension's read. Each test cites the requirement of OGC 18-088 it checks.

Run on SQLite and on PostgreSQL over the two towns of :mod:`tests.api.sta.readdata`, as the
province admin (who sees both towns).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.sta import options
from simulation.sensors.entities import ENTITY_TYPES, entity_type
from tests.api.sta import readdata
from tests.api.sta.readdata import AIR_OBSERVATIONS, StaApp

sta = readdata.sta  # the fixture
ROOT = "http://testserver/sta/v1.1"
ALL_OBSERVATIONS = AIR_OBSERVATIONS + 3 + 2 + readdata.RIVER_OBSERVATIONS
SEEN = {"Things": 3, "Locations": 2, "HistoricalLocations": 1, "Sensors": 2,
        "ObservedProperties": 3, "Datastreams": 4, "Observations": ALL_OBSERVATIONS,
        "FeaturesOfInterest": 2}  # fmt: skip


def _get(client: TestClient, path: str, **params: Any) -> Any:
    url = path if path.startswith("http") else f"{ROOT}/{path}"
    response = client.get(url, params=params) if params else client.get(url)
    assert response.status_code == 200, (url, params, response.text)
    return response.json()


def _error(client: TestClient, path: str, status: int, **params: Any) -> str:
    response = client.get(f"{ROOT}/{path}", params=params)
    assert response.status_code == status, (path, params, response.text)
    detail: str = response.json()["detail"]
    return detail


def _ids(body: dict[str, Any]) -> list[int]:
    return [entity["@iot.id"] for entity in body["value"]]


# --- sensing core ---------------------------------------------------------------------


def test_the_service_root_lists_every_entity_set_and_the_conformance(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (the service root: each entity set's name and URL; serverSettings' conformance list)."""
    root = _get(sta.admin, "")
    assert {item["name"]: item["url"] for item in root["value"]} == {
        e.plural: f"{ROOT}/{e.plural}" for e in ENTITY_TYPES
    }
    conformance = root["serverSettings"]["conformance"]
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data" in conformance
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array" in conformance
    assert sta.admin.get(f"{ROOT}/").json() == root


def test_the_service_root_lists_mqtt_when_the_app_has_a_broker(
    sta: StaApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation
    (the MQTT classes and their endpoints in serverSettings, only with a broker)."""
    mqtt = (
        "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates"
    )
    assert mqtt not in _get(sta.admin, "")["serverSettings"]["conformance"]
    monkeypatch.setattr(sta.app.state, "mqtt_endpoints", ["mqtt://127.0.0.1:1883"], raising=False)
    settings = _get(sta.admin, "")["serverSettings"]
    assert mqtt in settings["conformance"]
    assert settings[mqtt] == {"endpoints": ["mqtt://127.0.0.1:1883"]}


@pytest.mark.parametrize("plural", [e.plural for e in ENTITY_TYPES])
def test_each_entity_set_gives_its_entities_with_properties_and_links(
    sta: StaApp, plural: str
) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel/entity-control-information/common-control-information,
    http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel/thing/properties (and the
    properties and relations requirements of every other entity type)."""
    etype = entity_type(plural)
    body = _get(sta.admin, plural)
    assert len(body["value"]) == SEEN[plural]
    for entity in body["value"]:
        self_link = f"{ROOT}/{plural}({entity['@iot.id']})"
        assert entity["@iot.selfLink"] == self_link
        for found in etype.fields:
            assert found.name in entity, (plural, found.name)
        for link in etype.links:
            assert entity[f"{link.name}@iot.navigationLink"] == f"{self_link}/{link.name}"
        assert _get(sta.admin, self_link) == entity


def test_an_entity_is_read_by_its_id(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (``Things(1)``), http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel/observation/properties."""
    thing = _get(sta.admin, "Things(1)")
    assert thing["name"] == "Weather station"
    assert thing["properties"] == {"cityObject": "A-bldg", "owner": "Tianhe"}
    observation = _get(sta.admin, "Observations(201)")
    assert observation["phenomenonTime"] == "2026-12-03T08:01:00Z/2026-12-03T08:02:00Z"
    assert observation["validTime"] == "2026-12-03T08:00:00Z/2026-12-03T08:03:00Z"
    assert observation["result"] is False
    assert observation["resultQuality"] == {"flag": "checked"}
    assert _get(sta.admin, "Observations(100)")["result"] == "running"
    assert _get(sta.admin, "Observations(200)")["result"] == {"open": True}
    assert _get(sta.admin, "Observations(1)")["result"] == 20
    assert _get(sta.admin, "Observations(2)")["result"] == 20.5
    stream = _get(sta.admin, "Datastreams(1)")
    assert stream["phenomenonTime"] == "2026-12-03T08:00:00Z/2026-12-03T08:11:00Z"
    assert stream["unitOfMeasurement"]["symbol"] == "degC"
    assert _get(sta.admin, "Locations(1)")["location"]["type"] == "Point"
    assert _get(sta.admin, "HistoricalLocations(1)")["time"] == "2026-12-03T07:00:00Z"


def test_a_missing_entity_is_not_found(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/status-code"""
    assert "Things(99)" in _error(sta.admin, "Things(99)", 404)
    assert "Things(99)" in _error(sta.admin, "Things(99)/Datastreams", 404)
    assert "Datastreams(99)" in _error(sta.admin, "Datastreams(99)/Thing", 404)
    _error(sta.admin, "Things(99)/name", 404)
    _error(sta.admin, "Things(99)/Datastreams/$ref", 404)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Things(1)/Datastreams", [1]),
        ("Things(2)/Datastreams", [2, 3]),
        ("Things(1)/Locations", [1, 2]),
        ("Things(1)/HistoricalLocations", [1]),
        ("Locations(1)/Things", [1]),
        ("Locations(1)/HistoricalLocations", [1]),
        ("HistoricalLocations(1)/Locations", [1]),
        ("Sensors(1)/Datastreams", [1, 2, 3]),
        ("ObservedProperties(2)/Datastreams", [2, 3]),
        ("Datastreams(3)/Observations", [200, 201]),
        ("FeaturesOfInterest(2)/Observations", [300, 301, 302, 303, 304]),
        ("Things(2)/Datastreams(3)/Observations", [200, 201]),
    ],
)
def test_navigation_to_a_collection(sta: StaApp, path: str, expected: list[int]) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (``Things(1)/Datastreams``, a navigation property to many)."""
    assert _ids(_get(sta.admin, path)) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Datastreams(1)/Thing", "Things(1)"),
        ("Datastreams(4)/Sensor", "Sensors(2)"),
        ("Datastreams(2)/ObservedProperty", "ObservedProperties(2)"),
        ("Observations(300)/Datastream", "Datastreams(4)"),
        ("Observations(1)/FeatureOfInterest", "FeaturesOfInterest(1)"),
        ("HistoricalLocations(1)/Thing", "Things(1)"),
        ("Observations(300)/Datastream/Thing", "Things(3)"),
        ("Things(2)/Datastreams(3)", "Datastreams(3)"),
    ],
)
def test_navigation_to_one_entity(sta: StaApp, path: str, expected: str) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (``Datastreams(1)/Thing``: the entity, as read by its own id)."""
    assert _get(sta.admin, path) == _get(sta.admin, expected)


def test_navigation_links_lead_where_they_say(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel/datastream/relations (and the
    relations of the other types): every navigation link of an entity answers."""
    for etype in ENTITY_TYPES:
        entity = _get(sta.admin, etype.plural)["value"][0]
        for link in etype.links:
            target = _get(sta.admin, entity[f"{link.name}@iot.navigationLink"])
            assert ("value" in target) == link.many, (etype.name, link.name)


def test_a_navigation_to_an_entity_that_is_not_linked_is_not_found(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/status-code"""
    assert "Things(1)/Datastreams(3)" in _error(sta.admin, "Things(1)/Datastreams(3)", 404)


def test_a_property_and_its_raw_value(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (``Things(1)/name`` and ``Things(1)/name/$value``)."""
    assert _get(sta.admin, "Things(1)/name") == {"name": "Weather station"}
    assert _get(sta.admin, "Things(1)/id") == {"@iot.id": 1}
    assert _get(sta.admin, "Datastreams(1)/Thing/name") == {"name": "Weather station"}
    raw = sta.admin.get(f"{ROOT}/Things(1)/name/$value")
    assert (raw.status_code, raw.text) == (200, "Weather station")
    assert raw.headers["content-type"].startswith("text/plain")
    document = sta.admin.get(f"{ROOT}/Things(1)/properties/$value")
    assert document.json() == {"cityObject": "A-bldg", "owner": "Tianhe"}
    assert sta.admin.get(f"{ROOT}/Observations(1)/result/$value").text == "20"
    assert sta.admin.get(f"{ROOT}/Things(2)/properties/$value").status_code == 204
    assert _get(sta.admin, "Observations(1)/phenomenonTime") == {
        "phenomenonTime": "2026-12-03T08:00:00Z"
    }


def test_references_give_self_links_only(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities
    (``$ref``: the self links of a collection or of one entity)."""
    refs = _get(sta.admin, "Things(2)/Datastreams/$ref")
    assert refs == {
        "value": [{"@iot.selfLink": f"{ROOT}/Datastreams(2)"},
                  {"@iot.selfLink": f"{ROOT}/Datastreams(3)"}]
    }  # fmt: skip
    assert _get(sta.admin, "Datastreams(1)/Thing/$ref") == {"@iot.selfLink": f"{ROOT}/Things(1)"}
    paged = _get(sta.admin, "Observations/$ref", **{"$top": 2, "$count": "true"})
    assert paged["@iot.count"] == ALL_OBSERVATIONS and len(paged["value"]) == 2
    assert paged["@iot.nextLink"].startswith(f"{ROOT}/Observations/$ref?")
    following = _get(sta.admin, paged["@iot.nextLink"])
    assert set(following["value"][0]) == {"@iot.selfLink"}
    assert following["value"][0] not in paged["value"]


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("Thingz", 404, "Thingz"),
        ("Things(1)/Datastreamz", 404, "Datastreamz"),
        ("Things(1)/colour", 404, "colour"),
        ("Things(abc)", 400, "Things(abc)"),
        ("Things('1')", 400, "Things('1')"),
        ("Things(-1)", 400, "Things(-1)"),
        ("Things/Datastreams", 400, "Things"),
        ("Datastreams(1)/Thing(1)", 400, "Thing"),
        ("Things(1)/name/colour", 400, "colour"),
        ("Things(1)/$ref/Datastreams", 400, "$ref"),
        ("Things(1)/Datastreams/name", 400, "Datastreams"),
        ("Things(1)/$value", 404, "$value"),
    ],
)
def test_a_bad_path_is_refused_with_its_reason(
    sta: StaApp, path: str, status: int, named: str
) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/status-code"""
    assert named in _error(sta.admin, path, status)


def test_reading_needs_a_signed_in_caller(sta: StaApp) -> None:
    """Reading is limited to signed-in callers (this server's access rule)."""
    anonymous = TestClient(sta.app)
    assert anonymous.get(f"{ROOT}/Things").status_code == 401
    assert anonymous.get(ROOT).status_code == 401


# --- filtering: query options ---------------------------------------------------------


def test_select_gives_only_the_selected_properties(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/select"""
    names = _get(sta.admin, "Things", **{"$select": "name"})["value"]
    assert names == [{"name": "Weather station"}, {"name": "Pump house"}, {"name": "River gauge"}]
    with_id = _get(sta.admin, "Things(1)", **{"$select": "id,description"})
    assert with_id == {"@iot.id": 1, "@iot.selfLink": f"{ROOT}/Things(1)",
                       "description": "On the roof of the hall"}  # fmt: skip
    link = _get(sta.admin, "Things(1)", **{"$select": "Datastreams"})
    assert link == {"Datastreams@iot.navigationLink": f"{ROOT}/Things(1)/Datastreams"}
    results = _get(sta.admin, "Datastreams(1)/Observations", **{"$select": "result", "$top": 2})
    assert results["value"] == [{"result": 20}, {"result": 20.5}]
    assert "$select" in _error(sta.admin, "Things", 400, **{"$select": "name,colour"})


def test_expand_puts_linked_entities_inline(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/expand"""
    thing = _get(sta.admin, "Things(2)", **{"$expand": "Datastreams"})
    assert thing["Datastreams"] == _get(sta.admin, "Things(2)/Datastreams")["value"]
    assert thing["Datastreams@iot.navigationLink"] == f"{ROOT}/Things(2)/Datastreams"
    observations = _get(sta.admin, "Observations", **{"$expand": "Datastream,FeatureOfInterest"})
    for observation in observations["value"]:
        own = _get(sta.admin, f"Observations({observation['@iot.id']})/Datastream")
        assert observation["Datastream"] == own
        assert observation["FeatureOfInterest"]["@iot.id"] in (1, 2)
    located = _get(sta.admin, "Locations", **{"$expand": "Things,HistoricalLocations"})
    assert [[t["@iot.id"] for t in loc["Things"]] for loc in located["value"]] == [[1], [1, 3]]
    assert [len(loc["HistoricalLocations"]) for loc in located["value"]] == [1, 0]


def test_expand_nests_with_options_of_its_own(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/expand (nested
    ``$expand`` with ``$select``, ``$top``, ``$orderby``, ``$count`` in parentheses)."""
    observations = "Observations($top=5;$orderby=phenomenonTime desc;$count=true)"
    expand = f"Datastreams($select=name;$expand={observations})"
    thing = _get(sta.admin, "Things(1)", **{"$expand": expand})
    (stream,) = thing["Datastreams"]
    assert set(stream) == {"name", "Observations", "Observations@iot.count",
                           "Observations@iot.nextLink"}  # fmt: skip
    assert stream["Observations@iot.count"] == AIR_OBSERVATIONS
    times = [o["phenomenonTime"] for o in stream["Observations"]]
    assert times == sorted(times, reverse=True) and len(times) == 5
    assert times[0] == "2026-12-03T08:11:00Z"
    rest = _get(sta.admin, stream["Observations@iot.nextLink"])
    assert rest["value"][0]["phenomenonTime"] == "2026-12-03T08:06:00Z"
    path_form = _get(sta.admin, "Things", **{"$expand": "Datastreams/Observations"})
    counts = [[len(d["Observations"]) for d in t["Datastreams"]] for t in path_form["value"]]
    assert counts == [[AIR_OBSERVATIONS], [3, 2], [readdata.RIVER_OBSERVATIONS]]
    deep = _get(sta.admin, "Observations(300)", **{"$expand": "Datastream/Thing/Locations"})
    assert deep["Datastream"]["Thing"]["Locations"][0]["name"] == "Bridge"
    both = _get(sta.admin, "Datastreams(1)", **{"$expand": "Thing/Locations,Thing($select=name)"})
    assert set(both["Thing"]) == {"name", "Locations"}


def test_expand_refuses_what_is_not_a_link(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/query-status-code"""
    assert "$expand" in _error(sta.admin, "Things", 400, **{"$expand": "Sensors"})
    assert "$expand" in _error(sta.admin, "Things", 400, **{"$expand": "Datastreams($top=x)"})
    assert "$expand" in _error(sta.admin, "Things", 400, **{"$expand": "Datastreams($top=1"})
    assert "$expand" in _error(sta.admin, "Things", 400, **{"$expand": "Datastreams($bottom=1)"})
    deep = "/".join(["Datastreams/Thing"] * 5)
    assert "deeper" in _error(sta.admin, "Things", 400, **{"$expand": deep})
    assert _get(sta.admin, "Things(1)", **{"$expand": "/".join(["Datastreams/Thing"] * 4)})


def test_top_limits_the_page(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/top"""
    page = _get(sta.admin, "Observations", **{"$top": 3})
    assert _ids(page) == [1, 2, 3]
    assert "@iot.nextLink" in page
    assert _get(sta.admin, "Observations", **{"$top": 0})["value"] == []
    assert len(_get(sta.admin, "Observations")["value"]) == ALL_OBSERVATIONS  # 100 by default
    assert "$top" in _error(sta.admin, "Things", 400, **{"$top": "-1"})
    assert "$top" in _error(sta.admin, "Things", 400, **{"$top": "ten"})


def test_the_server_caps_the_page_size(sta: StaApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/pagination (a $top above
    the server's maximum gives the maximum and a next link)."""
    monkeypatch.setattr(options, "MAX_TOP", 4)
    page = _get(sta.admin, "Observations", **{"$top": 50})
    assert len(page["value"]) == 4 and "$top=4" in page["@iot.nextLink"]


def test_skip_passes_over_entities(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/skip"""
    page = _get(sta.admin, "Datastreams(1)/Observations", **{"$skip": 10})
    assert _ids(page) == [11, 12] and "@iot.nextLink" not in page
    assert _get(sta.admin, "Things", **{"$skip": 3})["value"] == []
    assert "$skip" in _error(sta.admin, "Things", 400, **{"$skip": "1.5"})
    assert "$skip" in _error(sta.admin, "Things", 400, **{"$skip": "9" * 30})


def test_orderby_sorts_by_one_or_several_keys(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/orderby"""
    names = [t["name"] for t in _get(sta.admin, "Things", **{"$orderby": "name"})["value"]]
    assert names == ["Pump house", "River gauge", "Weather station"]
    down = _get(sta.admin, "Datastreams(1)/Observations", **{"$orderby": "result desc"})
    assert _ids(down) == list(range(AIR_OBSERVATIONS, 0, -1))
    # air temperature and river level share their times from 08:00 to 08:04
    shared = {"$filter": "Datastream/id eq 1 or Datastream/id eq 4", "$skip": 7, "$top": 2}
    ascending = {**shared, "$orderby": "phenomenonTime desc,result asc"}
    assert _ids(_get(sta.admin, "Observations", **ascending)) == [304, 5]
    descending = {**shared, "$orderby": "phenomenonTime desc, result desc"}
    assert _ids(_get(sta.admin, "Observations", **descending)) == [5, 304]
    assert "$orderby" in _error(sta.admin, "Things", 400, **{"$orderby": "colour"})


def test_count_gives_the_size_of_the_whole_collection(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/count"""
    counted = _get(sta.admin, "Observations", **{"$count": "true", "$top": 1})
    assert counted["@iot.count"] == ALL_OBSERVATIONS and len(counted["value"]) == 1
    assert "@iot.count" not in _get(sta.admin, "Observations", **{"$count": "false"})
    assert _get(sta.admin, "Things(1)/Datastreams", **{"$count": "true"})["@iot.count"] == 1
    assert "$count" in _error(sta.admin, "Things", 400, **{"$count": "yes"})


def test_next_links_page_through_everything_once(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/pagination"""
    seen: list[int] = []
    page = _get(sta.admin, "Observations", **{"$top": 5, "$orderby": "phenomenonTime desc"})
    pages = 1
    while True:
        seen += _ids(page)
        if "@iot.nextLink" not in page:
            break
        assert page["@iot.nextLink"].startswith(f"{ROOT}/Observations?")
        assert "orderby" in page["@iot.nextLink"]
        page = _get(sta.admin, page["@iot.nextLink"])
        pages += 1
    assert sorted(seen) == sorted(set(seen)) and len(seen) == ALL_OBSERVATIONS
    assert pages == -(-ALL_OBSERVATIONS // 5)


def test_filter_selects_by_properties_links_and_times(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/filter,
    http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/built-in-filter-operations"""
    warm = _get(sta.admin, "Datastreams(1)/Observations", **{"$filter": "result gt 24"})
    assert _ids(warm) == [10, 11, 12]
    named = _get(sta.admin, "Things", **{"$filter": "name eq 'Pump house'"})
    assert _ids(named) == [2]
    by_thing = _get(sta.admin, "Datastreams", **{"$filter": "Thing/name eq 'Pump house'"})
    assert _ids(by_thing) == [2, 3]
    late = _get(
        sta.admin,
        "Observations",
        **{"$filter": "phenomenonTime ge 2026-12-03T08:10:00Z and Datastream/id eq 1"},
    )
    assert _ids(late) == [11, 12]  # fmt: skip
    counted = _get(sta.admin, "Observations", **{"$filter": "result lt 2", "$count": "true"})
    assert counted["@iot.count"] == 1 and _ids(counted) == [300]
    expanded = _get(
        sta.admin, "Things(1)", **{"$expand": "Datastreams/Observations($filter=result ge 25)"}
    )
    assert [o["result"] for o in expanded["Datastreams"][0]["Observations"]] == [25, 25.5]
    owned = _get(sta.admin, "Things", **{"$filter": "properties/owner eq 'Tianhe'"})
    assert _ids(owned) == [1]
    assert "$filter" in _error(sta.admin, "Things", 400, **{"$filter": "name eq"})
    assert "$filter" in _error(sta.admin, "Things", 400, **{"$filter": "colour eq 'red'"})


def test_filter_functions_of_strings_times_and_geometries(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/built-in-query-functions"""
    pumps = _get(sta.admin, "Things", **{"$filter": "startswith(name,'Pump')"})
    assert _ids(pumps) == [2]
    minutes = _get(sta.admin, "Datastreams(1)/Observations",
                   **{"$filter": "minute(phenomenonTime) ge 10"})  # fmt: skip
    assert _ids(minutes) == [11, 12]
    if sta.no_geo:
        pytest.skip(sta.no_geo)
    west = (
        "geography'POLYGON((113.35 23.11,113.365 23.11,113.365 23.13,113.35 23.13,113.35 23.11))'"
    )
    inside = _get(sta.admin, "Locations", **{"$filter": f"st_within(location,{west})"})
    assert _ids(inside) == [1]
    crossing = _get(
        sta.admin, "Things", **{"$filter": f"geo.intersects(Locations/location,{west})"}
    )
    assert _ids(crossing) == [1]


def test_unknown_or_repeated_options_are_refused(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/query-status-code"""
    assert "$colour" in _error(sta.admin, "Things", 400, **{"$colour": "red"})
    repeated = sta.admin.get(f"{ROOT}/Things?$top=1&$top=2")
    assert repeated.status_code == 400 and "$top" in repeated.json()["detail"]
    assert _get(sta.admin, "Things", other="ignored")["value"]


# --- data array extension (read) --------------------------------------------------------


def test_observations_as_data_arrays_by_datastream(sta: StaApp) -> None:
    """http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"""
    body = _get(sta.admin, "Observations",
                **{"$resultFormat": "dataArray", "$select": "id,phenomenonTime,result",
                   "$count": "true"})  # fmt: skip
    assert body["@iot.count"] == ALL_OBSERVATIONS
    groups = {g["Datastream@iot.navigationLink"]: g for g in body["value"]}
    assert set(groups) == {f"{ROOT}/Datastreams({i})" for i in (1, 2, 3, 4)}
    air = groups[f"{ROOT}/Datastreams(1)"]
    assert air["components"] == ["id", "phenomenonTime", "result"]
    assert air["dataArray@iot.count"] == AIR_OBSERVATIONS == len(air["dataArray"])
    assert air["dataArray"][0] == [1, "2026-12-03T08:00:00Z", 20]
    default = _get(sta.admin, "Datastreams(3)/Observations", **{"$resultFormat": "dataArray"})
    (flags,) = default["value"]
    assert flags["components"][:4] == ["id", "phenomenonTime", "resultTime", "result"]
    assert [row[3] for row in flags["dataArray"]] == [{"open": True}, False]
    paged = _get(sta.admin, "Observations", **{"$resultFormat": "dataArray", "$top": 2})
    assert "$resultFormat=dataArray" in paged["@iot.nextLink"]
    assert "$resultFormat" in _error(sta.admin, "Things", 400, **{"$resultFormat": "dataArray"})
    assert "$resultFormat" in _error(sta.admin, "Observations", 400, **{"$resultFormat": "csv"})
    links = {"$resultFormat": "dataArray", "$select": "Datastream"}
    assert "$select" in _error(sta.admin, "Observations", 400, **links)
