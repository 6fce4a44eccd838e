"""The latest state of datastreams (simulation.sensors.state)."""

from __future__ import annotations

import pytest

from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors import state
from simulation.sensors.state import latest_states, level_of
from tests.simulation.sensors.seed import (
    HOUR_US,
    TIANHE,
    TIANHE_TOWN,
    YUEXIU,
    add_datastream,
    add_location,
    set_latest,
)

NOW = 1_780_000_000_000_000
MINUTE_US = 60_000_000
LIMITS = {"thresholds": {"warning": 30, "alarm": 50}}


def test_no_value_is_unknown() -> None:
    assert level_of(None, LIMITS, None, NOW) == "unknown"
    assert level_of(None, LIMITS, NOW, NOW) == "unknown"


@pytest.mark.parametrize(
    ("value", "level"),
    [(10, "normal"), (29.9, "normal"), (30, "warning"), (49, "warning"), (50, "alarm"),
     (1e6, "alarm")],
)  # fmt: skip
def test_higher_is_worse_when_alarm_is_above_warning(value: float, level: str) -> None:
    assert level_of(value, LIMITS, NOW, NOW) == level


@pytest.mark.parametrize(
    ("value", "level"),
    [(5.0, "normal"), (2.0, "warning"), (1.5, "warning"), (1.0, "alarm"), (-3, "alarm")],
)
def test_lower_is_worse_when_alarm_is_below_warning(value: float, level: str) -> None:
    falling = {"thresholds": {"warning": 2.0, "alarm": 1.0}}
    assert level_of(value, falling, NOW, NOW) == level


def test_one_threshold_alone_means_higher_is_worse() -> None:
    assert level_of(31, {"thresholds": {"warning": 30}}, NOW, NOW) == "warning"
    assert level_of(51, {"thresholds": {"alarm": 50}}, NOW, NOW) == "alarm"
    assert level_of(20, {"thresholds": {"alarm": 50}}, NOW, NOW) == "normal"


def test_an_old_value_is_stale_after_an_hour_by_default() -> None:
    assert level_of(10, LIMITS, NOW - 59 * MINUTE_US, NOW) == "normal"
    assert level_of(10, LIMITS, NOW - 61 * MINUTE_US, NOW) == "stale"
    assert level_of(99, LIMITS, NOW - 2 * HOUR_US, NOW) == "stale"  # old: no longer an alarm


def test_stale_after_comes_from_the_properties() -> None:
    quick = {**LIMITS, "staleAfter": 60}
    assert level_of(10, quick, NOW - 30_000_000, NOW) == "normal"
    assert level_of(10, quick, NOW - 90_000_000, NOW) == "stale"
    slow = {"staleAfter": 86_400}
    assert level_of(10, slow, NOW - 5 * HOUR_US, NOW) == "normal"


@pytest.mark.parametrize("bad", [0, -5, "soon", None, True])
def test_a_stale_after_that_is_no_positive_number_is_the_default(bad: object) -> None:
    properties = {"staleAfter": bad}
    assert level_of(10, properties, NOW - 30 * MINUTE_US, NOW) == "normal"
    assert level_of(10, properties, NOW - 2 * HOUR_US, NOW) == "stale"


def test_results_that_are_no_number_are_normal_when_fresh() -> None:
    assert level_of("open", LIMITS, NOW, NOW) == "normal"
    assert level_of(True, LIMITS, NOW, NOW) == "normal"
    assert level_of({"a": 1}, LIMITS, NOW, NOW) == "normal"


def test_thresholds_that_are_no_numbers_are_ignored() -> None:
    assert level_of(99, {"thresholds": {"warning": "high"}}, NOW, NOW) == "normal"
    assert level_of(99, {"thresholds": [30, 50]}, NOW, NOW) == "normal"
    assert level_of(99, None, NOW, NOW) == "normal"


def test_latest_states_gives_value_place_and_level(sensing_db: OpsDatabase) -> None:
    point = {"type": "Point", "coordinates": [113.33, 23.12, 42.5]}
    seeded = add_datastream(
        sensing_db, city_object="b:1", location=point, properties=LIMITS, name="pm25",
        unit={"name": "microgram per cubic meter", "symbol": "µg/m³"},
    )  # fmt: skip
    set_latest(sensing_db, seeded.datastream_id, NOW - MINUTE_US, 35.0)
    (found,) = latest_states(sensing_db, Scope.everything(), now_us=NOW)
    assert found.datastream_id == seeded.datastream_id
    assert found.name == "pm25"
    assert found.thing_id == seeded.thing_id
    assert found.thing_name == "thing of pm25"
    assert found.observed_property == "pm25 property"
    assert found.unit_symbol == "µg/m³"
    assert found.city_object == "b:1"
    assert found.jurisdiction == TIANHE
    assert (found.lon, found.lat, found.height) == (113.33, 23.12, 42.5)
    assert (found.phenomenon_us, found.result, found.level) == (NOW - MINUTE_US, 35.0, "warning")


def test_a_polygon_location_gives_its_bbox_centre_and_no_height(sensing_db: OpsDatabase) -> None:
    square = {"type": "Polygon",
              "coordinates": [[[113.0, 23.0, 5], [113.2, 23.0, 5], [113.2, 23.4, 5],
                               [113.0, 23.4, 5], [113.0, 23.0, 5]]]}  # fmt: skip
    add_datastream(sensing_db, location=square)
    (found,) = latest_states(sensing_db, Scope.everything(), now_us=NOW)
    assert found.lon == pytest.approx(113.1)
    assert found.lat == pytest.approx(23.2)
    assert found.height is None


