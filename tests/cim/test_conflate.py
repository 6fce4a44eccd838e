"""A BIM building replaces the GIS footprints it stands on; links both ways; tiles hide them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.gis import VectorOptions, import_vector
from cim.scope import Scope
from tests.conftest import make_city
from tests.oracles.tileset_check import feature_properties
from tiles.tileset import write_tileset

E, N = 430760.0, 2557880.0  # the BIM building's origin; it spans 20 x 12 m from there


def _footprints(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"ref": ["under", "beside", "away"], "height": [20.0, 12.0, 9.0]},
        geometry=[box(E + 1, N + 1, E + 19, N + 11),  # under the BIM building
                  box(E + 15, N - 10, E + 40, N + 2),  # touches a corner only
                  box(E + 100, N + 100, E + 120, N + 120)],
        crs="EPSG:4547",
    )  # fmt: skip
    path = tmp_path / "footprints.gpkg"
    frame.to_file(path, driver="GPKG", layer="footprints")
    return path


def test_bim_replaces_the_gis_block_it_covers(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    layer = _footprints(tmp_path)
    import_vector(store, layer, VectorOptions(id_field="ref"))
    report = import_ifc(store, write_demo_building(BuildingSpec("Hall", E, N), tmp_path / "h.ifc"))
    building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    assert report.replaces_gis == {building.id: ["footprints:under"]}
    assert (
        store.get_object("footprints:under", scope=Scope.everything()).attributes["replaced_by"]
        == building.id
    )
    assert building.attributes["replaces"] == ["footprints:under"]
    assert (
        "replaced_by"
        not in store.get_object("footprints:beside", scope=Scope.everything()).attributes
    )
    summary = write_tileset(store)
    assert summary.excluded["replaced by BIM"] == 1
    ids = {row["id"] for path in summary.tileset.parent.glob("content/*.glb")
           for row in feature_properties(path)}  # fmt: skip
    walls = {
        o.id
        for o in store.objects(cls="IfcWall", building_id=building.id, scope=Scope.everything())
    }
    assert "footprints:under" not in ids and "footprints:away" in ids and walls <= ids
    again = import_vector(store, layer, VectorOptions(id_field="ref"))  # links survive re-imports
    assert again.conflated == 1
    assert (
        store.get_object("footprints:under", scope=Scope.everything()).attributes["replaced_by"]
        == building.id
    )
    store.close()
