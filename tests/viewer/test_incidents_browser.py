"""Incidents in the viewer, in Debian's Chromium: markers coloured by status in the rendered
pixels (overdue ringed, escalated badged), the list's filters, the panel's timeline with its
photos, the action forms (a photo checked before sending, a 409 reloading), the zh-CN page."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import Incident
from cim.result_store import ResultStore
from cim.results import RasterLayer, SimulationResult
from cim.scope import Scope
from simulation.incidents.actors import Actor
from simulation.incidents.escalation import escalate_overdue
from simulation.incidents.incidents import report_incident, take_step
from simulation.incidents.records import AttachmentIn, IncidentReport
from simulation.incidents.steps import append_step
from tests.sensor_rows import add_datastream
from tests.viewer.conftest import ViewerPage, new_page, render, screenshot, serve
from tests.viewer.incident_people import HUACHENG, Account, account, observe, png, step
from tests.viewer.test_signin_browser import build_jurisdiction_city

pytestmark = pytest.mark.browser

SOUTH, NORTH = "440106001001", "440106001002"  # Huacheng's two communities
MINUTE_US = 60_000_000
ZH_COMMA = "\uff0c"
# The markers' colours (viewer/src/incidenticons.js)
CSS = {"reported": "#e53935", "registered": "#fb8c00", "dispatched": "#fdd835",
       "handling": "#1e88e5", "handled": "#00acc1", "verified": "#43a047",
       "closed": "#757575", "not_accepted": "#bdbdbd", "suspended": "#8e24aa"}  # fmt: skip
OVERDUE = "#ff2d95"
OPERATOR = frozenset({"read", "import", "observe", "report", "handle", "verify"})
MANAGER = OPERATOR | {"tile", "jurisdictions", "sensors", "dispatch", "rules"}

# Seeded incidents: name -> (category, the actions after the report, minutes ago)
SEEDS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "reported": ("road_damage", (), 1),
    "registered": ("road_damage", ("register",), 2),
    "dispatched": ("street_light", ("register", "dispatch"), 3),
    "handling": ("illegal_construction", ("register", "dispatch", "accept"), 4),
    "handled": ("illegal_construction", ("register", "dispatch", "accept", "handle"), 5),
    "verified": ("exposed_garbage", ("register", "dispatch", "accept", "handle", "verify"), 6),
    "closed": ("exposed_garbage", ("register", "dispatch", "accept", "handle", "verify",
                                   "close"), 7),
    "suspended": ("illegal_construction", ("register", "suspend"), 8),
    "not_accepted": ("road_damage", ("reject",), 9),
    "overdue": ("waterlogging", (), 30),  # its 10 minutes to be registered are long gone
}  # fmt: skip
TITLES = {"overdue": "花城大道积水没过脚踝", "handled": "天台加建违建"}
LOOP_PLACE = (113.3193, 23.1230)  # where the whole loop's incident happens
# A grid of places inside Huacheng (lon, lat), one per seed
PLACES = [(lon, lat) for lat in (23.1125, 23.1160, 23.1215, 23.1245)
          for lon in (113.3180, 113.3205, 113.3230)]  # fmt: skip


def _person(name: str, role: str = "operator", department: str | None = None) -> Actor:
    permissions = MANAGER if role == "manager" else OPERATOR
    return Actor(name, "user", HUACHENG, Scope.of(HUACHENG), permissions, department, role)


@dataclass(frozen=True)
class Seeded:
    folder: Path
    ids: dict[str, int]  # seed name -> incident id
    places: dict[str, tuple[float, float]]
    datastream: int  # a water level on Huacheng Avenue, at LOOP_PLACE
    flood_run: str  # a flood run noted on the overdue waterlogging incident


def _seed(folder: Path) -> Seeded:
    """The incidents of SEEDS, each walked to its status by the town's staff through the
    domain (with past times), the overdue one escalated."""
    now = time.time_ns() // 1000
    centre, inspector = _person("zhang", "manager"), _person("huacheng")
    departments = {"street_light": "urban_management", "illegal_construction": "urban_management",
                   "exposed_garbage": "urban_management"}  # fmt: skip
    ids: dict[str, int] = {}
    places: dict[str, tuple[float, float]] = {}
    with OpsDatabase.for_city(folder) as db:
        seeds = zip(SEEDS.items(), PLACES[: len(SEEDS)], strict=True)
        for (name, (category, actions, ago)), (lon, lat) in seeds:
            at = now - ago * MINUTE_US
            report = IncidentReport(
                category=category, title=TITLES.get(name, f"{name} {category}"),
                description=f"seeded {name}", source="inspector",
                jurisdiction=SOUTH if lat < 23.1189 else NORTH, lon=lon, lat=lat,
            )  # fmt: skip
            record = report_incident(db, report, inspector, now_us=at)
            worker = _person("worker", department=departments.get(category))
            for i, action in enumerate(actions):
                who = {"accept": worker, "handle": worker, "verify": inspector}.get(action, centre)
                extra: dict[str, Any] = {}
                if action in ("reject", "suspend", "handle"):
                    extra["note"] = f"{action} note"
                if action == "dispatch":
                    extra["department"] = departments[category]
                    extra["department_jurisdiction"] = HUACHENG
                if action == "handle":
                    after = AttachmentIn("after.png", "image/png", png((40, 160, 60)))
                    extra["attachments"] = (after,)
                take_step(db, record.id, action, who, now_us=at + (i + 1) * 1_000_000, **extra)
            ids[name] = record.id
            places[name] = (lon, lat)
        escalate_overdue(db, now)
        datastream = add_datastream(
            db, name="花城大道积水监测", jurisdiction=NORTH, lon=LOOP_PLACE[0], lat=LOOP_PLACE[1],
            thresholds={"warning": 2.0, "alarm": 2.5}, observations=[(now - MINUTE_US, 1.1)],
        )  # fmt: skip
        flood_run = _flood_run_of(folder, db, ids["overdue"], now)
    return Seeded(folder, ids, places, datastream, flood_run)


def _flood_run_of(folder: Path, db: OpsDatabase, incident_id: int, now: int) -> str:
    """A stored flood run, and the ``simulation`` step the live simulations note on the
    incident of the alert that started it; the run's id."""
    depth = np.full((4, 4), 0.4, dtype=np.float32)
    result = SimulationResult(
        model="flood",
        parameters={"water_level": 10.4},
        summary={"level_m": 10.4, "flooded_area_m2": 1234.4, "buildings_affected": 3},
        rasters=[RasterLayer("depth", "Water depth", "m", depth,
                             (430700.0, 10.0, 0.0, 2557800.0, 0.0, -10.0), "EPSG:4547")],
    )  # fmt: skip
    run = ResultStore(folder).save(
        result, jurisdiction=HUACHENG, trigger={"alert": 1, "rule": 1}, started=datetime.now(UTC)
    )
    link = {"model": "flood", "status": "succeeded", "run": run.id,
            "url": f"/api/simulations/runs/{run.id}", "summary": result.summary}  # fmt: skip
    with db.transaction() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        append_step(session, incident, "simulation", from_status=incident.status,
                    actor="rule:1", actor_kind="system", actor_jurisdiction=None,
                    now_us=now, data=link)  # fmt: skip
    return run.id


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return _seed(build_jurisdiction_city(tmp_path_factory.mktemp("incident-city")))


