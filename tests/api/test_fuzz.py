"""Every GET route of the OpenAPI document, called with hostile values: never a 500.

A small hand-written walk: each path parameter and each query parameter in turn gets each
hostile value (the others stay valid), so a route that trusts a number, a name or a
length shows up as a server error here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.signin import admin_client

HOSTILE = ["nan", "NaN", "inf", "-inf", "1e400", "-1e400", str(2**63), str(-(2**63) - 1),
           "-1", "0", "\x00", "a\x00b", "x" * 300, "1,2,3,4", "nan,nan,nan,nan",
           "-1e400,0,1e400,1", "%", "../../city.gpkg", "\u202e\ufffd"]  # fmt: skip


# Event streams never end: an in-process call would wait for them forever. Their calls
# carry an unknown ticket (their filters are tested with their routes).
STREAMS = {"/api/sensors/stream", "/api/events/stream"}


def _document(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _valid_path_values(client: TestClient) -> dict[str, str]:
    """A value of each path parameter that names something in the city."""
    wall = client.get("/api/objects", params={"class": "IfcWall", "limit": 1}).json()
    wall_id = wall["objects"][0]["id"]
    source = client.get("/api/sources").json()[0]["source"]
    return {"object_id": wall_id, "feature_id": wall_id, "collection_id": "IfcWall",
            "source": source, "path": "tileset.json", "z": "0", "x": "0", "y": "0"}  # fmt: skip


def _calls(client: TestClient) -> list[tuple[str, str, dict[str, str]]]:
    """``(template, url, query)`` for each GET route, parameter and hostile value."""
    known = _valid_path_values(client)
    calls = []
    for template, operations in _document(client)["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        parameters = get.get("parameters", [])
        path_names = re.findall(r"{(\w+)(?::path)?}", template)
        query_names = [p["name"] for p in parameters if p["in"] == "query"]
        valid = {name: known.get(name, "x") for name in path_names}
        for target in [*path_names, *query_names]:
            for value in HOSTILE:
                values = {**valid, target: value} if target in path_names else valid
                url = template
                for name, text in values.items():
                    url = re.sub(rf"{{{name}(?::path)?}}", quote(text, safe=""), url)
                query = {target: value} if target in query_names else {}
                if template in STREAMS:  # refused after its query is read: it never ends
                    query = {"ticket": "made-up", **query}
                calls.append((template, url, query))
        if not path_names and not query_names:
            calls.append((template, template, {}))
    return calls


@pytest.fixture(scope="module")
def careless(small_city: Path) -> TestClient:
    """A client that reports a server error as a 500 instead of raising it."""
    return admin_client(create_app(small_city), raise_server_exceptions=False)


def test_the_walk_covers_every_get_route(careless: TestClient) -> None:
    templates = {template for template, _, _ in _calls(careless)}
    document = _document(careless)
    assert templates == {path for path, ops in document["paths"].items() if "get" in ops}
    expected = {"/api/objects", "/api/stats", "/tiles/{path}", "/terrain/{path}",
                "/imagery/{z}/{x}/{y}.png", "/ogc/collections/{collection_id}/items"}  # fmt: skip
    assert expected <= templates


def test_no_get_route_answers_a_server_error(careless: TestClient) -> None:
    failures = []
    for template, url, query in _calls(careless):
        response = careless.get(url, params=query)
        if response.status_code >= 500:
            failures.append(f"{template} {url[:80]} {query!r:.80}: {response.status_code}")
    assert not failures, "\n".join(failures)


BODIES = ["[" * 100_000 + "]" * 100_000, "NaN", "1e400", "[]", '"x"', "{}", "{",
          '{"type": "Polygon", "coordinates": 5}', '{"polygon": {"type": "Polygon"}}',
          '{"bbox": [1e400, 0, 1, 1]}', '{"attribute": "height", "ids": [1e400]}',
          '{"attribute": "x", "class": NaN}', '{"attributes": {"a": NaN}, "limit": 1}',
          '{"attributes": {"a": 1e400}}', '{"limit": 1e400}', '{"offset": -1}']  # fmt: skip


def test_no_json_post_route_answers_a_server_error(careless: TestClient) -> None:
    routes = [
        path for path, ops in _document(careless)["paths"].items()
        if "application/json" in ops.get("post", {}).get("requestBody", {}).get("content", {})
    ]  # fmt: skip
    assert {"/api/objects/query", "/api/objects/values", "/api/stats"} <= set(routes)
    failures = []
    for route in routes:
        for body in BODIES:
            response = careless.post(
                route, content=body, headers={"content-type": "application/json"}
            )
            if response.status_code >= 500:
                failures.append(f"{route} {body[:60]}: {response.status_code}")
    assert not failures, "\n".join(failures)
