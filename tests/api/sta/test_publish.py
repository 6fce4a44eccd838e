"""The events of the SensorThings writes: an observation's event JSON is what a read of it
gives."""

from __future__ import annotations

import pytest

from api.sta.publish import stored_observation_json
from api.sta.serialize import observation_json, service_url
from simulation.sensors.records import StoredObservation

BASE = "http://example.org:8000"
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    "stored",
    [
        StoredObservation(1, 2, 3, "440106001000", T0, None, None, 8, 4),
        StoredObservation(
            5,
            2,
            3,
            "440106001000",
            T0,
            T0 + 60_000_000,
            T0 + 1_500,
            2.5,
            None,
            valid_start_us=T0,
            valid_end_us=T0 + 3_600_000_000,
            result_quality={"flag": "ok"},
            parameters={"depth": 2},
        ),
        StoredObservation(6, 2, 3, "440106001000", T0 + 1, None, None, "dry", 4),
        StoredObservation(7, 2, 3, "440106001000", T0, None, None, True, 4),
        StoredObservation(8, 2, 3, "440106001000", T0, None, None, {"a": [1, 2]}, 4),
        StoredObservation(9, 2, 3, "440106001000", T0, None, None, 1e20, 4),
    ],
)
def test_the_event_json_of_an_observation_is_its_read_json(stored: StoredObservation) -> None:
    made = stored_observation_json(stored, service_url(BASE))
    assert made == observation_json(stored, BASE)
    assert list(made) == list(observation_json(stored, BASE))  # the same order too
