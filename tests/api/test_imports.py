"""Importing over HTTP: uploads, jobs run by the city's worker process, limits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ifcopenshell
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.jobs import UPLOADS_DIR
from api.routes import imports
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.scope import Scope
from cim.store import CityStore
from tests.signin import admin_client
from tiles.folders import exclusive

OPEN_HOUSE = "IfcOpenHouse_IFC4.ifc"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two authored buildings, and the first one padded to about 3 MB with a comment."""
    folder = tmp_path_factory.mktemp("sources")
    north = write_demo_building(BuildingSpec("North", 430760.0, 2557880.0, 2), folder / "n.ifc")
    south = write_demo_building(BuildingSpec("South", 430800.0, 2557840.0, 1), folder / "s.ifc")
    data = north.read_bytes()
    end = data.rindex(b"ENDSEC;")
    padded = folder / "padded.ifc"
    padded.write_bytes(data[:end] + b"/* " + b"padding " * 400_000 + b"*/\n" + data[end:])
    return {"north": north, "south": south, "padded": padded}


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


@pytest.fixture()
def client(city: Path) -> Iterator[TestClient]:
    with admin_client(create_app(city)) as test_client:
        yield test_client


def building_id(path: Path) -> str:
    return str(ifcopenshell.open(str(path)).by_type("IfcBuilding")[0].GlobalId)


def upload(client: TestClient, *files: tuple[str, bytes], **form: str) -> Any:
    return client.post("/api/imports", files=[("files", f) for f in files], data=form)


def wait(client: TestClient, url: str, seconds: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = client.get(url).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.1)


def uploads_left(city: Path) -> list[Path]:
    folder = city / UPLOADS_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def counts(city: Path) -> dict[str, int]:
    with CityStore.open(city) as store:
        return store.counts_by_class(scope=Scope.everything())


def test_one_file_is_imported_tiled_and_its_upload_removed(
    client: TestClient, city: Path, sources: dict[str, Path]
) -> None:
    data = sources["north"].read_bytes()
    answer = upload(client, ("north.ifc", data))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body == {"id": body["id"], "status": "queued", "url": f"/api/jobs/{body['id']}"}
    assert answer.headers["location"] == body["url"]
    job = wait(client, body["url"])
    assert job["status"] == "succeeded", job
    assert job["kind"] == "import" and job["progress"] == 100 and job["error"] is None
    assert job["started"] >= job["created"] and job["finished"] >= job["started"]
    assert job["params"]["files"] == [{"name": "north.ifc", "bytes": len(data)}]
    (report,) = job["result"]["reports"]
    assert report["source"] == "north.ifc"
    assert report["objects_by_class"]["IfcBuilding"] == 1
    assert report["georeference"]["method"] == "IfcMapConversion"
    assert job["result"]["tiling"]["tileset"] == "/tiles/tileset.json"
    assert job["result"]["tiling"]["features"] > 0
    found = client.get(f"/api/objects/{building_id(sources['north'])}")
    assert found.status_code == 200 and found.json()["name"] == "North"
    assert client.get("/tiles/tileset.json").status_code == 200
    assert client.get("/api/city").json()["tileset"] == "/tiles/tileset.json"
    assert uploads_left(city) == []


def test_two_files_in_one_request_without_retiling(
    client: TestClient, city: Path, sources: dict[str, Path]
) -> None:
    answer = upload(
        client,
        ("north.ifc", sources["north"].read_bytes()),
        ("south.ifc", sources["south"].read_bytes()),
        retile="false",
    )
    job = wait(client, answer.json()["url"])
    assert job["status"] == "succeeded", job
    assert [r["source"] for r in job["result"]["reports"]] == ["north.ifc", "south.ifc"]
    assert job["result"]["tiling"] is None
    assert not (city / "tiles").exists()
    assert client.get("/api/city").json()["sources"] == ["north.ifc", "south.ifc"]
    assert counts(city)["IfcBuilding"] == 2
    assert uploads_left(city) == []


