"""The JSON of one entity: what B2 answers after a create, E and F send for an observation."""

from __future__ import annotations

from typing import Any

import pytest

from api.sta.serialize import observation_json, read_entity, whole
from cim.scope import Scope
from simulation.sensors.errors import EntityNotFoundError
from simulation.sensors.records import StoredObservation
from tests.api.sta import readdata
from tests.api.sta.readdata import MINUTE, T0, TOWN_A, TOWN_B, StaApp

sta = readdata.sta  # the fixture

BASE = "http://city.example:8000"


def _stored(result: Any, **extra: Any) -> StoredObservation:
    return StoredObservation(id=7, datastream_id=1, thing_id=1, jurisdiction=TOWN_A,
                             phenomenon_us=T0, phenomenon_end_us=None, result_us=T0 + MINUTE,
                             result=result, feature_id=1, **extra)  # fmt: skip


def test_an_observation_just_stored_reads_like_a_stored_one() -> None:
    body = observation_json(_stored(21.5), BASE)
    assert body["@iot.id"] == 7
    assert body["@iot.selfLink"] == f"{BASE}/sta/v1.1/Observations(7)"
    assert body["phenomenonTime"] == "2026-12-03T08:00:00Z"
    assert body["resultTime"] == "2026-12-03T08:01:00Z"
    assert body["result"] == 21.5
    assert body["Datastream@iot.navigationLink"] == f"{BASE}/sta/v1.1/Observations(7)/Datastream"
    assert set(body) >= {"resultQuality", "validTime", "parameters"}


def test_results_keep_their_kind() -> None:
    assert observation_json(_stored(8), BASE)["result"] == 8
    assert type(observation_json(_stored(8), BASE)["result"]) is int
    assert observation_json(_stored("on"), BASE)["result"] == "on"
    assert observation_json(_stored(True), BASE)["result"] is True
    assert observation_json(_stored({"a": [1]}), BASE)["result"] == {"a": [1]}
    interval = _stored(1.0, valid_start_us=T0, valid_end_us=T0 + MINUTE)
    assert observation_json(interval, BASE)["validTime"] == (
        "2026-12-03T08:00:00Z/2026-12-03T08:01:00Z"
    )
    assert whole(2.0**60) == 2.0**60  # beyond what a double holds exactly: left a float


def test_read_entity_gives_the_stored_entity_within_the_scope(sta: StaApp) -> None:
    thing = read_entity(sta.db, "Things", 1, Scope.of(TOWN_A), BASE)
    assert thing["name"] == "Weather station"
    assert thing["Datastreams@iot.navigationLink"] == f"{BASE}/sta/v1.1/Things(1)/Datastreams"
    stored = read_entity(sta.db, "Observation", 1, Scope.of(TOWN_A), BASE)
    assert stored["result"] == 20 and stored["phenomenonTime"] == "2026-12-03T08:00:00Z"
    with pytest.raises(EntityNotFoundError, match=r"Things\(1\)"):
        read_entity(sta.db, "Things", 1, Scope.of(TOWN_B), BASE)
