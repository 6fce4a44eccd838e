"""Authorization end to end, with real accounts and tokens: a town's user sees and changes
only its town, the province sees both towns, writes need their role, imports must land in
the importer's jurisdiction, tiles need a signed-in reader unless anonymous reading is on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.state import auth_state_of
from api.jobs import JobQueue
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import ImportOptions, import_ifc
from cim.errors import OutsideScopeError
from cim.layout import CityLayout
from cim.scope import Scope
from cim.store import CityStore
from tests.api.storedigest import store_digest
from tests.api.test_scoped_routes import (
    B_MARKERS,
    _read_routes,
    _url,
    add_town_b_sensor,
    town_b_incident,
    town_b_run,
    town_datastreams,
)
from tests.scoped_city import PLACES, PROVINCE, TOWN_A, TOWN_B, ScopedCity, build_scoped_city
from tests.signin import signed_in

# POST routes that only read (a query in a body): any signed-in reader may call them.
READING_POSTS = {"/api/objects/query", "/api/objects/values", "/api/stats",
                 "/api/sensors/stream/ticket", "/api/events/stream/ticket"}  # fmt: skip
# Sign-in and its session: open to anyone, or to the caller's own session.
SESSION_ROUTES = {"/api/auth/token", "/api/auth/refresh", "/api/auth/logout"}
# Open311 answers a missing api_key with 403, as its standard says (not 401).
OPEN311_WRITES = {"/open311/v2/requests.1"}  # {fmt} given as 1, as every parameter below


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("authorized") / "city")


@pytest.fixture(scope="module")
def app(city: ScopedCity) -> FastAPI:
    app = create_app(city.folder, worker=False)
    add_town_b_sensor(app)
    return app


@pytest.fixture(scope="module")
def jobs(city: ScopedCity, app: FastAPI) -> dict[str, str]:
    queue = JobQueue(city.folder)
    ids = {key: queue.submit("tile", {}, jurisdiction=code).id
           for key, code in (("A", TOWN_A), ("B", TOWN_B))}  # fmt: skip
    db = auth_state_of(app).db
    return {**ids, **town_datastreams(db), **town_b_incident(db), **town_b_run(city)}


def client_of(app: FastAPI, role: str, jurisdiction: str) -> TestClient:
    client = TestClient(app)
    client.headers.update(signed_in(app, roles=(role,), jurisdiction=jurisdiction))
    return client


def test_a_towns_user_gets_nothing_of_the_other_town_on_any_read_route(
    app: FastAPI, jobs: dict[str, str]
) -> None:
    town_a = client_of(app, "viewer", TOWN_A)
    town_b = client_of(app, "viewer", TOWN_B)
    for path, operation in _read_routes(app):
        url = _url(path, operation, jobs)
        answer = town_a.get(url)
        assert answer.status_code == (404 if "{" in path else 200), (url, answer.text[:200])
        leaked = [m for m in (*B_MARKERS, jobs["B"]) if m not in url and m in answer.text]
        assert not leaked, (url, leaked)
        if "{" in path:  # what A is refused, B reads
            assert town_b.get(url).status_code == 200, url


def test_the_province_sees_both_towns_and_a_town_its_own(app: FastAPI, city: ScopedCity) -> None:
    province = client_of(app, "viewer", PROVINCE)
    town_a = client_of(app, "viewer", TOWN_A)
    listed = {
        o["id"] for o in province.get("/api/objects", params={"limit": 1000}).json()["objects"]
    }
    assert listed == city.ids["A"] | city.ids["B"]  # not "far", outside every jurisdiction
    mine = {o["id"] for o in town_a.get("/api/objects", params={"limit": 1000}).json()["objects"]}
    assert mine == city.ids["A"]
    counts = [c.get("/api/city").json()["object_count"] for c in (province, town_a)]
    assert counts == [len(city.ids["A"] | city.ids["B"]), len(city.ids["A"])]
    everything = TestClient(app, headers=signed_in(app))  # the province's admin
    assert everything.get("/api/city").json()["object_count"] == sum(map(len, city.ids.values()))


def test_every_write_needs_its_role(app: FastAPI) -> None:
    viewer = client_of(app, "viewer", TOWN_A)
    # path parameters as 1: routes whose ids match digits only are reached too
    writes = [(re.sub(r"\{[^}]+\}", "1", path), method)
              for path, item in app.openapi()["paths"].items()
              for method in item if method != "get"
              and path not in READING_POSTS | SESSION_ROUTES]  # fmt: skip
    assert ("/api/imports", "post") in writes and ("/api/tilings", "post") in writes
    for path, method in writes:
        answer = viewer.request(method.upper(), path, files={"files": ("a.ifc", b"x")})
        assert answer.status_code == 403, (path, answer.text)
    anonymous = TestClient(app)
    for path, method in writes:
        expected = 403 if path in OPEN311_WRITES else 401
        assert anonymous.request(method.upper(), path).status_code == expected, path
    manager = client_of(app, "manager", TOWN_A)
    assert manager.post("/api/tilings").status_code == 202
    for path in READING_POSTS:
        assert viewer.post(path, json={}).status_code != 403, path


def test_an_import_job_carries_the_importers_jurisdiction(app: FastAPI, city: ScopedCity) -> None:
    operator = client_of(app, "operator", TOWN_A)
    answer = operator.post("/api/imports", files={"files": ("new.ifc", b"ISO-10303-21;")})
    assert answer.status_code == 202, answer.text
    job = JobQueue(city.folder).table.get(answer.json()["id"], scope=Scope.everything())
    assert job.jurisdiction == TOWN_A and job.params["scope"] == Scope.of(TOWN_A).prefix


def test_an_import_outside_the_importers_jurisdiction_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    folder = build_scoped_city(tmp_path / "city").folder
    x, y = PLACES["B"]
    in_b = write_demo_building(BuildingSpec("B Tower", x + 300, y + 300, 2), tmp_path / "t.ifc")
    before = store_digest(folder)
    with CityStore.open(folder) as store:
        store.limit_writes(Scope.of(TOWN_A))
        with pytest.raises(OutsideScopeError, match=f"{TOWN_B}.*nothing was stored"):
            import_ifc(store, [in_b], ImportOptions())
        # replacing town A's source from town B is refused too
        store.limit_writes(Scope.of(TOWN_B))
        refused = pytest.raises(OutsideScopeError, match=r"a\.ifc has .* outside your")
        with refused, store.transaction() as writer:
            writer.remove_source("a.ifc")
    assert store_digest(folder) == before
    with CityStore.open(folder) as store:  # the same import inside its town is stored
        store.limit_writes(Scope.of(TOWN_B))
        import_ifc(store, [in_b], ImportOptions())
        everywhere = {o.id for o in store.objects(scope=Scope.everything()) if o.source == "t.ifc"}
        in_town_b = {o.id for o in store.objects(scope=Scope.of(TOWN_B)) if o.source == "t.ifc"}
    assert everywhere and in_town_b == everywhere


@pytest.mark.parametrize("anonymous_read", [False, True])
def test_tiles_need_a_signed_in_reader_unless_anonymous_reading_is_on(
    city: ScopedCity, anonymous_read: bool
) -> None:
    tiles = CityLayout(city.folder).tiles
    tiles.mkdir(exist_ok=True)
    (tiles / "tileset.json").write_text('{"asset": {"version": "1.1"}}')
    app = create_app(city.folder, worker=False, anonymous_read=anonymous_read)
    anonymous = TestClient(app)
    assert anonymous.get("/tiles/tileset.json").status_code == (200 if anonymous_read else 401)
    assert anonymous.get("/api/objects").status_code == 401  # the attributes never
    signed = client_of(app, "viewer", TOWN_A)
    assert signed.get("/tiles/tileset.json").status_code == 200
