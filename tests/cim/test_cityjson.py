"""CityJSON into the city model, on the Delft (LoD1) and Rotterdam (LoD2) samples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from cim.cityjson import CityJsonError, import_cityjson
from cim.scope import Scope
from tests.conftest import make_city, table_rows
from tests.oracles.tileset_check import check_tileset
from tiles.tileset import write_tileset

RD_NEW = "EPSG:28992"


@pytest.fixture(scope="module")
def cityjson_dir(shared_data: Path) -> Path:
    return shared_data / "cityjson"


def test_delft_objects_attributes_and_surfaces(cityjson_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, RD_NEW)
    report = import_cityjson(store, cityjson_dir / "delft.city.json")
    assert report.version == "2.0" and report.crs == RD_NEW  # from EPSG:7415 (RD New + NAP)
    assert report.objects_by_type == {"Building": 160, "Road": 143, "PlantCover": 126,
                                      "LandUse": 81, "GenericCityObject": 54, "Bridge": 3,
                                      "WaterBody": 3}  # fmt: skip
    assert report.without_geometry == []
    building = store.objects(cls="Building", scope=Scope.everything())[0]
    assert building.attributes and building.footprint is not None
    extent = store.extent(scope=Scope.everything())
    assert extent is not None and 84_000 < extent[0] < 86_000  # Delft in RD New
    assert check_tileset(write_tileset(store).tileset) == []
    store.close()


def test_rotterdam_lod2_needs_a_crs_and_keeps_roofs(cityjson_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, "EPSG:4547")
    path = cityjson_dir / "rotterdam" / "rotterdam_subset.city.json"
    before = table_rows(store)
    with pytest.raises(CityJsonError, match="give --crs"):
        import_cityjson(store, path)
    assert table_rows(store) == before
    store.close()
    store = make_city(tmp_path / "rd", RD_NEW)
    report = import_cityjson(store, path, crs=RD_NEW)
    assert report.objects_by_type == {"Building": 16}
    building = store.objects(cls="Building", scope=Scope.everything())[0]
    parts = store.meshes([building.id], scope=Scope.everything())[building.id]
    assert {"RoofSurface", "WallSurface", "GroundSurface"} <= {p.material.name for p in parts}
    document = json.loads(path.read_text())
    (geometry,) = document["CityObjects"][building.id]["geometry"]
    surfaces = len(geometry["boundaries"])
    assert sum(len(p.faces) for p in parts) >= surfaces  # every surface triangulated
    store.close()


def test_reprojection_into_another_city_crs(cityjson_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, "EPSG:25831")  # ETRS89 / UTM 31N covers Delft
    import_cityjson(store, cityjson_dir / "delft.city.json")
    extent = store.extent(scope=Scope.everything())
    assert extent is not None and 580_000 < extent[0] < 600_000 and extent[1] > 5_760_000
    store.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "not JSON"),
        (json.dumps({"type": "FeatureCollection"}), "not a CityJSON file"),
        (json.dumps({"type": "CityJSON", "version": "0.9", "CityObjects": {"a": {}}}),
         "version '0.9'"),
        (json.dumps({"type": "CityJSON", "version": "2.0", "CityObjects": {}}), "no CityObjects"),
    ],
)  # fmt: skip
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.city.json"
    path.write_text(content)
    with pytest.raises(CityJsonError, match=message):
        import_cityjson(make_city(tmp_path, RD_NEW), path, crs=RD_NEW)


def test_holes_are_kept(tmp_path: Path) -> None:
    square = [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]]
    hole = [[4, 4, 0], [4, 6, 0], [6, 6, 0], [6, 4, 0]]
    document = {
        "type": "CityJSON", "version": "2.0",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
        "vertices": [[85_000 + x, 447_000 + y, z] for x, y, z in square + hole],
        "CityObjects": {"plaza": {"type": "TransportSquare", "geometry": [{
            "type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3], [4, 5, 6, 7]]]}]}},
    }  # fmt: skip
    path = tmp_path / "plaza.city.json"
    path.write_text(json.dumps(document))
    store = make_city(tmp_path, RD_NEW)
    import_cityjson(store, path)
    (part,) = store.meshes(["plaza"], scope=Scope.everything())["plaza"]
    corners = part.vertices[part.faces]
    area = 0.5 * np.abs(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 2]
    )
    assert area.sum() == pytest.approx(96.0)  # 100 m² less the 4 m² hole
    store.close()


def _one_square(tmp_path: Path, boundaries: list, vertices: list | None = None) -> Path:
    square = [[85_000, 447_000, 0], [85_010, 447_000, 0], [85_010, 447_010, 0],
              [85_000, 447_010, 0]]  # fmt: skip
    document = {
        "type": "CityJSON", "version": "2.0",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
        "vertices": square if vertices is None else vertices,
        "CityObjects": {
            "good": {"type": "Building", "geometry": [
                {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3]]]}]},
            "bad": {"type": "Building", "geometry": [
                {"type": "MultiSurface", "lod": "1", "boundaries": boundaries}]},
        },
    }  # fmt: skip
    path = tmp_path / "squares.city.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [
        ([[[0, 1, 2, -5]]], "CityObject 'bad' refers to vertex -5; the file has vertices 0 to 3"),
        ([[[0, 1, 2, 4]]], "CityObject 'bad' refers to vertex 4; the file has vertices 0 to 3"),
        ([[[0, 1, 2, 3.0]]], "CityObject 'bad' has the vertex index 3.0, not an integer"),
        ([[[0, 1, "2", 3]]], "CityObject 'bad' has the vertex index '2', not an integer"),
    ],
)
def test_vertex_indices_outside_the_vertices_are_refused(
    tmp_path: Path, boundaries: list, message: str
) -> None:
    store = make_city(tmp_path, RD_NEW)
    before = table_rows(store)
    with pytest.raises(CityJsonError, match=re.escape(message)):
        import_cityjson(store, _one_square(tmp_path, boundaries))
    assert table_rows(store) == before
    store.close()


def test_vertices_that_are_not_numbers_or_absent_are_refused(tmp_path: Path) -> None:
    path = _one_square(tmp_path, [[[0, 1, 2, 3]]], vertices=[[1, 2], [3, "x", 4]])
    with pytest.raises(CityJsonError, match="the vertices are not x, y, z numbers"):
        import_cityjson(make_city(tmp_path, RD_NEW), path)
    path = _one_square(tmp_path, [[[0, 1, 2, 3]]], vertices=[])
    with pytest.raises(CityJsonError, match="'good' refers to vertex 0; the file has no vertices"):
        import_cityjson(make_city(tmp_path / "empty", RD_NEW), path)


def test_files_outside_the_city_crs_area_warn(cityjson_dir: Path, tmp_path: Path) -> None:
    guangzhou = make_city(tmp_path / "gz", "EPSG:4547")
    report = import_cityjson(guangzhou, cityjson_dir / "delft.city.json")
    (warning,) = report.warnings
    assert "delft.city.json lands at lon 4.3" in warning and "lat 52.0" in warning
    assert "outside the area of use of EPSG:4547" in warning
    assert guangzhou.sources(scope=Scope.everything())[0]["report"]["warnings"] == report.warnings
    guangzhou.close()
    delft = make_city(tmp_path / "nl", RD_NEW)
    assert import_cityjson(delft, cityjson_dir / "delft.city.json").warnings == []
    delft.close()