@pytest.fixture(scope="module")
def server(seeded: Seeded) -> Iterator[str]:
    with serve(seeded.folder) as url:
        yield url


def open_as(browser: Any, url: str, who: Account) -> ViewerPage:
    """The viewer signed in as ``who``, its incidents loaded."""
    opened = ViewerPage(new_page(browser, url, who.session))
    page = opened.page
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.emulate_media(reduced_motion="reduce")  # no beating echo rings: fewer frames
    page.goto(url + "/")
    page.wait_for_function(
        "window.cimtwin && ['ready', 'error'].includes(window.cimtwin.state)"
        " && window.cimtwin.incidents.loaded",
        timeout=90_000,
    )
    return opened


@pytest.fixture(scope="module")
def manager(server: str) -> Account:
    return account(server, "manager")


@pytest.fixture(scope="module")
def viewer(server: str, browser: Any, manager: Account) -> Iterator[ViewerPage]:
    opened = open_as(browser, server, manager)
    yield opened
    opened.page.close()


@pytest.fixture()
def page(viewer: ViewerPage) -> Iterator[Any]:
    before = len(viewer.errors)
    yield viewer.page
    viewer.page.evaluate("window.cimtwin.incidents.list.setFilters("
                         "{status: '', category: '', overdue: false, text: ''})")  # fmt: skip
    assert viewer.errors[before:] == [], f"console errors: {viewer.errors[before:]}"


