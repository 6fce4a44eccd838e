"""A corpus of malformed inputs: IFC, GeoJSON and CityJSON files through the command line
and the upload route, JSON bodies through the query routes. Each gets a clear refusal (a
4xx, a failed job or a non-zero exit, with a message naming the problem), and every table
of the store is byte-identical before and after.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.jobs import JobQueue
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.cityjson import import_cityjson
from cim.store import CityStore
from tests.api.storedigest import store_digest
from tests.signin import admin_client

RING = [[113.300, 23.120], [113.301, 23.120], [113.301, 23.121], [113.300, 23.121]]
NAN = float("nan")


def _features(geometry: Any) -> str:
    feature = {"type": "Feature", "properties": {"height": 10}, "geometry": geometry}
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


def _cityjson(**changes: Any) -> dict[str, Any]:
    """A one-building CityJSON 2.0 document in EPSG:4547, with ``changes`` applied."""
    cube = [[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, 0]]
    document = {
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [0.001] * 3, "translate": [430800, 2557900, 0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/4547"},
        "CityObjects": {"b1": {"type": "Building", "geometry": [
            {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3]]]}]}},
        "vertices": cube,
    }  # fmt: skip
    document.update(changes)
    return document


def _cityjson_surface(ring: list[int]) -> dict[str, Any]:
    """A CityJSON document whose one building ``b2`` has one surface of vertex indices."""
    surface = {"type": "MultiSurface", "lod": "1", "boundaries": [[ring]]}
    return _cityjson(CityObjects={"b2": {"type": "Building", "geometry": [surface]}})


def _ifc_corpus(good: bytes) -> dict[str, bytes]:
    """Broken IFC files made from a good one."""
    end = good.index(b"ENDSEC;", good.index(b"DATA;"))
    return {
        "truncated": good[: len(good) // 2],
        "header only": good[: good.index(b"DATA;")],
        "binary junk": random.Random(11).randbytes(64 * 1024),
        "zero bytes": b"",
        "NUL bytes": b"\0" * 4096,
        "wrong schema": re.sub(rb"FILE_SCHEMA\(\('IFC4'\)\)", b"FILE_SCHEMA(('IFC9X9'))", good),
        "no schema": re.sub(rb"FILE_SCHEMA\(\('IFC4'\)\);", b"", good),
        "huge unterminated line": good[:end] + b"#999999=IFCWALL('" + b"x" * (8 << 20) + b"\n",
        "GlobalId that is a reference": good[:end]
        + b"#999999=IFCWALL(#888888,$,$,$,$,$,$,$);\n"
        + good[end:],
        "not ISO 10303": b"<?xml version='1.0'?><ifc/>",
    }


GEOJSON = {
    "not JSON": "{not json",
    "empty": "",
    "features is a string": json.dumps({"type": "FeatureCollection", "features": "many"}),
    "coordinates are a string": _features({"type": "Polygon", "coordinates": "abc"}),
    "NaN coordinates": _features(
        {"type": "Polygon", "coordinates": [[[113.3, NAN], *RING[1:], [113.3, NAN]]]}
    ),
    "unclosed ring": _features({"type": "Polygon", "coordinates": [RING]}),
    "two-point ring": _features({"type": "Polygon", "coordinates": [RING[:2]]}),
}
CITYJSON = {
    "not JSON": "{not json",
    "vertex index out of range": json.dumps(_cityjson_surface([0, 1, 2, 99])),
    "negative vertex index": json.dumps(_cityjson_surface([0, 1, -2, 3])),
    "transform without translate": json.dumps(_cityjson(transform={"scale": [0.001] * 3})),
    "transform of strings": json.dumps(_cityjson(transform={"scale": "a", "translate": "b"})),
    "vertices not numbers": json.dumps(_cityjson(vertices=[[0, 0], ["x", 1, 2]])),
    "no CityObjects": json.dumps(_cityjson(CityObjects={})),
    "id of another source": json.dumps(_cityjson()),
    "version 0.9": json.dumps(_cityjson(version="0.9")),
}
# Bodies for the JSON query routes, as sent (NaN and 1e400 are what json.dumps refuses).
BODIES = {
    "deeply nested list": '{"polygon": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "deeply nested objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "5000-digit integer": '{"limit": 1' + "0" * 5000 + "}",
    "5000-digit coordinate": '{"bbox": [1' + "0" * 5000 + ", 0, 1, 1]}",
    "huge float": '{"limit": 1e400}',
    "NaN": '{"bbox": [NaN, 0, 1, 1]}',
    "string for a number": '{"limit": "ten"}',
    "array": "[]",
    "string": '"text"',
    "null": "null",
    "nothing": "",
    "bad UTF-8": b'{"attribute": "\xff\xfe"}',
    "point for an area": '{"polygon": {"type": "Point", "coordinates": [1, 2]}}',
    "WKT for GeoJSON": '{"polygon": "POLYGON((0 0, 1 0, 1 1, 0 0))"}',
    "nulls for a box": '{"bbox": [null, null, null, null]}',
}


@pytest.fixture(scope="module")
def good_ifc(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("malformed-ifc")
    spec = BuildingSpec("Sound", 430800.0, 2557900.0, 1)
    return write_demo_building(spec, folder / "sound.ifc").read_bytes()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city holding an IFC building and a CityJSON building (whose id is ``b1``)."""
    folder = tmp_path_factory.mktemp("malformed-city")
    spec = BuildingSpec("Kept", 430760.0, 2557860.0, 2)
    with CityStore.create(folder / "city", "EPSG:4547") as store:
        import_ifc(store, write_demo_building(spec, folder / "kept.ifc"))
        (folder / "first.city.json").write_text(json.dumps(_cityjson()))
        import_cityjson(store, folder / "first.city.json")
    return folder / "city"


