"""Export to CityJSON 2.0 and GeoPackage, checked by reading the files back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.cityjson import import_cityjson
from cim.export import ExportError, export_cityjson, export_geopackage
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city


@pytest.fixture()
def city(tmp_path: Path) -> Iterator[CityStore]:
    store = make_city(tmp_path / "source")
    spec = BuildingSpec("Hall", 430760.0, 2557880.0, storeys=2)
    import_ifc(store, write_demo_building(spec, tmp_path / "hall.ifc"))
    yield store
    store.close()


def test_cityjson_round_trip(city: CityStore, tmp_path: Path) -> None:
    out = tmp_path / "hall.city.json"
    written = export_cityjson(city, out, scope=Scope.everything())
    document = json.loads(out.read_text())
    assert document["version"] == "2.0" and document["metadata"]["referenceSystem"].endswith(
        "/4547"
    )
    building = city.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    exported = document["CityObjects"][building.id]
    assert exported["type"] == "Building"
    assert {g["lod"] for g in exported["geometry"]} == {"1", "2"}  # the derived LODs
    walls = city.objects(cls="IfcWall", scope=Scope.everything())
    assert document["CityObjects"][walls[0].id]["type"] == "BuildingConstructiveElement"
    assert set(exported["children"]) >= {w.id for w in walls}
    again = make_city(tmp_path / "again")
    report = import_cityjson(again, out)
    assert sum(report.objects_by_type.values()) == written["objects"]
    original = city.meshes([walls[0].id], scope=Scope.everything())[walls[0].id]
    copied = again.meshes([walls[0].id], scope=Scope.everything())[walls[0].id]
    assert sum(len(p.faces) for p in copied) == sum(len(p.faces) for p in original)
    low = min(p.vertices.min(axis=0)[0] for p in original)
    assert min(p.vertices.min(axis=0)[0] for p in copied) == pytest.approx(low, abs=0.001)
    again.close()


def test_geopackage_has_a_layer_per_class(city: CityStore, tmp_path: Path) -> None:
    out = tmp_path / "hall.gpkg"
    written = export_geopackage(city, out, scope=Scope.everything())
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"IfcWall", "IfcBuilding", "IfcBuildingStorey"} <= layers == set(written)
    walls = pyogrio.read_dataframe(out, layer="IfcWall")
    assert len(walls) == 8 and walls.crs.to_epsg() == 4547
    assert json.loads(walls["attributes"][0])["psets"]["Pset_WallCommon"]


def test_empty_city_is_refused(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    with pytest.raises(ExportError, match="no objects"):
        export_cityjson(store, tmp_path / "x.city.json", scope=Scope.everything())
    with pytest.raises(ExportError, match="no objects"):
        export_geopackage(store, tmp_path / "x.gpkg", scope=Scope.everything())
    assert not (tmp_path / "x.gpkg").exists()