def colour_counts(
    page: Any, spots: list[tuple[float, float, str]], half: int = 18, ask: bool = True
) -> list[int]:
    """For each (x, y, css): how many pixels of the square around (x, y) are close to
    ``css`` in one screenshot of the page (taken after a frame is drawn if ``ask``, else
    of what the page drew by itself)."""
    if ask:
        render(page)
    png_data = page.screenshot()
    counts: list[int] = page.evaluate(
        """async ([data, spots, half]) => {
            const blob = await (await fetch('data:image/png;base64,' + data)).blob();
            const bitmap = await createImageBitmap(blob);
            const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
            const context = canvas.getContext('2d');
            context.drawImage(bitmap, 0, 0);
            return spots.map(([x, y, css]) => {
                const box = context.getImageData(Math.round(x) - half, Math.round(y) - half,
                                                 2 * half, 2 * half).data;
                const want = [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16));
                let n = 0;
                for (let i = 0; i < box.length; i += 4) {
                    if (want.every((v, k) => Math.abs(box[i + k] - v) <= 30)) n += 1;
                }
                return n;
            });
        }""",
        [base64.b64encode(png_data).decode(), spots, half],
    )
    return counts


def css_of(page: Any, incident: int) -> str | None:
    """The status colour the page draws the incident's marker with (None: hidden)."""
    css: str | None = page.evaluate("(id) => window.cimtwin.incidents.markerCss(id)", incident)
    return css


def marker_spot(page: Any, incident: int) -> dict[str, float]:
    spot: dict[str, float] | None = page.evaluate(
        "(id) => window.cimtwin.incidents.screenPosition(id)", incident
    )
    assert spot is not None, f"the marker of incident {incident} is off screen"
    return spot


def test_markers_take_their_status_colour_overdue_ringed(page: Any, seeded: Seeded) -> None:
    spots: list[tuple[float, float, str]] = []
    for name, incident in seeded.ids.items():
        status = "reported" if name == "overdue" else name
        assert css_of(page, incident) == CSS[status]
        spot = marker_spot(page, incident)
        spots += [(spot["x"], spot["y"], CSS[status]), (spot["x"], spot["y"], OVERDUE)]
    counts = colour_counts(page, spots)
    for i, name in enumerate(seeded.ids):
        coloured, ringed = counts[2 * i], counts[2 * i + 1]
        assert coloured > 60, (name, coloured)
        assert (ringed > 15) == (name == "overdue"), (name, ringed)
    overdue = page.evaluate("(id) => window.cimtwin.incidents.incidents.get(String(id))",
                            seeded.ids["overdue"])  # fmt: skip
    assert overdue["overdue"] is True and overdue["escalationLevel"] >= 1
    look = page.evaluate("(id) => window.cimtwin.incidents.entities.get(String(id)).look",
                         seeded.ids["overdue"])  # fmt: skip
    assert look == {"icon": "water", "status": "reported", "overdue": True, "escalated": True}
    row = page.inner_text("[data-layer=incidents]")
    assert "事件" in row and str(len(SEEDS)) in row and "超时" in row and "处置中" in row
    # the layer switched off hides them all
    page.click("[data-layer=incidents] .layer-visible")
    assert css_of(page, seeded.ids["closed"]) is None
    page.click("[data-layer=incidents] .layer-visible")


def _listed(page: Any) -> list[int]:
    ids: list[str] = page.locator("#incident-list li[data-incident]").evaluate_all(
        "(items) => items.map((item) => item.dataset.incident)"
    )
    return [int(i) for i in ids]