def test_a_tiling_failure_keeps_the_import_and_its_reports(
    client: TestClient, city: Path, sources: dict[str, Path]
) -> None:
    with exclusive(city, "a tiling"):  # the worker's tiling finds the city busy
        job = wait(
            client, upload(client, ("north.ifc", sources["north"].read_bytes())).json()["url"]
        )
    assert job["status"] == "failed"
    assert (
        f"objects from 1 file(s), but tiling failed: a tiling of {city} is already running"
        f" (process {os.getpid()})" in job["error"]
    ), job["error"]
    assert job["result"]["reports"][0]["source"] == "north.ifc"
    assert counts(city)["IfcBuilding"] == 1
    assert uploads_left(city) == []


def test_openapi_documents_the_upload_form(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/api/imports"]["post"]
    assert "202" in post["responses"]
    assert {"/api/jobs", "/api/jobs/{job_id}"} <= set(schema["paths"])


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("notes.txt", {}),
        ("model.ifc.zip", {}),
        (".ifc", {}),
        ("model.ifc", {"origin": "east,north"}),
        ("model.ifc", {"origin": "1,2,3,4"}),
        ("model.ifc", {"kernel": "no-such-kernel"}),
        ("model.ifc", {"crs": "EPSG:4547"}),
    ],
)
def test_bad_names_and_fields_are_refused_with_422(
    client: TestClient, city: Path, name: str, form: dict[str, str]
) -> None:
    answer = upload(client, (name, b"ISO-10303-21;"), **form)
    assert answer.status_code == 422, answer.text
    assert isinstance(answer.json()["detail"], str)
    assert uploads_left(city) == []
    assert client.get("/api/jobs").json() == {"jobs": []}


def test_two_uploads_with_one_name_are_refused(client: TestClient, city: Path) -> None:
    answer = upload(client, ("a/m.ifc", b"x"), ("b\\M.ifc", b"y"), ("m.ifc", b"z"))
    assert answer.status_code == 422
    assert "m.ifc" in answer.json()["detail"]
    assert uploads_left(city) == []


def test_a_file_that_is_not_ifc_fails_the_job_and_leaves_the_store_alone(
    client: TestClient, city: Path, sources: dict[str, Path]
) -> None:
    with CityStore.open(city) as store:
        import_ifc(store, sources["south"])
    before = counts(city)
    good = ("north.ifc", sources["north"].read_bytes())
    job = wait(client, upload(client, good, ("x.ifc", b"hello, not a model")).json()["url"])
    assert job["status"] == "failed"
    assert job["error"].startswith("x.ifc: not an IFC file"), job["error"]
    assert str(city) not in job["error"]
    assert job["result"] is None
    assert counts(city) == before
    assert uploads_left(city) == []


def test_a_model_without_georeference_needs_an_origin(
    client: TestClient, city: Path, shared_data: Path
) -> None:
    data = (shared_data / "ifc" / OPEN_HOUSE).read_bytes()
    failed = wait(client, upload(client, (OPEN_HOUSE, data)).json()["url"])
    assert failed["status"] == "failed"
    assert "no georeference" in failed["error"] and "--origin" in failed["error"]
    assert counts(city) == {}
    placed = wait(
        client, upload(client, (OPEN_HOUSE, data), origin="430700,2557800,10").json()["url"]
    )
    assert placed["status"] == "succeeded", placed
    georef = placed["result"]["reports"][0]["georeference"]
    assert georef["method"] == "user origin"
    assert georef["origin"] == [430700.0, 2557800.0, 10.0]
    assert placed["params"]["origin"] == [430700.0, 2557800.0, 10.0]
    assert placed["params"]["crs"] == "EPSG:4547"
    assert counts(city)["IfcBuilding"] == 1
    assert uploads_left(city) == []


