"""``GET /api/incidents/stats`` and its CSV: the figures of the caller's node by default,
a node outside the caller's scope refused as a missing one, groups named in Chinese and
English, a CSV Excel opens (UTF-8 with a BOM) that the csv module reads back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import auth_state_of, configure
from cim.ops.database import OpsDatabase
from tests.api.incidents.stats_city import build_stats_city
from tests.api.test_scoped_routes import _served_routes
from tests.signin import signed_in
from tests.simulation.incidents.timelines import (
    COUNTY,
    NOW,
    TIMELINES,
    TOWN_A,
    TOWN_B,
    at,
    write_timelines,
)

PERIOD = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = build_stats_city(tmp_path_factory.mktemp("incident-stats") / "city")
    app = create_app(folder, worker=False)
    configure(app, clock=lambda: datetime.fromtimestamp(at(NOW) / 1e6, UTC))
    db: OpsDatabase = auth_state_of(app).db
    write_timelines(db, TIMELINES)
    return app


def client(app: FastAPI, jurisdiction: str) -> TestClient:
    return TestClient(app, headers=signed_in(app, roles=("viewer",), jurisdiction=jurisdiction))


def test_the_county_gets_its_figures_and_its_towns_by_name(app: FastAPI) -> None:
    county = client(app, COUNTY)
    answer = county.get("/api/incidents/stats", params={**PERIOD, "groupBy": "jurisdiction"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["jurisdiction"] == {"code": COUNTY, "name": "天河区", "level": "county"}
    total = body["total"]
    assert (total["opened"], total["closed"], total["notAccepted"]) == (5, 2, 1)
    assert (total["openNow"], total["overdueNow"], total["overdueInPeriod"]) == (4, 3, 3)
    assert total["timeToClose"]["medianMinutes"] == pytest.approx(2410.0)
    reported = next(s for s in total["steps"] if s["status"] == "reported")
    assert (reported["zh"], reported["count"], reported["overdue"]) == ("上报", 4, 1)
    groups = [(g["key"], g["zh"], g["opened"]) for g in body["groups"]]
    # W1 W2 W3 in Wushan (W2 in one of its villages), R1 in Shipai, W4 in the county itself
    assert groups == [(TOWN_A, "五山街道", 3), (TOWN_B, "石牌街道", 1), (COUNTY, "天河区", 1)]
    assert body["now"] == "2026-11-10T00:00:00Z" and body["groupBy"] == "jurisdiction"


def test_a_town_sees_only_its_incidents_and_not_its_neighbour(app: FastAPI) -> None:
    town = client(app, TOWN_B)
    mine = town.get("/api/incidents/stats", params=PERIOD).json()
    assert mine["jurisdiction"]["code"] == TOWN_B
    assert (mine["total"]["opened"], mine["total"]["closed"]) == (1, 1)  # R1; R2
    for path in ("/api/incidents/stats", "/api/incidents/stats.csv"):
        refused = town.get(path, params={**PERIOD, "jurisdiction": TOWN_A})
        missing = town.get(path, params={**PERIOD, "jurisdiction": "440106009000"})
        assert (refused.status_code, missing.status_code) == (404, 404)
        assert refused.json()["detail"].replace(TOWN_A, "440106009000") == missing.json()["detail"]


def test_categories_and_days_are_named_and_complete(app: FastAPI) -> None:
    county = client(app, COUNTY)
    by_category = county.get("/api/incidents/stats", params={**PERIOD, "groupBy": "category"})
    water = next(g for g in by_category.json()["groups"] if g["key"] == "waterlogging")
    assert (water["zh"], water["en"], water["opened"]) == ("积水内涝", "Waterlogging", 4)
    # Beijing time: the days run from 2026-11-01 (08:00 UTC on Nov 1st is its start)
    local = {"start": "2026-11-01T00:00:00+08:00", "end": "2026-11-08T00:00:00+08:00"}
    days = county.get("/api/incidents/stats", params={**local, "groupBy": "day"}).json()
    assert days["utcOffsetMinutes"] == 480
    assert [g["key"] for g in days["groups"]] == [f"2026-11-0{d}" for d in range(1, 8)]
    assert days["groups"][0]["openNow"] is None


def test_the_csv_reads_back_with_its_chinese_names(app: FastAPI) -> None:
    county = client(app, COUNTY)
    params = {**PERIOD, "groupBy": "jurisdiction"}
    answer = county.get("/api/incidents/stats.csv", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert (
        disposition == f'attachment; filename="incident-stats-{COUNTY}-2026-11-01-2026-11-07.csv"'
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["jurisdiction"], r["name_zh"], r["opened"]) for r in rows] == [
        (TOWN_A, "五山街道", "3"), (TOWN_B, "石牌街道", "1"), (COUNTY, "天河区", "1"),
        ("total", "合计", "5"),
    ]  # fmt: skip
    json_total = county.get("/api/incidents/stats", params=params).json()["total"]
    total = rows[-1]
    assert int(total["overdue_in_period"]) == json_total["overdueInPeriod"]
    assert float(total["handling_mean_min"]) == pytest.approx(2240.0)
    assert (total["handling_overdue"], total["suspended_count"]) == ("1", "0")


def test_bad_parameters_are_refused_clearly(app: FastAPI) -> None:
    county = client(app, COUNTY)
    cases = [
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-11-08T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, "end after"),
        ({**PERIOD, "groupBy": "year"}, "groupBy"),
        ({"start": "2000-01-01T00:00:00Z", "groupBy": "day"}, "at most"),
    ]
    for params, words in cases:
        answer = county.get("/api/incidents/stats", params=params)
        assert answer.status_code == 422, params
        assert words in answer.text, answer.text


def test_stats_are_not_taken_for_an_incident_id(app: FastAPI) -> None:
    paths = [getattr(r, "path", "") for r in _served_routes(app)]
    ours = paths.index("/api/incidents/stats")
    ids = [i for i, p in enumerate(paths) if p.startswith("/api/incidents/{")]
    assert all(ours < i for i in ids), "include the stats router before the incidents one"


def test_signed_out_callers_get_nothing(app: FastAPI) -> None:
    assert TestClient(app).get("/api/incidents/stats").status_code == 401