def test_a_point_without_height_and_a_thing_without_location(sensing_db: OpsDatabase) -> None:
    flat = add_datastream(sensing_db, location={"type": "Point", "coordinates": [113.5, 23.5]})
    nowhere = add_datastream(sensing_db, unit={"name": "none"})
    by_id = {s.datastream_id: s for s in latest_states(sensing_db, Scope.everything(), now_us=NOW)}
    assert (by_id[flat.datastream_id].lon, by_id[flat.datastream_id].height) == (113.5, None)
    lost = by_id[nowhere.datastream_id]
    assert (lost.lon, lost.lat, lost.height, lost.unit_symbol) == (None, None, None, None)
    assert (lost.result, lost.phenomenon_us, lost.level) == (None, None, "unknown")


def test_the_first_location_of_a_thing_places_it(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db, location={"type": "Point", "coordinates": [113.1, 23.1]})
    with sensing_db.transaction() as session:
        add_location(session, seeded.thing_id, {"type": "Point", "coordinates": [114, 24]}, TIANHE)
    (found,) = latest_states(sensing_db, Scope.everything(), now_us=NOW)
    assert (found.lon, found.lat) == (113.1, 23.1)


def test_every_datastream_of_a_thing_shares_its_place(sensing_db: OpsDatabase) -> None:
    first = add_datastream(sensing_db, location={"type": "Point", "coordinates": [113.1, 23.1]})
    second = add_datastream(sensing_db, thing_id=first.thing_id, name="flow")
    found = latest_states(sensing_db, Scope.everything(), now_us=NOW)
    assert [s.datastream_id for s in found] == [first.datastream_id, second.datastream_id]
    assert {(s.thing_id, s.lon, s.lat) for s in found} == {(first.thing_id, 113.1, 23.1)}


def test_a_result_that_is_no_number_is_given_as_stored(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db, properties=LIMITS)
    set_latest(sensing_db, seeded.datastream_id, NOW, {"door": "open"})
    (found,) = latest_states(sensing_db, Scope.everything(), now_us=NOW)
    assert (found.result, found.level) == ({"door": "open"}, "normal")


def test_the_scope_limits_the_datastreams(sensing_db: OpsDatabase) -> None:
    town = add_datastream(sensing_db, jurisdiction=TIANHE_TOWN)
    county = add_datastream(sensing_db, jurisdiction=TIANHE)
    other = add_datastream(sensing_db, jurisdiction=YUEXIU)

    def ids(scope: Scope) -> list[int]:
        return [s.datastream_id for s in latest_states(sensing_db, scope, now_us=NOW)]

    assert ids(Scope.everything()) == [town.datastream_id, county.datastream_id,
                                       other.datastream_id]  # fmt: skip
    assert ids(Scope.of(TIANHE)) == [town.datastream_id, county.datastream_id]
    assert ids(Scope.of(TIANHE_TOWN)) == [town.datastream_id]
    assert ids(Scope.of(YUEXIU)) == [other.datastream_id]
    assert latest_states(sensing_db, Scope.of(YUEXIU), now_us=NOW,
                         datastream_ids=[town.datastream_id]) == []  # fmt: skip


def test_selecting_by_datastream_and_by_city_object(sensing_db: OpsDatabase) -> None:
    a = add_datastream(sensing_db, city_object="b:1")
    b = add_datastream(sensing_db, city_object="b:2")
    c = add_datastream(sensing_db, city_object="b:2", thing_id=b.thing_id)
    add_datastream(sensing_db, city_object=None)
    everything = Scope.everything()

    def ids(**selection: list[int] | list[str]) -> list[int]:
        found = latest_states(sensing_db, everything, now_us=NOW, **selection)  # type: ignore[arg-type]
        return [s.datastream_id for s in found]

    assert ids(datastream_ids=[c.datastream_id, a.datastream_id, 999]) == [
        a.datastream_id, c.datastream_id]  # fmt: skip
    assert ids(city_objects=["b:2", "nothing"]) == [b.datastream_id, c.datastream_id]
    assert ids(city_objects=["b:1", "b:2"], datastream_ids=[a.datastream_id, c.datastream_id]) == [
        a.datastream_id, c.datastream_id]  # fmt: skip
    assert ids(city_objects=[]) == []
    assert ids(datastream_ids=[]) == []


def test_long_selections_are_chunked_with_the_same_answer(
    sensing_db: OpsDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = [add_datastream(sensing_db, city_object=f"b:{i % 4}") for i in range(7)]
    wanted_ids = [s.datastream_id for s in reversed(seeded)][:6]
    wanted_objects = ["b:3", "b:1", "b:0", "x", "y"]
    whole = latest_states(sensing_db, Scope.everything(), now_us=NOW, datastream_ids=wanted_ids,
                          city_objects=wanted_objects)  # fmt: skip
    monkeypatch.setattr(state, "CHUNK", 2)
    chunked = latest_states(sensing_db, Scope.everything(), now_us=NOW,
                            datastream_ids=wanted_ids, city_objects=wanted_objects)  # fmt: skip
    assert chunked == whole
    assert [s.datastream_id for s in whole] == sorted(
        s.datastream_id
        for s in seeded[1:]
        if s.datastream_id in wanted_ids and f"b:{seeded.index(s) % 4}" in wanted_objects
    )
    assert len(whole) == 4
