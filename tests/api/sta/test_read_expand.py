"""Expansion reads the parents of a level in chunks: the same answer whatever the chunk."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

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


def test_each_expanded_level_is_read_for_all_its_parents_at_once(sta: StaApp) -> None:
    """PostgreSQL: one statement per level (a LATERAL join on the parents' keys). SQLite:
    one prepared statement run per parent, in process, each an index range (SQLite's many
    small queries cost what one big one does); never a parent's path resolved again."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(sta.db.engine, "before_cursor_execute", record)
    try:
        answer = sta.admin.get("/sta/v1.1/Things", params={"$expand": "Datastreams/Observations"})
    finally:
        event.remove(sta.db.engine, "before_cursor_execute", record)
    assert answer.status_code == 200
    sensing = [s for s in statements if "sta_" in s]
    things, datastreams = 3, 4
    if sta.db.engine.dialect.name == "postgresql":
        assert len(sensing) == 3, sensing
    else:
        assert len(sensing) == 1 + things + datastreams, sensing
    assert not any("sta_things" in s for s in sensing[1:])  # no parent read again
