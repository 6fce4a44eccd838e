"""A small tiled city, built once per session, for the API and CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.store import CityStore
from tests.signin import admin_client
from tiles.tileset import write_tileset


def build_small_city(folder: Path) -> Path:
    """Author two buildings, import them into an EPSG:4547 city and tile it."""
    specs = [
        BuildingSpec("North Hall", 430760.0, 2557880.0, storeys=2),
        BuildingSpec("South Hall", 430790.0, 2557840.0, storeys=3, rotation_deg=20.0),
    ]
    sources = [write_demo_building(s, folder / "sources" / f"{i}.ifc") for i, s in enumerate(specs)]
    with CityStore.create(folder / "city", "EPSG:4547", "Test district") as store:
        import_ifc(store, sources)
        write_tileset(store)
    return folder / "city"


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_city(tmp_path_factory.mktemp("small-city"))


@pytest.fixture()
def client(small_city: Path) -> TestClient:
    return admin_client(create_app(small_city))