def test_the_list_filters_and_sorts_by_due_time(page: Any, seeded: Seeded) -> None:
    page.click("[data-tab=incidents]")
    listed = _listed(page)
    assert sorted(listed) == sorted(seeded.ids.values())
    assert listed[0] == seeded.ids["overdue"]  # the most pressing first
    untimed = {seeded.ids[k] for k in ("closed", "not_accepted", "suspended")}
    assert set(listed[-3:]) == untimed  # no time limit: last

    page.select_option("#incident-filter-status", "handling")
    assert _listed(page) == [seeded.ids["handling"]]
    assert css_of(page, seeded.ids["closed"]) is None
    page.select_option("#incident-filter-status", "open")
    still_open = {v for k, v in seeded.ids.items() if k not in ("closed", "not_accepted")}
    assert set(_listed(page)) == still_open
    page.select_option("#incident-filter-status", "")

    page.select_option("#incident-filter-category", "illegal_construction")
    assert set(_listed(page)) == {seeded.ids[k] for k in ("handling", "handled", "suspended")}
    page.select_option("#incident-filter-category", "")

    page.check("#incident-filter-overdue")
    assert _listed(page) == [seeded.ids["overdue"]]
    assert "超时" in page.inner_text("#incident-list")
    page.uncheck("#incident-filter-overdue")

    page.fill("#incident-filter-text", "天台")
    assert _listed(page) == [seeded.ids["handled"]]
    page.fill("#incident-filter-text", "")
    assert "10 / 10" in page.inner_text("#incident-count")


def test_the_panel_shows_the_timeline_and_photos(page: Any, seeded: Seeded) -> None:
    page.click("[data-tab=incidents]")
    page.click(f"#incident-list [data-incident='{seeded.ids['verified']}'] button")
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    steps = page.locator("#incident-timeline .incident-step")
    actions = steps.evaluate_all("(items) => items.map((item) => item.dataset.action)")
    assert actions == ["report", "register", "dispatch", "accept", "handle", "verify"]
    timeline = page.inner_text("#incident-timeline")
    for label in ("上报", "立案", "派遣", "接收处置", "处置完成", "核查通过", "handle note"):
        assert label in timeline, label
    assert "城市管理和综合执法局" in timeline  # the dispatch names the department
    assert page.inner_text("#incident-panel .incident-status") == "核查通过"
    # the manager may close it now, and nothing else
    offered = page.locator("#incident-actions button[data-action]").evaluate_all(
        "(buttons) => buttons.map((button) => button.dataset.action)"
    )
    assert "close" in offered and not {"register", "dispatch", "verify"} & set(offered)
    photo = page.locator("#incident-timeline img.step-photo")
    assert photo.count() == 1
    page.wait_for_selector("#incident-timeline img.step-photo[data-state=loaded]")
    assert photo.evaluate("(img) => img.naturalWidth") == 24
    photo.click()
    page.wait_for_selector("#incident-lightbox[open] img")
    assert page.evaluate("document.querySelector('#incident-lightbox img').naturalWidth") == 24
    page.keyboard.press("Escape")
    page.wait_for_selector("#incident-lightbox", state="detached")
    page.click("#incident-close")
    assert page.is_hidden("#incident-panel")


def test_a_flood_run_noted_on_an_incident_opens_in_the_simulate_tab(
    page: Any, seeded: Seeded
) -> None:
    page.click("[data-tab=incidents]")
    page.click(f"#incident-list [data-incident='{seeded.ids['overdue']}'] button")
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    line = page.locator("#incident-timeline [data-action=simulation] .step-simulation")
    assert "模拟计算" in page.inner_text("#incident-timeline [data-action=simulation]")
    figures = ["淹没面积 1,234 m²", "受影响建筑 3 栋", "水位 10.40 m"]
    assert line.inner_text().startswith(ZH_COMMA.join(figures))
    line.locator("button").click()
    page.wait_for_function(
        "(id) => window.cimtwin.simulation.state().result.run === id"
        " && !document.getElementById('tab-simulation').hidden",
        arg=seeded.flood_run,
    )
    page.click("[data-tab=incidents]")


def test_a_click_on_a_marker_opens_its_incident(page: Any, seeded: Seeded) -> None:
    spot = marker_spot(page, seeded.ids["suspended"])
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_selector(
        f"#incident-panel[data-incident='{seeded.ids['suspended']}'][data-state=loaded]"
    )
    assert page.inner_text("#incident-panel .incident-status") == "挂账"
    assert "恢复办理" in page.inner_text("#incident-actions")
    page.click("#incident-close")


