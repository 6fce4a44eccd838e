"""Observation JSON and data arrays to rows."""

from __future__ import annotations

import pytest

from simulation.sensors.errors import SensorInputError
from simulation.sensors.parse import observation_from_json, observations_from_data_array
from simulation.sensors.times import parse_time

T0 = "2026-12-01T08:00:00Z"


def test_an_observation_reads_its_times_result_and_links() -> None:
    row = observation_from_json(
        {
            "phenomenonTime": "2026-12-01T08:00:00Z/2026-12-01T09:00:00Z",
            "resultTime": "2026-12-01T09:00:05+08:00",
            "result": 3.5,
            "Datastream": {"@iot.id": 7},
            "FeatureOfInterest": {"@iot.id": "4"},
            "parameters": {"battery": 0.9},
        }
    )
    assert row.datastream_id == 7
    assert row.phenomenon_us == parse_time(T0)
    assert row.phenomenon_end_us == parse_time("2026-12-01T09:00:00Z")
    assert row.result_us == parse_time("2026-12-01T01:00:05Z")
    assert (row.result, row.feature_id, row.parameters) == (3.5, 4, {"battery": 0.9})


def test_the_path_names_the_datastream_and_the_arrival_time_fills_a_missing_time() -> None:
    row = observation_from_json({"result": "dry"}, datastream_id=3)
    assert row.datastream_id == 3
    assert row.phenomenon_us > parse_time("2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"phenomenonTime": T0, "Datastream": {"@iot.id": 2}}, "needs a result"),
        ({"result": 1, "phenomenonTime": T0}, "needs its Datastream"),
        ({"result": 1, "Datastream": {"@iot.id": 2}, "colour": "red"}, "no property colour"),
        ({"result": 1, "Datastream": {"@iot.id": 2}, "phenomenonTime": "yesterday"}, "ISO"),
        ({"result": 1, "Datastream": {"@iot.id": 2}, "phenomenonTime": "2026-12-01T08:00"}, "zone"),
        ({"result": 1, "Datastream": {"@iot.id": -2}}, "positive integer"),
        ({"result": 1, "Datastream": {"@iot.id": 2}, "FeatureOfInterest": {"name": "x"}}, "inline"),
        ({"result": float("nan"), "Datastream": {"@iot.id": 2}}, "finite"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_observations_are_refused_naming_the_problem(body: object, message: str) -> None:
    with pytest.raises(SensorInputError, match=message):
        observation_from_json(body)


def test_a_datastream_in_the_body_must_match_the_path() -> None:
    with pytest.raises(SensorInputError, match="names Datastream 2 but was sent to 3"):
        observation_from_json({"result": 1, "Datastream": {"@iot.id": 2}}, datastream_id=3)


def test_a_data_array_numbers_rows_across_groups_and_rejects_bad_rows_only() -> None:
    body = [
        {
            "Datastream": {"@iot.id": 1},
            "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
            "dataArray": [[T0, 1.0, 5], ["not a time", 2.0, 5], [T0, None, 5]],
        },
        {
            "Datastream": {"@iot.id": 2},
            "components": ["result", "phenomenonTime"],
            "dataArray": [[7, "2026-12-01T08:01:00Z"], [8]],
        },
    ]
    rows, rejected = observations_from_data_array(body)
    assert [(r.datastream_id, r.result) for r in rows] == [(1, 1.0), (2, 7)]
    assert rows[0].feature_id == 5
    assert [r.index for r in rejected] == [1, 2, 4]
    assert "ISO" in rejected[0].reason and "result" in rejected[1].reason
    assert "array of 2 values" in rejected[2].reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Datastream": {"@iot.id": 1}}, "JSON array"),
        ([{"components": ["result"], "dataArray": []}], "Datastream"),
        ([{"Datastream": {"@iot.id": 1}, "components": ["colour"], "dataArray": []}], "unknown"),
        (
            [{"Datastream": {"@iot.id": 1}, "components": ["phenomenonTime"], "dataArray": []}],
            "include 'result'",
        ),
        ([{"Datastream": {"@iot.id": 1}, "components": ["result"], "dataArray": 3}], "rows"),
        ([{"MultiDatastream": {"@iot.id": 1}}], "MultiDatastreams"),
    ],
)
def test_a_malformed_group_fails_the_request(body: object, message: str) -> None:
    with pytest.raises(SensorInputError, match=message):
        observations_from_data_array(body)
