"""Importing every shared IFC file: completeness, semantics, placement and transactions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import ifcopenshell
import numpy as np
import pytest
from pyproj import Transformer

import bim.importer
from bim import semantics
from bim.errors import GeoreferenceError, IfcReadError
from bim.georef import resolve
from bim.importer import ImportOptions, ImportReport, import_ifc
from bim.reader import open_ifc
from cim.scope import Scope
from tests.conftest import (
    FZK,
    LOCAL_ORIGIN,
    MAP_GK,
    MAP_IFC4,
    MIN_IFC_FILES,
    OPEN_HOUSE,
    TEKLA,
    USER_ORIGIN,
    ImportedCity,
    ifc_files,
    import_into_new_city,
    make_city,
    setup_for,
    store_state,
    table_rows,
)

GK_ORIGIN = (3458715.92, 5439966.65, 113.7)
MAP_ORIGIN = (458658.78, 5438232.79, 113.7)
MAP_X_AXIS = (0.2706, 0.9627)
# Files whose MANIFEST entry lists property sets, and how many
FILES_WITH_PSETS = {FZK: 306, TEKLA: 1788, "Revit2021_example.ifc": 647}


def _param(path: Path) -> Any:
    marks = [pytest.mark.slow] if path.name == TEKLA else []
    return pytest.param(path, id=path.stem, marks=marks)


@cache
def _model(path: Path) -> ifcopenshell.file:
    return open_ifc(path)


@pytest.fixture(scope="module", params=[_param(path) for path in ifc_files()])
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ImportedCity]:
    """Each shared IFC file imported into a city of its own (Tekla and FZK: session cities)."""
    path: Path = request.param
    if path.name == TEKLA:
        yield request.getfixturevalue("tekla_city")
    elif path.name == FZK:
        yield request.getfixturevalue("fzk_city")
    else:
        city = import_into_new_city(tmp_path_factory.mktemp(path.stem), path)
        yield city
        city.store.close()


def test_the_shared_folder_holds_every_kind_of_file(ifc_dir: Path) -> None:
    files = sorted(ifc_dir.glob("*.ifc"))
    assert len(files) >= MIN_IFC_FILES, f"expected >= {MIN_IFC_FILES} IFC files in {ifc_dir}"
    assert {path.name for path in files} >= {FZK, TEKLA, OPEN_HOUSE, MAP_IFC4, MAP_GK}


def test_every_represented_product_is_meshed_or_explained(imported: ImportedCity) -> None:
    meshed = {entry.object_id for entry in imported.store.mesh_index(scope=Scope.everything())}
    explained = {item["id"]: item for item in imported.report.without_mesh}
    unexplained = []
    products = [
        p
        for p in _model(imported.ifc).by_type("IfcProduct")
        if p.Representation is not None and not semantics.is_spatial(p)
    ]
    assert products, "the file has no represented products"
    for product in products:
        if product.GlobalId in meshed:
            assert product.GlobalId not in explained
            continue
        item = explained.get(product.GlobalId)
        if item is None or not item["reason"].strip():
            unexplained.append(f"{product.is_a()} {product.GlobalId}")
        else:
            assert item["class"] == product.is_a()
    assert not unexplained, f"products neither meshed nor explained: {unexplained[:10]}"


def test_report_matches_the_store(imported: ImportedCity) -> None:
    report, store = imported.report, imported.store
    assert report.objects_by_class
    assert report.objects_by_class == store.counts_by_class(scope=Scope.everything())
    assert report.source == imported.ifc.name
    entries = list(store.mesh_index(scope=Scope.everything()))
    assert report.elements_with_mesh == len(entries)
    assert report.triangles == sum(entry.triangles for entry in entries)
    objects = store.objects(scope=Scope.everything())
    assert {o.source for o in objects} == {imported.ifc.name}
    assert {entry.object_id for entry in entries} <= {o.id for o in objects}
    (source,) = store.sources(scope=Scope.everything())
    assert source["source"] == imported.ifc.name
    assert source["kind"] == "ifc"
    assert source["report"]["objects_by_class"] == report.objects_by_class
    assert len(source["sha256"]) == 64


def test_every_parent_is_an_object_of_the_store(imported: ImportedCity) -> None:
    objects = imported.store.objects(scope=Scope.everything())
    ids = {o.id for o in objects}
    orphans = [
        (o.id, o.cls, o.parent_id) for o in objects if o.parent_id and o.parent_id not in ids
    ]
    assert not orphans
    elements = [o for o in objects if not o.cls.startswith(("IfcSite", "IfcProject"))]
    assert any(o.parent_id for o in elements), "no element has a container"


def test_property_sets_come_through(imported: ImportedCity) -> None:
    objects = imported.store.objects(scope=Scope.everything())
    with_psets = [o for o in objects if o.attributes.get("psets")]
    assert all(o.attributes.get("step_id") for o in objects)
    if imported.ifc.name in FILES_WITH_PSETS:
        assert len(with_psets) > len(objects) // 2
    if imported.ifc.name == FZK:
        walls = [o for o in with_psets if o.cls.startswith("IfcWall")]
        assert walls, "no FZK-Haus wall has property sets"
        assert "Pset_WallCommon" in walls[0].attributes["psets"]
        assert walls[0].attributes["qtos"]
        assert walls[0].attributes["materials"]


def test_georeference_method(imported: ImportedCity) -> None:
    setup = setup_for(imported.ifc)
    georeference = imported.report.georeference
    assert georeference["method"] == setup.method
    if setup.user_origin:
        assert georeference["origin"] == list(LOCAL_ORIGIN)
        assert georeference["crs"] == "EPSG:4547"
    assert not imported.report.warnings, imported.report.warnings


def test_extent_is_plausible(imported: ImportedCity) -> None:
    store, setup = imported.store, setup_for(imported.ifc)
    extent = store.extent(scope=Scope.everything())
    assert extent is not None
    min_x, min_y, min_z, max_x, max_y, max_z = extent
    assert 0 < max_x - min_x < 1000
    assert 0 < max_y - min_y < 1000
    assert 0 < max_z - min_z < 200
    assert min_z > -100
    assert max_z < 1000
    centre = np.array([(min_x + max_x) / 2, (min_y + max_y) / 2])
    user = USER_ORIGIN if setup.user_origin else None
    origin = resolve(_model(imported.ifc), user).to_city(np.zeros((1, 3)), store.crs)[0]
    assert np.hypot(*(centre - origin[:2])) < 500
    if setup.lon_lat is not None:
        lon, lat = Transformer.from_crs(store.crs, "EPSG:4326", always_xy=True).transform(*centre)
        assert lon == pytest.approx(setup.lon_lat[0], abs=0.01)
        assert lat == pytest.approx(setup.lon_lat[1], abs=0.01)
    if setup.user_origin:
        assert np.hypot(*(centre - LOCAL_ORIGIN[:2])) < 500


def test_gk_sample_apex_lands_on_the_map_point(ifc_dir: Path, tmp_path: Path) -> None:
    city = import_into_new_city(tmp_path, ifc_dir / MAP_GK)
    assert city.store.crs == "EPSG:31467"
    meshed = [e.object_id for e in city.store.mesh_index(scope=Scope.everything())]
    ((object_id, parts),) = city.store.meshes(meshed, scope=Scope.everything()).items()
    assert (
        city.store.get_object(object_id, scope=Scope.everything()).cls == "IfcBuildingElementProxy"
    )
    vertices = np.concatenate([part.vertices for part in parts])
    distances = np.linalg.norm(vertices - GK_ORIGIN, axis=1)
    assert distances.min() < 0.01
    # a 1 m square base 2 m up and a 4 m top, turned 74.3 degrees: millimetres became metres
    min_x, min_y, min_z, max_x, max_y, max_z = (
        city.store.extent(scope=Scope.everything()) or (0.0,) * 6
    )
    assert max_x - min_x == pytest.approx(0.2706 + 0.9627, abs=0.002)
    assert max_y - min_y == pytest.approx(0.2706 + 0.9627, abs=0.002)
    assert (min_z, max_z) == (pytest.approx(113.7, abs=1e-6), pytest.approx(117.7, abs=1e-6))
    assert any("inverted" in note for note in city.report.georeference["notes"])
    city.store.close()


def test_ifc4_sample_map_conversion(ifc_dir: Path) -> None:
    georef = resolve(_model(ifc_dir / MAP_IFC4))
    points = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    result = georef.to_city(points, "EPSG:25832")
    assert np.abs(result[0] - MAP_ORIGIN).max() < 0.01
    along_x = result[1] - result[0]
    assert np.abs(along_x - (*MAP_X_AXIS, 0.0)).max() < 1e-3
    along_y = result[2] - result[0]
    assert np.abs(along_y - (-MAP_X_AXIS[1], MAP_X_AXIS[0], 0.0)).max() < 1e-3


def test_csg_primitives_are_tessellated_at_the_map_point(ifc_dir: Path, tmp_path: Path) -> None:
    city = import_into_new_city(tmp_path, ifc_dir / MAP_IFC4)
    assert city.report.without_mesh == []
    (item,) = city.report.tessellated_by_cimtwin
    assert item["class"] == "IfcBuildingElementProxy" and "CSG" in item["reason"]
    proxy = city.store.get_object(item["id"], scope=Scope.everything())
    assert proxy.footprint is not None and proxy.parent_id == "3_fv_WeK63IPclwapZa9MD"
    (part,) = city.store.meshes([item["id"]], scope=Scope.everything())[item["id"]]
    apex = part.vertices[np.argmin(part.vertices[:, 2])]
    assert np.abs(apex - MAP_ORIGIN).max() < 0.01  # the cone's tip marks the map point
    assert part.vertices[:, 2].max() - apex[2] == pytest.approx(1.0, abs=1e-6)  # 500 + 500 mm
    city.store.close()


def test_reimport_replaces_the_earlier_import(ifc_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path)
    options = ImportOptions(user_origin=USER_ORIGIN)
    first = import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    assert first.replaced_objects == 0
    state = store_state(store)
    second = import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    assert second.replaced_objects == sum(first.objects_by_class.values()) > 0
    assert second.objects_by_class == first.objects_by_class
    after = store_state(store)
    assert after["counts"] == state["counts"]
    assert after["meshes"] == state["meshes"]
    assert sorted(after["objects"]) == sorted(state["objects"])
    assert [s["source"] for s in after["sources"]] == [OPEN_HOUSE]
    store.close()


def test_import_without_origin_of_an_ungeoreferenced_file_changes_nothing(
    ifc_dir: Path, tmp_path: Path
) -> None:
    store = make_city(tmp_path)
    import_ifc(store, ifc_dir / OPEN_HOUSE, ImportOptions(user_origin=USER_ORIGIN))
    before_state, before_rows = store_state(store), table_rows(store)
    with pytest.raises(GeoreferenceError, match="--origin"):
        import_ifc(store, ifc_dir / OPEN_HOUSE)
    assert store_state(store) == before_state
    assert table_rows(store) == before_rows
    store.close()


def test_import_failing_midway_changes_nothing(
    ifc_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_city(tmp_path)
    options = ImportOptions(user_origin=USER_ORIGIN)
    import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    before_state, before_rows = store_state(store), table_rows(store)
    real_iterate = bim.importer.iterate_shapes
    yielded: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for shape in real_iterate(*args, **kwargs):
            if len(yielded) == 10:
                raise RuntimeError("the geometry kernel crashed midway")
            yielded.append(shape.guid)
            yield shape

    monkeypatch.setattr(bim.importer, "iterate_shapes", failing)
    with pytest.raises(RuntimeError, match="midway"):
        import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    assert len(yielded) == 10
    assert store_state(store) == before_state
    assert table_rows(store) == before_rows
    monkeypatch.undo()
    report = import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    assert report.replaced_objects == sum(report.objects_by_class.values())
    store.close()


def test_import_of_several_files_is_all_or_nothing(ifc_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path)
    truncated = tmp_path / "truncated.ifc"
    data = (ifc_dir / MAP_GK).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    before = table_rows(store)
    options = ImportOptions(user_origin=USER_ORIGIN)
    with pytest.raises(IfcReadError, match="truncated"):
        import_ifc(store, [ifc_dir / OPEN_HOUSE, truncated], options)
    assert table_rows(store) == before
    reports = import_ifc(store, [ifc_dir / OPEN_HOUSE, ifc_dir / MAP_GK], options)
    assert [r.source for r in reports] == [OPEN_HOUSE, MAP_GK]
    assert {s["source"] for s in store.sources(scope=Scope.everything())} == {OPEN_HOUSE, MAP_GK}
    store.close()


def test_same_file_in_two_cities_is_independent(
    fzk_city: ImportedCity, ifc_dir: Path, tmp_path: Path
) -> None:
    first = fzk_city.store
    before = store_state(first)
    second = make_city(tmp_path, "EPSG:4647")  # ETRS89 / UTM 32N with the zone prefix
    report: ImportReport = import_ifc(second, ifc_dir / FZK)
    assert report.objects_by_class == fzk_city.report.objects_by_class
    assert sorted(o.id for o in second.objects(scope=Scope.everything())) == sorted(
        o.id for o in first.objects(scope=Scope.everything())
    )
    a, b = (
        np.array(first.extent(scope=Scope.everything())),
        np.array(second.extent(scope=Scope.everything())),
    )
    assert np.abs(b - a - (32e6, 0, 0, 32e6, 0, 0)).max() < 0.01
    with second.transaction() as writer:
        assert writer.remove_source(FZK) == sum(report.objects_by_class.values())
    assert second.counts_by_class(scope=Scope.everything()) == {}
    assert store_state(first) == before
    second.close()


def test_footprints_and_heights_of_spatial_elements(fzk_city: ImportedCity) -> None:
    store = fzk_city.store
    (building,) = store.objects(cls="IfcBuilding", scope=Scope.everything())
    storeys = store.objects(cls="IfcBuildingStorey", scope=Scope.everything())
    assert len(storeys) == 2
    assert building.footprint is not None and building.footprint.area > 50
    assert building.base_height is not None and building.top_height is not None
    assert building.top_height - building.base_height > 5
    extent = store.extent(scope=Scope.everything())
    assert extent is not None
    assert math.isclose(building.top_height, extent[5], abs_tol=1.0)
    for storey in storeys:
        assert storey.parent_id == building.id
        assert store.objects(parent_id=storey.id, scope=Scope.everything())