def test_a_photo_of_the_wrong_type_is_refused_before_sending(page: Any, seeded: Seeded) -> None:
    page.evaluate("(id) => window.cimtwin.incidents.open(id)", seeded.ids["reported"])
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    page.click("#incident-actions button[data-action=comment]")
    page.set_input_files("#incident-form input[type=file]", files=[
        {"name": "notes.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"},
    ])  # fmt: skip
    assert "notes.pdf" in page.inner_text("#incident-form .photo-error")
    assert page.locator("#incident-form .photo-preview").count() == 0
    page.set_input_files("#incident-form input[type=file]", files=[
        {"name": "road.png", "mimeType": "image/png", "buffer": png((200, 30, 30))},
    ])  # fmt: skip
    assert page.is_hidden("#incident-form .photo-error")
    assert page.locator("#incident-form .photo-preview").count() == 1
    page.click("#incident-form button[type=submit]")  # a comment needs a note
    assert page.inner_text("#incident-message") == "请填写备注。"
    page.click("#incident-close")


def test_a_step_on_a_changed_incident_reloads_it(
    viewer: ViewerPage, page: Any, server: str, seeded: Seeded, manager: Account
) -> None:
    incident = seeded.ids["registered"]
    page.evaluate("(id) => window.cimtwin.incidents.open(id)", incident)
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    version = int(page.get_attribute("#incident-panel", "data-version"))
    page.click("#incident-actions button[data-action=comment]")
    page.fill("#incident-form textarea", "seen from the page")
    # someone else comments meanwhile
    answer = step(server, manager, incident, "comment", note="from elsewhere", version=version)
    assert answer.status_code == 200, answer.text
    page.click("#incident-form button[type=submit]")
    page.wait_for_function(
        "(v) => Number(document.querySelector('#incident-panel').dataset.version) > v",
        arg=version,
    )
    assert "已被他人修改" in page.inner_text("#incident-message")
    assert "from elsewhere" in page.inner_text("#incident-timeline")
    assert "seen from the page" not in page.inner_text("#incident-timeline")
    page.click("#incident-close")
    refused = [e for e in viewer.errors if "status of 409" in e]
    assert len(refused) == 1  # the browser logs the refused request: expected here
    viewer.errors.remove(refused[0])


def test_a_report_at_a_point_picked_on_the_map(page: Any, seeded: Seeded) -> None:
    lon, lat = 113.3217, 23.1140  # in Huacheng's south community, clear of the markers
    page.click("[data-tab=incidents]")
    page.click("#incident-report-open")
    page.wait_for_selector("#incident-panel[data-state=report]")
    page.click("#report-submit")  # no place yet
    assert "尚未选择位置" in page.inner_text("#report-message")
    page.click("#report-pick")
    spot = page.evaluate(
        "([lon, lat]) => window.cimtwin.screenPositionOf(lon, lat,"
        " window.cimtwin.incidents.groundHeight())",
        [lon, lat],
    )
    page.mouse.click(spot["x"], spot["y"])
    assert "113.32" in page.inner_text("#report-place")
    page.select_option("#report-category", "manhole_cover")
    page.fill("#report-title", "井盖缺失")
    page.fill("#report-description", "人行道井盖缺失, 已设围挡")
    photo = {"name": "cover.png", "mimeType": "image/png", "buffer": png((90, 90, 90))}
    page.set_input_files("#incident-report-form input[type=file]", files=[photo])
    page.click("#report-submit")
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    detail = page.evaluate("window.cimtwin.incidents.panel.detail")
    assert detail["category"] == "manhole_cover" and detail["title"] == "井盖缺失"
    assert detail["lon"] == pytest.approx(lon, abs=2e-4)
    assert detail["lat"] == pytest.approx(lat, abs=2e-4)
    assert detail["jurisdiction"] == SOUTH
    assert [s["action"] for s in detail["steps"]] == ["report"]
    assert [a["filename"] for a in detail["steps"][0]["attachments"]] == ["cover.png"]
    assert "已上报事件" in page.inner_text("#incident-message")
    assert css_of(page, detail["id"]) == CSS["reported"]
    assert detail["id"] in _listed(page)
    page.click("#incident-close")


