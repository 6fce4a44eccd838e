"""The incident dashboard in Debian's Chromium: a county's user opens it, every bar, segment
and point of its SVG charts carries the count the API gives for the same query, picking a
town reloads the figures of that town, English relabels it, and the CSV downloads with its
Chinese names."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.incidents.stats_city import build_stats_city
from tests.signin import signed_in
from tests.simulation.incidents.timelines import (
    COUNTY,
    DAY,
    MINUTE_US,
    TIMELINES,
    TOWN_B,
    write_timelines,
)
from tests.viewer.conftest import APPS, new_page, screenshot, serve, session_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stats city served, with the test timelines starting eight days ago."""
    from api.auth.state import auth_state_of

    folder = build_stats_city(tmp_path_factory.mktemp("dashboard") / "city")
    with serve(folder, worker=False) as url:
        t0 = time.time_ns() // 1000 - 8 * DAY * MINUTE_US
        write_timelines(auth_state_of(APPS[url]).db, TIMELINES, t0_us=t0)
        yield url


def _api(url: str, params: dict[str, str], group_by: str) -> dict[str, Any]:
    headers = signed_in(APPS[url], roles=("viewer",), jurisdiction=COUNTY)
    answer = httpx.get(f"{url}/api/incidents/stats", params={**params, "groupBy": group_by},
                       headers=headers, timeout=30)  # fmt: skip
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _marks(page: Any, chart: str, kind: str = "rect.bar") -> dict[tuple[str, str], int]:
    """The (key, series) -> value of every mark of a chart."""
    found = page.eval_on_selector_all(
        f"#dashboard [data-chart={chart}] {kind}",
        "nodes => nodes.map(n => [n.dataset.key, n.dataset.series, Number(n.dataset.value)])",
    )
    return {(key, series): value for key, series, value in found}


def _wait_ready(page: Any) -> None:
    page.wait_for_function("window.cimtwin.dashboard.state === 'ready'", timeout=30_000)


def _check_charts(page: Any, url: str) -> dict[str, Any]:
    params = page.evaluate("window.cimtwin.dashboard.params")
    status, category = _api(url, params, "status"), _api(url, params, "category")
    towns, days = _api(url, params, "jurisdiction"), _api(url, params, "day")
    assert _marks(page, "status") == {(g["key"], "value"): g["opened"] for g in status["groups"]}
    assert _marks(page, "category") == {
        (g["key"], "value"): g["opened"] for g in category["groups"] if g["opened"]
    }
    stacked = {}
    for g in towns["groups"]:
        stacked[g["key"], "closed"] = g["closed"]
        stacked[g["key"], "onTime"] = g["openNow"] - g["overdueNow"]
        stacked[g["key"], "overdue"] = g["overdueNow"]
    assert _marks(page, "jurisdiction") == stacked
    series = ("opened", "closed")
    points = {(g["key"], name): g[name] for g in days["groups"] for name in series}
    assert _marks(page, "time", "circle.point") == points
    overdue = page.inner_text("#dashboard [data-kpi=overdueNow] b")
    assert overdue == str(status["total"]["overdueNow"])
    return status


def test_the_dashboard_charts_what_the_api_counts(browser: Any, served: str) -> None:
    session = session_of(APPS[served], roles=("viewer",), jurisdiction=COUNTY)
    page = new_page(browser, served, session)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served + "/?lang=zh-CN")
    page.wait_for_function("window.cimtwin && window.cimtwin.me", timeout=60_000)
    page.click("#dashboard-open")
    _wait_ready(page)
    status = _check_charts(page, served)
    assert status["total"]["opened"] > 0 and status["total"]["overdueNow"] > 0
    assert "按下级辖区" in page.inner_text("#dashboard")
    assert "五山街道" in page.inner_text("#dashboard [data-chart=jurisdiction]")
    screenshot(page, "dashboard-county")

    page.select_option("#dashboard-node", TOWN_B)
    page.wait_for_function(
        f"window.cimtwin.dashboard.params.jurisdiction === '{TOWN_B}'"
        " && window.cimtwin.dashboard.state === 'ready'",
        timeout=30_000,
    )
    town = _check_charts(page, served)
    assert town["jurisdiction"]["name"] == "石牌街道"

    page.click("#lang-toggle")
    assert "By sub-jurisdiction" in page.inner_text("#dashboard")
    assert page.inner_text("#dashboard-open") == "Stats"

    page.select_option("#dashboard-csv-group", "category")
    with page.expect_download() as download:
        page.click("#dashboard-csv")
    saved = Path(download.value.path())
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert {r["category"]: r["name_zh"] for r in rows}["waterlogging"] == "积水内涝"
    assert rows[-1]["category"] == "total"
    assert download.value.suggested_filename.startswith(f"incident-stats-{TOWN_B}-")
    assert not errors, errors
    page.close()
