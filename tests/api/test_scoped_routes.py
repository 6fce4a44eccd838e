"""Every route answers within the caller's jurisdiction: a town's user gets 404 for another
town's objects, sources and jobs and sees none of them in lists, searches, statistics and
OGC items; the province sees both towns; and every route depends on the caller's scope
unless it is one of the few public ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import BaseRoute

from api.app import create_app
from api.auth.deps import file_reader
from api.auth.deps import signed_in as signed_in_dependency
from api.auth.state import auth_state_of
from api.deps import caller_scope
from api.jobs import JobQueue
from api.open311.callers import open311_caller
from api.routes.sensors import stream_principal
from cim.crs import transformer
from cim.ops.database import OpsDatabase
from cim.ops.incident_tables import IncidentAttachment
from cim.ops.sensor_tables import Thing
from cim.scope import Scope
from tests.scoped_city import (
    PLACES,
    PROVINCE,
    TOWN_A,
    TOWN_B,
    ScopedCity,
    build_scoped_city,
)
from tests.sensor_rows import add_datastream
from tests.signin import signed_in

# Routes anyone may reach: liveness, the API's description, and the generated files (tiles,
# terrain, imagery), which carry no attributes; signing in is public too.
PUBLIC_ROUTES = {
    "/api/health",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/api/auth/token",
    "/api/auth/refresh",
    # Open311 GeoReport v2: discovery and the service list and definitions are the incident
    # categories of the code list, the same for every jurisdiction; the standard reads them
    # without a key
    "/open311/v2/discovery.{fmt}",
    "/open311/v2/services.{fmt}",
    "/open311/v2/services/{service_code}.{fmt}",
    # the shipped code lists (class, property set, use names, the message catalogue):
    # reference data the sign-in page needs too, no city data
    "/api/codes/{name}",
}
# Routes that read no city data but need a signed-in caller (who they are, their audit log
# within their scope, their sign-out), and the files any signed-in reader may stream.
ACCOUNT_ROUTES = {"/api/me", "/api/auth/logout", "/api/audit"}
FILE_ROUTES = {"/tiles/{path}", "/terrain/{path}", "/imagery/{z}/{x}/{y}.png"}
# The event stream: opened with a one-use ticket (EventSource sends no header), scoped by it.
STREAM_ROUTES = {"/api/sensors/stream", "/api/events/stream"}
# Open311 service requests: the caller is the standard's api_key field (or the headers);
# a key sees its jurisdiction, an anonymous caller the city's public list (the requests
# citizens made, without contact details) when CIMTWIN_OPEN311_PUBLIC allows it. Their
# scoping is tested in tests/api/open311.
OPEN311_ROUTES = {"/open311/v2/requests.{fmt}", "/open311/v2/requests/{service_request_id}.{fmt}"}
# What town A's user must never see of town B: ids, names, sources, its only class.
B_MARKERS = ("B-site", "B-bldg", "B-storey", "B-wall", "B-roof", "blocks.gpkg:B", "B Hall",
             "b2.ifc", "b.ifc", "IfcRoof", "far.gpkg")  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("scoped-api") / "city")


@pytest.fixture(scope="module")
def jobs(city: ScopedCity, app: FastAPI) -> dict[str, str]:
    """A queued job of each town and one without a jurisdiction, and a datastream in each
    town (after the app's Things(1)): their ids."""
    queue = JobQueue(city.folder)
    ids = {
        key: queue.submit("tile", {}, jurisdiction=code).id
        for key, code in (("A", TOWN_A), ("B", TOWN_B), ("none", None))
    }
    db = auth_state_of(app).db
    return {**ids, **town_datastreams(db), **town_b_incident(db), **town_b_run(city)}


def town_b_run(city: ScopedCity) -> dict[str, str]:
    """A simulation run of town B (a raster, a vector layer and values, each "depth"): its
    id, as "run B"."""
    from cim.result_store import ResultStore
    from tests.api.simulations.tiny import tiny_result

    record = ResultStore(city.folder).save(
        tiny_result(), jurisdiction=TOWN_B, trigger=None, started=datetime.now(UTC)
    )
    return {"run B": record.id}


def town_b_incident(db: OpsDatabase) -> dict[str, str]:
    """An incident of town B with a photo: its id and the photo's, as "incident B" and
    "attachment B"."""
    from simulation.incidents.actors import Actor
    from simulation.incidents.incidents import AttachmentIn, IncidentReport, report_incident
    from tests.simulation.incidents.people import png_bytes

    reporter = Actor("B-inspector", "user", TOWN_B, Scope.of(TOWN_B), frozenset({"report"}))
    photo = AttachmentIn("b.png", "image/png", png_bytes())
    new = IncidentReport("road_damage", "B-site pothole", "", "inspector", TOWN_B,
                         attachments=(photo,))  # fmt: skip
    record = report_incident(db, new, reporter, now_us=1_700_000_000_000_000)
    with db.transaction() as session:
        attachment = session.scalar(select(IncidentAttachment.id))
    return {"incident B": str(record.id), "attachment B": str(attachment)}


def town_b_rule(db: OpsDatabase, streams: dict[str, str]) -> str:
    """An alert rule of town B on its datastream: its id."""
    from simulation.incidents.rules import RuleIn, create_rule

    rule = RuleIn("B Hall water high", TOWN_B, "above", 2.5,
                  datastream_id=int(streams["datastream B"]))  # fmt: skip
    return str(create_rule(db, rule, creator="b", scope=Scope.everything(), now_us=0).id)


def town_datastreams(db: OpsDatabase) -> dict[str, str]:
    """A datastream in each town's building ("A Hall gauge", "B Hall gauge"): their ids, as
    "datastream A" and "datastream B"; and an alert rule on town B's ("rule B")."""
    ids = {}
    for key, code in (("A", TOWN_A), ("B", TOWN_B)):
        lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(*PLACES[key])
        datastream = add_datastream(db, name=f"{key} Hall gauge", jurisdiction=code,
                                    city_object=f"{key}-bldg", lon=lon, lat=lat,
                                    observations=[(1_700_000_000_000_000, 1.0)])  # fmt: skip
        ids[f"datastream {key}"] = str(datastream)
    ids["rule B"] = town_b_rule(db, ids)
    return ids


def _scope_of_request(request: Request) -> Scope:
    """The scope the test client plays (header ``X-Test-Jurisdiction``; none: everything)."""
    code = request.headers.get("x-test-jurisdiction")
    return Scope.everything() if code is None else Scope.of(code)


@pytest.fixture(scope="module")
def app(city: ScopedCity) -> FastAPI:
    app = create_app(city.folder, worker=False)
    app.dependency_overrides[caller_scope] = _scope_of_request
    add_town_b_sensor(app)
    return app


def add_town_b_sensor(app: FastAPI) -> None:
    """A SensorThings Thing of town B, ``Things(1)``, for the walks over the routes."""
    with auth_state_of(app).db.transaction() as session:
        session.add(Thing(id=1, name="B-site gauge", description="B", jurisdiction=TOWN_B))


@pytest.fixture()
def town_a(app: FastAPI) -> TestClient:
    return TestClient(app, headers={"X-Test-Jurisdiction": TOWN_A})


@pytest.fixture()
def town_b(app: FastAPI) -> TestClient:
    return TestClient(app, headers={"X-Test-Jurisdiction": TOWN_B})


@pytest.fixture()
def province(app: FastAPI) -> TestClient:
    return TestClient(app, headers={"X-Test-Jurisdiction": PROVINCE})


def _read_routes(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """The GET operations of the OpenAPI document, less the public ones."""
    paths = app.openapi()["paths"]
    skipped = PUBLIC_ROUTES | ACCOUNT_ROUTES | FILE_ROUTES | STREAM_ROUTES | OPEN311_ROUTES
    return [(path, item["get"]) for path, item in paths.items()
            if "get" in item and path not in skipped]  # fmt: skip


def _url(path: str, operation: dict[str, Any], jobs: dict[str, str]) -> str:
    """``path`` with its parameters naming town B's things, and its required queries."""
    values = {"object_id": "B-wall", "feature_id": "B-roof", "collection_id": "IfcRoof",
              "source": "b2.ifc", "job_id": jobs["B"], "code": TOWN_B,
              "resource_path": "Things(1)", "datastream_id": jobs["datastream B"],
              "incident_id": jobs["incident B"], "attachment_id": jobs["attachment B"],
              "rule_id": jobs["rule B"], "run_id": jobs["run B"], "other_id": jobs["run B"],
              "name": "depth"}  # fmt: skip
    queries = {"q": "Hall", "lon": "113.32", "lat": "23.12"}
    url = path
    required = []
    for parameter in operation.get("parameters", []):
        name, place = parameter["name"], parameter["in"]
        if place == "path":
            assert name in values, f"{path}: give the test a town B value for {{{name}}}"
            url = url.replace(f"{{{name}}}", values[name])
        elif place == "query" and parameter.get("required"):
            assert name in queries, f"{path}: give the test a value for ?{name}="
            required.append(f"{name}={queries[name]}")
    return url + ("?" + "&".join(required) if required else "")


def test_every_read_route_hides_another_towns_things(
    app: FastAPI, town_a: TestClient, jobs: dict[str, str]
) -> None:
    routes = _read_routes(app)
    assert len(routes) >= 20  # objects, search, stats, sources, jobs, OGC ...
    for path, operation in routes:
        url = _url(path, operation, jobs)
        response = town_a.get(url)
        expected = 404 if "{" in path else 200
        assert response.status_code == expected, (url, response.text[:300])
        # a 404 may echo what was asked for, nothing else
        markers = [m for m in (*B_MARKERS, jobs["B"], "B Hall gauge", "B-site pothole")
                   if m not in url]  # fmt: skip
        leaked = [marker for marker in markers if marker in response.text]
        assert not leaked, (url, leaked)


def test_town_b_reads_what_town_a_is_refused(
    app: FastAPI, town_b: TestClient, jobs: dict[str, str]
) -> None:
    for path, operation in _read_routes(app):
        if "{" in path:
            url = _url(path, operation, jobs)
            response = town_b.get(url)
            assert response.status_code == 200, (url, response.text[:300])


def test_lists_show_the_towns_own_things(
    city: ScopedCity, town_a: TestClient, province: TestClient, jobs: dict[str, str]
) -> None:
    listed = town_a.get("/api/objects", params={"limit": 1000}).json()
    assert {o["id"] for o in listed["objects"]} == city.ids["A"]
    assert listed["total"] == len(city.ids["A"])
    assert town_a.get("/api/city").json()["object_count"] == len(city.ids["A"])
    assert {s["source"] for s in town_a.get("/api/sources").json()} == {"a.ifc", "blocks.gpkg"}
    blocks = [s for s in town_a.get("/api/sources").json() if s["source"] == "blocks.gpkg"]
    assert blocks[0]["objects"] == 1  # of the layer's two buildings, one lies in town A
    assert {j["id"] for j in town_a.get("/api/jobs").json()["jobs"]} >= {jobs["A"]}
    assert jobs["none"] not in town_a.get("/api/jobs").text
    assert town_a.get(f"/api/jobs/{jobs['none']}").status_code == 404
    hits = town_a.get("/api/search", params={"q": "Hall", "limit": 200}).json()["results"]
    assert {h["id"] for h in hits} == city.ids["A"]
    everyone = province.get("/api/objects", params={"limit": 1000}).json()
    assert {o["id"] for o in everyone["objects"]} == city.ids["A"] | city.ids["B"]
    province_jobs = {j["id"] for j in province.get("/api/jobs").json()["jobs"]}
    assert {jobs["A"], jobs["B"]} <= province_jobs and jobs["none"] not in province_jobs


def test_ogc_items_and_collections_are_the_towns(
    city: ScopedCity, town_a: TestClient, province: TestClient
) -> None:
    items = town_a.get("/ogc/collections/building/items", params={"limit": 100}).json()
    assert [f["id"] for f in items["features"]] == ["blocks.gpkg:A"]
    assert items["numberMatched"] == 1
    both = province.get("/ogc/collections/building/items", params={"limit": 100}).json()
    assert {f["id"] for f in both["features"]} == {"blocks.gpkg:A", "blocks.gpkg:B"}
    collections = {c["id"] for c in town_a.get("/ogc/collections").json()["collections"]}
    assert "IfcRoof" not in collections and "building" in collections
    a_box = town_a.get("/ogc/collections/building").json()["extent"]["spatial"]["bbox"][0]
    all_box = province.get("/ogc/collections/building").json()["extent"]["spatial"]["bbox"][0]
    assert a_box[2] < all_box[2]  # town B lies east of town A
    refused = town_a.get("/ogc/collections/building/items/blocks.gpkg:B")
    assert refused.status_code == 404
    assert province.get("/ogc/collections/building/items/blocks.gpkg:B").status_code == 200


def _polygon_around_both_towns() -> dict[str, Any]:
    (ax, ay), (bx, _) = PLACES["A"], PLACES["B"]
    to_lonlat = transformer("EPSG:4547", "EPSG:4326")
    corners = [(ax - 100, ay - 100), (bx + 200, ay - 100), (bx + 200, ay + 200),
               (ax - 100, ay + 200)]  # fmt: skip
    ring = [list(to_lonlat.transform(x, y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_posted_reads_stay_in_the_town(
    city: ScopedCity, town_a: TestClient, province: TestClient
) -> None:
    polygon = _polygon_around_both_towns()
    found = town_a.post("/api/objects/query", json={"polygon": polygon, "limit": 100}).json()
    assert {o["id"] for o in found["objects"]} == city.ids["A"]
    assert found["total"] == len(city.ids["A"])
    everything = town_a.post("/api/objects/query", json={}).json()
    assert {o["id"] for o in everything["objects"]} == city.ids["A"]
    values = town_a.post("/api/objects/values", json={"attribute": "height"}).json()
    assert set(values["values"]) <= city.ids["A"] and values["count"] > 0
    asked = town_a.post("/api/objects/values", json={"attribute": "height", "ids": ["B-wall"]})
    assert asked.json()["values"] == {}
    assert town_a.post("/api/stats", json=polygon).json()["buildings"] == 2
    assert province.post("/api/stats", json=polygon).json()["buildings"] == 4
    assert town_a.get("/api/stats").json()["buildings"] == 2
    assert province.get("/api/stats").json()["buildings"] == 4
    assert town_a.get("/api/stats", params={"district": "B-site"}).status_code == 404
    assert town_a.get("/api/stats", params={"district": "A-bldg"}).json()["buildings"] == 1


def test_a_tiling_job_records_its_submitters_jurisdiction(
    app: FastAPI, town_a: TestClient, town_b: TestClient
) -> None:
    manager = signed_in(app, roles=("manager",), jurisdiction=TOWN_A)
    job = town_a.post("/api/tilings", headers=manager).json()
    assert town_a.get(job["url"]).json()["jurisdiction"] == TOWN_A
    assert town_b.get(job["url"]).status_code == 404
    assert job["id"] not in town_b.get("/api/jobs").text
    viewer = signed_in(app, roles=("viewer",), jurisdiction=TOWN_A)
    assert town_a.post("/api/tilings", headers=viewer).status_code == 403


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _served_routes(app: FastAPI) -> list[BaseRoute]:
    """The routes as the app serves them: since FastAPI 0.16x an included router is one
    entry of ``app.routes``, whose routes (with the dependencies the inclusion adds) FastAPI
    lists through a private helper; older versions list them in ``app.routes``."""
    effective = getattr(fastapi.routing, "_iter_included_route_candidates", None)
    return list(app.routes) if effective is None else list(effective(app.routes))


def _route(app: FastAPI, path: str, method: str) -> APIRoute:
    return next(route for route in _served_routes(app) if isinstance(route, APIRoute)
                and route.path_format == path and method.upper() in route.methods)  # fmt: skip


def test_every_route_depends_on_the_callers_scope_or_is_public(app: FastAPI) -> None:
    operations = [(path, method) for path, item in app.openapi()["paths"].items()
                  for method in item if path not in PUBLIC_ROUTES]  # fmt: skip
    guard = {
        **dict.fromkeys(ACCOUNT_ROUTES, signed_in_dependency),
        **dict.fromkeys(FILE_ROUTES, file_reader),
        **dict.fromkeys(STREAM_ROUTES, stream_principal),
        **dict.fromkeys(OPEN311_ROUTES, open311_caller),
    }
    unscoped = [f"{method.upper()} {path}" for path, method in operations
                if not _depends_on(_route(app, path, method).dependant,
                                   guard.get(path, caller_scope))]  # fmt: skip
    assert not unscoped, f"routes that do not take the caller's scope: {unscoped}"
    assert len(operations) > 20


def test_the_scope_walk_catches_a_route_without_a_scope(city: ScopedCity) -> None:
    app = create_app(city.folder, worker=False)

    @app.get("/api/leaky")
    def leaky() -> dict[str, str]:
        return {}

    assert not _depends_on(_route(app, "/api/leaky", "get").dependant, caller_scope)
    assert _depends_on(_route(app, "/api/objects/{object_id}", "get").dependant, caller_scope)


def test_a_town_id_is_refused_like_a_missing_one(town_a: TestClient) -> None:
    outside = town_a.get("/api/objects/B-wall")
    missing = town_a.get("/api/objects/Z-wall")
    assert (outside.status_code, missing.status_code) == (404, 404)
    assert outside.json()["detail"].replace("B-wall", "Z-wall") == missing.json()["detail"]


def test_the_unlimited_scope_sees_what_lies_outside_every_jurisdiction(
    city: ScopedCity, app: FastAPI, province: TestClient
) -> None:
    assert province.get("/api/objects/far.gpkg:far").status_code == 404
    client = TestClient(app)  # no override: the default scope sees everything
    assert client.get("/api/objects/far.gpkg:far").status_code == 200
    assert client.get("/api/city").json()["object_count"] == sum(map(len, city.ids.values()))