@pytest.fixture()
def unchanged(city: Path) -> Iterator[None]:
    """Fails the test when any table of the store changed."""
    before = store_digest(city)
    yield
    assert store_digest(city) == before, "the store changed"


def _cli_refuses(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "error:" in result.output
    return result.output


@pytest.mark.parametrize("case", list(_ifc_corpus(b"DATA;ENDSEC;")))
def test_malformed_ifc_is_refused_by_the_command_line(
    city: Path, good_ifc: bytes, tmp_path: Path, unchanged: None, case: str
) -> None:
    path = tmp_path / "bad.ifc"
    path.write_bytes(_ifc_corpus(good_ifc)[case])
    output = _cli_refuses(["import", "ifc", str(path), "--city", str(city)])
    assert "bad.ifc" in output


@pytest.mark.parametrize("case", list(_ifc_corpus(b"DATA;ENDSEC;")))
def test_malformed_ifc_fails_its_upload_job(
    city: Path, good_ifc: bytes, unchanged: None, case: str
) -> None:
    client = admin_client(create_app(city, worker=False))
    files = [("files", ("bad.ifc", _ifc_corpus(good_ifc)[case]))]
    response = client.post("/api/imports", files=files, data={"retile": "false"})
    assert response.status_code == 202
    assert JobQueue(city).drain() == 1
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert job["error"] and not job["error"].startswith("internal error"), job["error"]
    assert "bad.ifc" in job["error"] or "IFC" in job["error"], job["error"]


@pytest.mark.parametrize("name", ["roads.geojson", "district.city.json", "bad.ifc.zip"])
def test_uploads_that_are_not_ifc_are_refused(city: Path, unchanged: None, name: str) -> None:
    client = admin_client(create_app(city, worker=False))
    response = client.post("/api/imports", files=[("files", (name, b"{}"))])
    assert response.status_code == 422
    assert "only files named *.ifc" in response.json()["detail"]


@pytest.mark.parametrize("case", list(GEOJSON))
def test_malformed_geojson_is_refused(
    city: Path, tmp_path: Path, unchanged: None, case: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(GEOJSON[case])
    assert "bad" in _cli_refuses(["import", "gis", str(path), "--city", str(city)])


@pytest.mark.parametrize("case", list(CITYJSON))
def test_malformed_cityjson_is_refused(
    city: Path, tmp_path: Path, unchanged: None, case: str
) -> None:
    path = tmp_path / "bad.city.json"
    path.write_text(CITYJSON[case])
    assert "bad.city.json" in _cli_refuses(["import", "cityjson", str(path), "--city", str(city)])


@pytest.mark.parametrize("route", ["/api/objects/query", "/api/objects/values", "/api/stats"])
@pytest.mark.parametrize("case", list(BODIES))
def test_malformed_json_bodies_get_a_clear_4xx(
    city: Path, unchanged: None, route: str, case: str
) -> None:
    client = admin_client(create_app(city, worker=False), raise_server_exceptions=False)
    body = BODIES[case]
    response = client.post(route, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text[:300]
    detail = response.json()["detail"]
    assert detail and len(json.dumps(detail)) < 4000  # says what is wrong, echoes little