@pytest.mark.parametrize("size", [5_000, 3 * 2**20])
def test_an_upload_over_the_limit_is_refused_with_413(city: Path, size: int) -> None:
    # 5 kB passes the Content-Length check (limit + form overhead) and is stopped while it
    # is copied; 3 MiB is refused from its Content-Length before a byte is read.
    with admin_client(create_app(city, max_upload_mb=0.001)) as client:
        assert client.get("/api/imports").json()["max_upload_bytes"] == 1048
        answer = upload(client, ("big.ifc", b"x" * size))
        assert answer.status_code == 413, answer.text
        assert "CIMTWIN_MAX_UPLOAD_MB" in answer.json()["detail"]
        assert client.get("/api/jobs").json() == {"jobs": []}
    assert uploads_left(city) == []


def test_a_body_without_length_is_stopped_once_over_the_limit(city: Path) -> None:
    boundary = "cimtwin-test"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=files; filename=big.ifc\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(8):
            yield b"x" * 2**20
        yield f"\r\n--{boundary}--\r\n".encode()

    with admin_client(create_app(city, max_upload_mb=0.001)) as client:
        answer = client.post(
            "/api/imports",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413, answer.text
    assert "CIMTWIN_MAX_UPLOAD_MB" in answer.json()["detail"]
    assert uploads_left(city) == []


def test_the_upload_is_copied_in_chunks(
    client: TestClient, city: Path, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = imports.save_upload

    class Recorder:
        def __init__(self, source: Any) -> None:
            self.source = source

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return bytes(self.source.read(size))

    def spy(source: Any, target: Path, budget: int, limit: int) -> int:
        return original(Recorder(source), target, budget, limit)

    monkeypatch.setattr(imports, "save_upload", spy)
    data = sources["padded"].read_bytes()
    job = wait(client, upload(client, ("padded.ifc", data)).json()["url"])
    assert job["status"] == "succeeded", job
    assert job["params"]["files"] == [{"name": "padded.ifc", "bytes": len(data)}]
    assert len(reads) == len(data) // imports.CHUNK_SIZE + 2
    assert set(reads) == {imports.CHUNK_SIZE}
    assert uploads_left(city) == []


def test_jobs_are_listed_newest_first_and_unknown_ones_are_404(client: TestClient) -> None:
    ids = [upload(client, (f"{i}.ifc", b"nothing")).json()["id"] for i in range(3)]
    for job_id in ids:
        assert wait(client, f"/api/jobs/{job_id}")["status"] == "failed"
    listed = client.get("/api/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == ids[::-1]
    assert all("result" not in j for j in listed)
    missing = client.get("/api/jobs/0123456789abcdef")
    assert missing.status_code == 404
    assert "no job" in missing.json()["detail"]


def test_a_missing_city_is_404(tmp_path: Path) -> None:
    with admin_client(create_app(tmp_path / "none")) as client:
        answer = upload(client, ("a.ifc", b"x"))
    assert answer.status_code == 404
    # nothing but the operational database (the account that signed in) is written there
    assert {path.name for path in (tmp_path / "none").iterdir()} <= {
        "ops.sqlite",
        "ops.sqlite-wal",
        "ops.sqlite-shm",
    }


def test_a_tiling_job_writes_the_tiles_of_what_was_imported(
    client: TestClient, city: Path, sources: dict[str, Path]
) -> None:
    with CityStore.open(city) as store:
        import_ifc(store, sources["north"])
    answer = client.post("/api/tilings")
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == answer.json()["url"]
    job = wait(client, answer.json()["url"])
    assert job["status"] == "succeeded" and job["kind"] == "tile", job
    assert job["result"]["tiling"]["tileset"] == "/tiles/tileset.json"
    assert job["result"]["tiling"]["features"] > 0
    assert client.get("/tiles/tileset.json").status_code == 200


def test_a_tiling_job_of_an_empty_city_fails_with_the_reason(client: TestClient) -> None:
    job = wait(client, client.post("/api/tilings").json()["url"])
    assert job["status"] == "failed" and "no geometry to tile" in job["error"], job
