"""Expansion reads the parents of a level in chunks: the same answer whatever the chunk."""

from __future__ import annotations

import pytest

from simulation.sensors import read
from tests.api.sta import readdata
from tests.api.sta.readdata import StaApp

sta = readdata.sta  # the fixture
EXPANSIONS = (
    "Datastreams($count=true;$top=1;$orderby=name desc;$expand=Observations($top=2;$skip=1)),"
    "Locations($count=true),HistoricalLocations"
)


def test_expansion_in_chunks_of_one_parent_gives_the_same_answer(
    sta: StaApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = sta.admin.get("/sta/v1.1/Things", params={"$expand": EXPANSIONS}).json()
    monkeypatch.setattr(read, "KEYS_PER_QUERY", 1)
    chunked = sta.admin.get("/sta/v1.1/Things", params={"$expand": EXPANSIONS}).json()
    assert chunked == whole
    pump = whole["value"][1]
    assert pump["Datastreams@iot.count"] == 2
    assert [d["name"] for d in pump["Datastreams"]] == ["Pump status"]
    assert [o["result"] for o in pump["Datastreams"][0]["Observations"]] == ["stopped", "running"]
    assert "Datastreams@iot.nextLink" in pump
    assert [len(t["Locations"]) for t in whole["value"]] == [2, 0, 1]
    rest = sta.admin.get(pump["Datastreams@iot.nextLink"]).json()
    assert [d["name"] for d in rest["value"]] == ["Pump flags"]
    assert rest["@iot.count"] == 2 and "@iot.nextLink" not in rest
    assert [o["result"] for o in rest["value"][0]["Observations"]] == [False]