def test_the_page_reads_well_in_chinese_and_english(page: Any, seeded: Seeded) -> None:
    page.click("[data-tab=incidents]")
    page.evaluate("(id) => window.cimtwin.incidents.open(id)", seeded.ids["overdue"])
    page.wait_for_selector("#incident-panel[data-state=loaded]")
    level = page.evaluate("window.cimtwin.incidents.panel.detail.escalationLevel")
    assert level >= 1  # one level per limit elapsed
    text = page.inner_text("#incident-panel")
    for label in ("积水内涝", "上报", "超时", f"已升级 {level} 级", "办理期限", "办理过程",
                  "可办理操作", "超时升级", "特急"):  # fmt: skip
        assert label in text, label
    assert page.inner_text("[data-tab=incidents]") == "事件"
    screenshot(page, "incidents-zh")
    page.evaluate("window.cimtwin.setLanguage('en')")
    text = page.inner_text("#incident-panel")
    for label in ("Waterlogging", "Overdue", f"Escalated {level} level(s)", "History", "Urgent"):
        assert label in text, label
    assert page.inner_text("[data-tab=incidents]") == "Incidents"
    assert "Being handled" in page.inner_text("[data-layer=incidents]")
    page.evaluate("window.cimtwin.setLanguage('zh-CN')")
    page.click("#incident-close")


# ---------------------------------------------------------------- the whole loop


def _open_incident(page: Any, incident: int) -> list[str]:
    """Open ``incident`` in ``page``'s panel; the actions it offers there."""
    page.evaluate("(id) => window.cimtwin.incidents.open(id)", incident)
    page.wait_for_selector(f"#incident-panel[data-incident='{incident}'][data-state=loaded]")
    offered: list[str] = page.locator("#incident-actions button[data-action]").evaluate_all(
        "(buttons) => buttons.map((button) => button.dataset.action)"
    )
    return offered


def _refused(page: Any, incident: int, action: str, **fields: Any) -> str:
    """``action`` is not offered on ``page``, and forced from there it is refused (403)
    with its reason shown; the text shown."""
    assert action not in _open_incident(page, incident)
    taken = page.evaluate(
        "([action, fields]) => window.cimtwin.incidents.panel.takeStep(action, fields)",
        [action, fields],
    )
    assert taken is False
    shown: str = page.inner_text("#incident-message")
    refused = page.evaluate("window.cimtwin.util.t('incident.refused', {status: 403, reason: ''})")
    assert shown.startswith(refused) and len(shown) > len(refused) + 5, shown
    return shown


def _take(page: Any, incident: int, action: str, status: str, **form: Any) -> None:
    """Take ``action`` on ``page`` through its form (note, department, jurisdiction,
    photos); the incident reaches ``status``."""
    assert action in _open_incident(page, incident)
    page.click(f"#incident-actions button[data-action={action}]")
    if "note" in form:
        page.fill("#incident-form textarea[name=note]", form["note"])
    if "department" in form:
        page.select_option("#incident-form select[name=department]", form["department"])
        page.wait_for_selector(
            f"#incident-form select[name=department_jurisdiction] option[value='{form['where']}']",
            state="attached",
        )
        page.select_option("#incident-form select[name=department_jurisdiction]", form["where"])
    if "photos" in form:
        page.set_input_files("#incident-form input[type=file]", files=form["photos"])
        page.wait_for_selector("#incident-form .photo-preview")
    page.click("#incident-form button[type=submit]")
    page.wait_for_selector(f"#incident-panel[data-status={status}]")
    assert page.get_attribute("#incident-message", "data-kind") == "info"


