"""An IFC import marked as proposed (CLI --proposed, form field ``proposed``): every object
carries ``planning_status = "proposed"`` and the sunlight model sees a proposal in it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from bim.authoring import BuildingSpec, write_demo_building
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import PLANNING_STATUS, PROPOSED
from simulation.models.sun_obstacles import city_buildings
from tests.signin import admin_client

runner = CliRunner()


@pytest.fixture()
def tower(tmp_path: Path) -> Path:
    spec = BuildingSpec("Tower", 430760.0, 2557880.0, storeys=2, use="residential")
    return write_demo_building(spec, tmp_path / "tower.ifc")


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


def _statuses(city: Path) -> set[Any]:
    with CityStore.open(city) as store:
        return {o.attributes.get(PLANNING_STATUS) for o in store.objects(scope=Scope.everything())}


@pytest.mark.parametrize(("flag", "expected"), [(True, {PROPOSED}), (False, {None})])
def test_the_cli_flag_marks_every_object(
    city: Path, tower: Path, flag: bool, expected: set[Any]
) -> None:
    args = ["import", "ifc", str(tower), "--city", str(city), *(["--proposed"] if flag else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert _statuses(city) == expected
    with CityStore.open(city) as store:
        (building,) = city_buildings(store, Scope.everything())
    assert building.proposed is flag and building.residential


def test_the_upload_form_field_marks_every_object(city: Path, tower: Path) -> None:
    with admin_client(create_app(city)) as client:
        answer = client.post(
            "/api/imports",
            files=[("files", ("tower.ifc", tower.read_bytes()))],
            data={"proposed": "true", "retile": "false"},
        )
        assert answer.status_code == 202, answer.text
        url = answer.json()["url"]
        deadline = time.monotonic() + 120
        while (job := client.get(url).json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["params"]["proposed"] is True
    assert _statuses(city) == {PROPOSED}
