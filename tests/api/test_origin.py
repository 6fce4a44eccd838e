"""A user origin is checked by one parser on both paths: the command line and the upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from bim.authoring import BuildingSpec, write_demo_building
from cim.layout import CityLayout
from cim.scope import Scope
from cim.store import CityStore
from tests.signin import admin_client

BAD_ORIGINS = [
    (["nan,inf"], "finite"),
    (["430700,2557800,inf"], "finite"),
    (["1,2"], "outside the area of use of EPSG:4547"),
    (["2557800,430700"], "outside the area of use of EPSG:4547"),
    (["430700,2557800", "EPSG:25832"], "outside the area of use of EPSG:25832"),
    (["113.3,23.1", "EPSG:4326"], "not a projected CRS in metres"),
    (["east,north"], "expected E,N or E,N,H"),
]


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


@pytest.fixture(scope="module")
def building(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("origin")
    return write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0, 1), folder / "hall.ifc")


def stored(city: Path) -> tuple[dict[str, int], list[dict[str, object]]]:
    with CityStore.open(city) as store:
        return store.counts_by_class(scope=Scope.everything()), store.sources(
            scope=Scope.everything()
        )


@pytest.mark.parametrize(("origin", "message"), BAD_ORIGINS)
def test_the_command_line_refuses_an_unusable_origin(
    city: Path, building: Path, origin: list[str], message: str
) -> None:
    args = ["import", "ifc", str(building), "--city", str(city), "--origin", origin[0]]
    if len(origin) == 2:
        args += ["--crs", origin[1]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: origin "), result.stderr
    assert message in " ".join(result.stderr.split())
    assert stored(city) == ({}, [])


def test_the_command_line_takes_a_usable_origin(city: Path, building: Path) -> None:
    args = ["import", "ifc", str(building), "--city", str(city), "--origin", "430700,2557800,12"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "placed by user origin (EPSG:4547, origin 430700.000, 2557800.000, 12.000)" in " ".join(
        result.stderr.split()
    )


@pytest.fixture()
def client(city: Path) -> Iterator[TestClient]:
    with admin_client(create_app(city)) as test_client:
        yield test_client


@pytest.mark.parametrize(("origin", "message"), BAD_ORIGINS)
def test_the_upload_refuses_an_unusable_origin_with_422(
    client: TestClient, city: Path, building: Path, origin: list[str], message: str
) -> None:
    form = {"origin": origin[0], **({"crs": origin[1]} if len(origin) == 2 else {})}
    files = [("files", ("hall.ifc", building.read_bytes()))]
    answer = client.post("/api/imports", files=files, data=form)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("origin ") and message in detail
    assert client.get("/api/jobs").json() == {"jobs": []}
    uploads = CityLayout(city).uploads
    assert not uploads.exists() or not any(uploads.iterdir())
    assert stored(city) == ({}, [])