def _alert_rule(server: str, seeded: Seeded, manager: Account) -> int:
    """The town's rule on the water level: above 2.5 m raises (below 2.2 m clears) an
    alert that opens a waterlogging incident; its id."""
    body = {"name": "花城大道积水", "condition": "above", "raiseValue": 2.5,
            "clearValue": 2.2, "durationSeconds": 0, "datastreamId": seeded.datastream,
            "category": "waterlogging"}  # fmt: skip
    made = httpx.post(f"{server}/api/rules", json=body, headers=manager.headers, timeout=30)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_the_whole_loop_from_a_sensor_to_a_closed_incident(
    browser: Any, viewer: ViewerPage, server: str, seeded: Seeded, manager: Account
) -> None:
    centre = viewer.page
    centre.click("[data-tab=incidents]")
    centre.evaluate("window.__sameDocument = true")
    water = account(server, "operator", department="water")
    inspector = account(server, "operator")
    guest = account(server, "viewer")
    transport = account(server, "operator", department="transport")
    pages = {who: open_as(browser, server, acc) for who, acc in
             (("water", water), ("inspector", inspector), ("guest", guest))}  # fmt: skip
    try:
        # the water level crosses its rule's threshold: an alert opens an incident, which
        # appears on the command centre's page without a reload
        rule = _alert_rule(server, seeded, manager)
        observe(server, inspector, seeded.datastream, 3.2)
        incident = centre.wait_for_function(
            "(rule) => [...window.cimtwin.incidents.incidents.values()]"
            ".find((i) => i.ruleId === rule)?.id",
            arg=rule,
            timeout=20_000,
        ).json_value()
        centre.wait_for_selector(f"#incident-list li[data-incident='{incident}']")
        summary = centre.evaluate(
            "(id) => window.cimtwin.incidents.incidents.get(String(id))", incident
        )
        assert summary["source"] == "sensor" and summary["alertActive"] is True
        assert summary["category"] == "waterlogging"
        assert centre.evaluate("window.__sameDocument") is True
        assert css_of(centre, incident) == CSS["reported"]

        # registered by the manager; a department's operator may not
        _refused(pages["water"].page, incident, "register")
        _take(centre, incident, "register", "registered")
        # dispatched to the town's water department; an inspector may not
        _refused(pages["inspector"].page, incident, "dispatch", department="water",
                 departmentJurisdiction=HUACHENG)  # fmt: skip
        _take(centre, incident, "dispatch", "dispatched", department="water", where=HUACHENG)
        # taken up by the water department's operator; not by the manager (no department),
        # nor by another department's operator
        _refused(centre, incident, "accept")
        assert step(server, transport, incident, "accept").status_code == 403
        water_page = pages["water"].page
        _take(water_page, incident, "accept", "handling")
        # handled, with a note and a photo; an inspector may not report it handled
        _refused(pages["inspector"].page, incident, "handle", note="done")
        photo = {"name": "pumped.png", "mimeType": "image/png", "buffer": png((30, 90, 200))}
        note = "积水已抽排, 道路恢复通行"
        _take(water_page, incident, "handle", "handled", note=note, photos=[photo])
        # verified on the spot by an inspector; a viewer may not
        _refused(pages["guest"].page, incident, "verify")
        _take(pages["inspector"].page, incident, "verify", "verified")
        # closed by the manager; the inspector may not
        _refused(pages["inspector"].page, incident, "close")
        _take(centre, incident, "close", "closed")
    finally:
        for opened in pages.values():
            opened.page.close()

    actions = centre.locator("#incident-timeline .incident-step").evaluate_all(
        "(items) => items.map((item) => item.dataset.action)"
    )
    # the alert on a water level queued a flood run, noted as a step (api.live_simulations)
    assert "simulation" in actions
    assert [a for a in actions if a not in ("alert_raised", "alert_cleared", "comment",
                                           "simulation")] == [
        "report", "register", "dispatch", "accept", "handle", "verify", "close"
    ]  # fmt: skip
    handled = centre.locator("#incident-timeline .incident-step[data-action=handle]")
    assert "积水已抽排" in handled.inner_text() and water.name in handled.inner_text()
    centre.wait_for_selector(
        "#incident-timeline .incident-step[data-action=handle] img.step-photo[data-state=loaded]"
    )
    assert centre.inner_text("#incident-panel .incident-status") == "结案"
    assert css_of(centre, incident) == CSS["closed"]
    # the page drew it in its new colour by itself, not in the last one it had seen
    spot = marker_spot(centre, incident)
    centre.wait_for_timeout(1_000)
    assert colour_counts(centre, [(spot["x"], spot["y"], CSS["closed"])], ask=False)[0] > 60
    assert centre.evaluate("window.__sameDocument") is True
    screenshot(centre, "incident-loop-zh")
