"""GIS layers into the city model, on the Helsinki OpenStreetMap extract."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import trimesh
from shapely.geometry import MultiPolygon, Point, Polygon, box

from cim.errors import CimError, CrsError
from cim.extrude import extrude_footprints
from cim.gis import GIS_BUILDING, GisError, VectorOptions, building_height, import_vector
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city, table_rows
from tests.oracles.tileset_check import check_tileset
from tiles.tileset import write_tileset

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # GDAL on broken OSM rings
    pytest.mark.filterwarnings("ignore:'crs' was not provided"),  # the no-CRS case, on purpose
]
FINNISH_CRS = "EPSG:3067"


@pytest.fixture(scope="module")
def vector_dir(shared_data: Path) -> Path:
    return shared_data / "vector"


def test_buildings_from_geopackage_with_heights_counted(vector_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, vector_dir / "helsinki_center_osm.gpkg",
                           VectorOptions(layer="buildings"))  # fmt: skip
    assert report.features_read == 489
    assert report.imported + len(report.skipped) == 489 and report.imported > 470
    assert report.heights["height"] == 17  # the MANIFEST: 17 non-null heights
    assert report.heights["levels"] > 100 and report.heights["default"] > 100
    assert all(item["reason"] for item in report.skipped)
    buildings = store.objects(cls="building", scope=Scope.everything())
    assert all(b.id.startswith("buildings:") for b in buildings)
    extent = store.extent(scope=Scope.everything())
    assert extent is not None and 385_000 < extent[0] < 387_000  # central Helsinki in TM35FIN
    with_levels = next(b for b in buildings if b.attributes["height_source"] == "levels")
    assert with_levels.top_height == pytest.approx(with_levels.attributes["building_levels"] * 3)
    mesh = store.meshes([with_levels.id], scope=Scope.everything())[with_levels.id][0]
    assert mesh.vertices[:, 2].max() == pytest.approx(with_levels.top_height)
    assert check_tileset(write_tileset(store).tileset) == []
    store.close()


def test_reimport_keeps_ids_and_osm_pbf_matches(vector_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    options = VectorOptions(layer="buildings")
    import_vector(store, vector_dir / "helsinki_center_osm.gpkg", options)
    first = {o.id for o in store.objects(scope=Scope.everything())}
    again = import_vector(store, vector_dir / "helsinki_center_osm.gpkg", options)
    assert (
        again.replaced_objects == len(first)
        and {o.id for o in store.objects(scope=Scope.everything())} == first
    )
    pbf = import_vector(store, vector_dir / "helsinki_center.osm.pbf",
                        VectorOptions(where="building IS NOT NULL"))  # fmt: skip
    from_pbf = {
        o.id.split(":", 1)[1]
        for o in store.objects(scope=Scope.everything())
        if o.source == pbf.source
    }
    assert from_pbf == {i.split(":", 1)[1] for i in first}  # same OSM ways and relations
    store.close()


def test_roads_become_surfaces_without_meshes(vector_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, vector_dir / "helsinki_center_osm.gpkg",
                           VectorOptions(layer="roads", cls="road"))  # fmt: skip
    assert report.imported == 2504
    road = store.objects(cls="road", scope=Scope.everything())[0]
    assert road.footprint is not None and road.footprint.area > 0
    assert list(store.mesh_index(scope=Scope.everything())) == []
    store.close()


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"height": 21.5}, (21.5, "height")),
        ({"height": "12 m"}, (12.0, "height")),
        ({"height": "40 ft"}, (pytest.approx(12.192), "height")),
        ({"height": -5.0, "building_levels": 4}, (12.0, "levels")),
        ({"height": float("nan")}, (10.0, "default")),
        ({"osm_tags": {"building:levels": "7"}}, (21.0, "levels")),
        ({"height": "tall"}, (10.0, "default")),
        ({"building:levels": 0, "height": 0}, (10.0, "default")),
        ({"building_levels": 1e9}, (10.0, "default")),
        ({"height": 3000.0, "building_levels": 5}, (15.0, "levels")),
        ({"height": float("-inf"), "osm_tags": {"building:levels": "301"}}, (10.0, "default")),
        ({"height": "1001 m"}, (10.0, "default")),
    ],
)
def test_building_heights(attributes: dict, expected: tuple) -> None:
    assert building_height(attributes, VectorOptions()) == expected


def _write(frame: gpd.GeoDataFrame, path: Path, driver: str) -> Path:
    frame.to_file(path, driver=driver)
    return path


def test_bad_input_names_the_problem_and_writes_nothing(tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    before = table_rows(store)
    square = box(385_500, 6_672_000, 385_520, 6_672_020)
    no_crs = _write(gpd.GeoDataFrame({"height": [5.0]}, geometry=[square]),
                    tmp_path / "no_crs.shp", "ESRI Shapefile")  # fmt: skip
    with pytest.raises(GisError, match="no CRS in the file: give --crs"):
        import_vector(store, no_crs, VectorOptions())
    with pytest.raises(CrsError, match="unknown CRS"):
        import_vector(store, no_crs, VectorOptions(crs="EPSG:999999"))
    point = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(385_500, 6_672_000)], crs=FINNISH_CRS)
    points = _write(point, tmp_path / "points.gpkg", "GPKG")
    with pytest.raises(GisError, match="no feature could be imported"):
        import_vector(store, points, VectorOptions())
    with pytest.raises(GisError, match="the layer is empty"):
        import_vector(store, no_crs, VectorOptions(crs=FINNISH_CRS, where="height > 100"))
    fake = tmp_path / "fake.gpkg"
    fake.write_text("this is not a GeoPackage")
    with pytest.raises(GisError, match="cannot read it"):
        import_vector(store, fake, VectorOptions())
    with pytest.raises(GisError, match="--class"):
        import_vector(store, no_crs, VectorOptions(cls="castle"))
    with pytest.raises(GisError, match="no such file"):
        import_vector(store, tmp_path / "absent.geojson", VectorOptions())
    assert table_rows(store) == before
    report = import_vector(store, no_crs, VectorOptions(crs=FINNISH_CRS))
    assert report.imported == 1 and report.heights == {"height": 1}
    store.close()


def test_several_layers_need_a_choice(vector_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(GisError, match="choose one with --layer"):
        import_vector(make_city(tmp_path, FINNISH_CRS), vector_dir / "helsinki_center_osm.gpkg",
                      VectorOptions())  # fmt: skip


@pytest.mark.parametrize(
    ("suffix", "driver"), [(".fgb", "FlatGeobuf"), (".parquet", None), (".geojson", "GeoJSON")]
)
def test_flatgeobuf_and_geoparquet(
    vector_dir: Path, tmp_path: Path, suffix: str, driver: str | None
) -> None:
    frame = gpd.read_file(vector_dir / "helsinki_center_osm.gpkg", layer="buildings")
    path = tmp_path / f"buildings{suffix}"
    if driver is None:
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver=driver)
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, path, VectorOptions())
    assert report.features_read == 489 and report.imported > 470
    assert report.heights["height"] == 17
    assert all(o.id.startswith("buildings:way/") or o.id.startswith("buildings:relation/")
               for o in store.objects(cls="building", scope=Scope.everything()))  # fmt: skip
    store.close()


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("helsinki_center_osm.gpkg", VectorOptions(layer="buildings",
                                                   levels_field="building_levels")),
        ("helsinki_center.osm.pbf", VectorOptions(where="building IS NOT NULL",
                                                  levels_field="building:levels")),
    ],
)  # fmt: skip
def test_explicit_levels_field_with_gaps_falls_through(
    vector_dir: Path, tmp_path: Path, name: str, options: VectorOptions
) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, vector_dir / name, options)
    assert report.imported > 470 and report.heights["height"] == 17
    assert report.heights["levels"] > 100 and report.heights["default"] > 100
    assert report.fallbacks["levels: empty"] == report.heights["default"]
    assert report.fallbacks["height: empty"] == report.imported - 17
    assert report.warnings == []  # Helsinki lies in TM35FIN's area
    buildings = store.objects(cls="building", scope=Scope.everything())
    by_source = {b.attributes["height_source"] for b in buildings}
    assert by_source == {"height", "levels", "default"}
    for building in buildings:
        if building.attributes["height_source"] == "default":
            assert building.top_height == pytest.approx(10.0)
    store.close()


def test_absent_field_is_refused_before_anything_is_written(
    vector_dir: Path, tmp_path: Path
) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    path = vector_dir / "helsinki_center_osm.gpkg"
    import_vector(store, path, VectorOptions(layer="roads", cls="road"))
    before = table_rows(store)
    for option in ("id_field", "height_field", "levels_field"):
        flag = "--" + option.replace("_", "-")
        options = VectorOptions(layer="buildings", **{option: "storeys"})
        with pytest.raises(GisError, match=f"{flag} 'storeys': no such column") as caught:
            import_vector(store, path, options)
        assert "columns: osm_id, osm_way_id, name, building, building_levels" in str(caught.value)
    with pytest.raises(GisError, match=r"--levels-field 'levels:count'.*nor is it an OSM tag"):
        import_vector(store, vector_dir / "helsinki_center.osm.pbf",
                      VectorOptions(levels_field="levels:count"))  # fmt: skip
    assert table_rows(store) == before
    store.close()


def _squares(count: int) -> list[shapely.Geometry]:
    return [box(385_500 + 30 * i, 6_672_000, 385_520 + 30 * i, 6_672_020) for i in range(count)]


def test_empty_ids_fall_back_and_repeated_ids_are_refused(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"ref": ["a", None, "c", ""]}, geometry=_squares(4), crs=FINNISH_CRS)
    path = _write(frame, tmp_path / "refs.gpkg", "GPKG")
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, path, VectorOptions(id_field="ref"))
    assert report.fallbacks["id: empty"] == 2
    assert {o.id for o in store.objects(scope=Scope.everything())} == {
        "refs:a",
        "refs:2",
        "refs:c",
        "refs:4",
    }
    frame["ref"] = ["a", "b", "a", "d"]
    again = _write(frame, tmp_path / "again.gpkg", "GPKG")
    with pytest.raises(GisError, match=r"--id-field 'ref': 1 repeated values \(e.g. 'a'\)"):
        import_vector(store, again, VectorOptions(id_field="ref"))
    store.close()


def test_insane_heights_and_levels_are_reported_not_stored(tmp_path: Path) -> None:
    heights = [None, -5.0, float("inf"), 2000.0, 30.0, None]
    levels = [1e9, 4.0, 400.0, None, 1e9, 0.0]
    frame = gpd.GeoDataFrame({"height": heights, "building_levels": levels},
                             geometry=_squares(6), crs=FINNISH_CRS)  # fmt: skip
    path = _write(frame, tmp_path / "insane.gpkg", "GPKG")
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, path, VectorOptions(levels_field="building_levels"))
    tops = {o.id: o.top_height for o in store.objects(scope=Scope.everything())}
    assert tops == {"insane:1": 10.0, "insane:2": 12.0, "insane:3": 10.0, "insane:4": 10.0,
                    "insane:5": 30.0, "insane:6": 10.0}  # fmt: skip
    assert report.heights == {"height": 1, "levels": 1, "default": 4}
    assert report.fallbacks == {"height: empty": 2, "height: out of bounds": 3,
                                "levels: empty": 1, "levels: out of bounds": 3}  # fmt: skip
    refused = {(item["id"], item["field"], item["value"]) for item in report.out_of_bounds}
    assert ("insane:1", "levels", "1000000000.0") in refused
    assert ("insane:3", "height", "inf") in refused and ("insane:4", "height", "2000.0") in refused
    assert ("insane:5", "levels", "1000000000.0") in refused  # refused though unused
    extent = store.extent(scope=Scope.everything())
    assert extent is not None and extent[5] <= 30.0
    store.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (VectorOptions(storey_height=0.0), "--storey-height 0.0"),
        (VectorOptions(storey_height=float("nan")), "--storey-height nan"),
        (VectorOptions(default_height=5000.0), "--default-height 5000.0"),
        (VectorOptions(default_height=-1.0), "--default-height -1.0"),
    ],
)
def test_insane_options_are_refused(tmp_path: Path, options: VectorOptions, message: str) -> None:
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=_squares(1), crs=FINNISH_CRS)
    path = _write(frame, tmp_path / "one.gpkg", "GPKG")
    with pytest.raises(GisError, match=message):
        import_vector(make_city(tmp_path, FINNISH_CRS), path, options)


def test_layers_outside_the_city_crs_area_warn(vector_dir: Path, tmp_path: Path) -> None:
    guangzhou = make_city(tmp_path / "gz", "EPSG:4547")
    report = import_vector(guangzhou, vector_dir / "helsinki_center_osm.gpkg",
                           VectorOptions(layer="buildings"))  # fmt: skip
    (warning,) = report.warnings
    assert "lands at lon 24.9" in warning and "lat 60.1" in warning
    assert "outside the area of use of EPSG:4547" in warning
    stored = guangzhou.sources(scope=Scope.everything())[0]["report"]
    assert stored["warnings"] == report.warnings
    guangzhou.close()
    lonlat = [box(24.94, 60.17, 24.9401, 60.1701), box(113.3, 23.1, 113.3001, 23.1001)]
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=lonlat, crs="EPSG:4326")
    mixed = _write(frame, tmp_path / "mixed.geojson", "GeoJSON")
    report = import_vector(make_city(tmp_path / "gz2", "EPSG:4547"), mixed, VectorOptions())
    (warning,) = report.warnings
    assert "lands partly outside the area of use" in warning and "1 of 2 places" in warning
    frame = gpd.GeoDataFrame({"n": [2]}, geometry=lonlat[1:], crs="EPSG:4326")
    inside = _write(frame, tmp_path / "inside.geojson", "GeoJSON")
    assert import_vector(make_city(tmp_path / "gz3", "EPSG:4547"), inside,
                         VectorOptions()).warnings == []  # fmt: skip


def test_bulk_blocks_are_closed_and_face_outwards() -> None:
    holed = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(4, 4), (4, 6), (6, 6), (6, 4)]])
    clockwise = Polygon([(0, 0), (0, 10), (10, 10), (10, 0)])
    l_shape = Polygon([(0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)])
    two = MultiPolygon([box(0, 0, 1, 1), box(5, 5, 7, 8)])
    footprints = [holed, clockwise, l_shape, two, box(0, 0, 0.01, 0.01), None, holed]
    low, high = [1, 2, 0, 0, 0, 0, 5], [11, 12, 3, 3, 3, 3, 5]
    packed = extrude_footprints([str(i) for i in range(7)], footprints, low, high, GIS_BUILDING)
    for index, volume in enumerate([960.0, 1000.0, 225.0, 21.0]):
        part = packed.part(index)
        assert part is not None
        mesh = trimesh.Trimesh(part.vertices, part.faces)
        assert mesh.is_watertight and mesh.is_winding_consistent
        assert mesh.volume == pytest.approx(volume)  # positive: the normals point outwards
        assert part.vertices[:, 2].min() == low[index] and part.vertices[:, 2].max() == high[index]
    assert [packed.part(i) for i in (4, 5, 6)] == [None, None, None]  # tiny, none, flat
    bow_tie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # invalid: both halves are kept
    pentagon = Polygon([(0, 0), (4, 0), (5, 3), (2, 5), (-1, 3)])  # convex: a fan
    packed = extrude_footprints(["bow", "five"], [bow_tie, pentagon], 0, 2, GIS_BUILDING)
    for index, area in enumerate([50.0, pentagon.area]):
        part = packed.part(index)
        assert part is not None
        mesh = trimesh.Trimesh(part.vertices, part.faces)
        assert mesh.volume == pytest.approx(2 * area)


def test_ids_taken_by_another_source_are_refused_whole(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"ref": ["a", "b"]}, geometry=_squares(2), crs=FINNISH_CRS)
    first = tmp_path / "first"
    first.mkdir()
    import_store = make_city(tmp_path, FINNISH_CRS)
    import_vector(import_store, _write(frame, first / "refs.gpkg", "GPKG"),
                  VectorOptions(id_field="ref"))  # fmt: skip
    before = table_rows(import_store)
    frame["ref"] = ["c", "b"]
    other = _write(frame, tmp_path / "refs.geojson", "GeoJSON")
    with pytest.raises(CimError, match=r"object refs:b \(building\) already exists, from source"
                                       r" refs.gpkg#refs"):  # fmt: skip
        import_vector(import_store, other, VectorOptions(id_field="ref"))
    assert table_rows(import_store) == before
    import_store.close()


def _rtree(store: CityStore) -> list[tuple[str, float, float, float, float]]:
    """The objects layer's R-tree entries (object id, min x, max x, min y, max y)."""
    with closing(sqlite3.connect(store.path)) as conn:
        return conn.execute(
            "SELECT o.object_id, r.minx, r.maxx, r.miny, r.maxy FROM rtree_city_objects_geom r"
            " JOIN city_objects o ON o.fid = r.id ORDER BY o.fid"
        ).fetchall()


def test_bulk_insert_fills_the_rtree_and_keeps_its_trigger(tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    frame = gpd.GeoDataFrame({"n": range(5)}, geometry=_squares(5), crs=FINNISH_CRS)
    import_vector(store, _write(frame, tmp_path / "five.gpkg", "GPKG"), VectorOptions())
    indexed = _rtree(store)
    assert len(indexed) == 5
    for object_id, *envelope in indexed:
        x0, y0, x1, y1 = store.get_object(object_id, scope=Scope.everything()).footprint.bounds  # type: ignore[union-attr]
        assert envelope == pytest.approx([x0, x1, y0, y1], abs=0.01)
    with store.transaction() as writer:
        writer.add_object(CityObject("lone", "building", footprint=box(0, 0, 1, 1)))
    assert len(_rtree(store)) == 6  # the insert trigger is back for single inserts
    store.close()


def test_cli_reports_fall_throughs_warnings_and_absent_columns(
    vector_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner, city = CliRunner(), tmp_path / "gz"
    assert runner.invoke(app, ["init", "--city", str(city), "--crs", "EPSG:4547"]).exit_code == 0
    layer = str(vector_dir / "helsinki_center_osm.gpkg")
    done = runner.invoke(app, ["import", "gis", layer, "--city", str(city), "--layer",
                               "buildings", "--levels-field", "building_levels"])  # fmt: skip
    assert done.exit_code == 0, done.output
    printed = " ".join(done.output.split())  # the same whatever the terminal's width
    assert "fell through to the next rule: height: empty 465, levels: empty 316" in printed
    assert "warning: layer buildings of helsinki_center_osm.gpkg lands at lon 24.9" in printed
    absent = runner.invoke(app, ["import", "gis", layer, "--city", str(city), "--layer",
                                 "buildings", "--height-field", "tallness"])  # fmt: skip
    assert absent.exit_code != 0
    printed = " ".join(absent.output.split())
    assert "--height-field 'tallness': no such column (columns: osm_id" in printed


def test_invalid_footprints_inside_the_area_do_not_warn(tmp_path: Path) -> None:
    # its two halves almost cancel: a centroid would land at lon 2.19, far outside
    bow_tie = Polygon(
        [(113.30, 23.10), (113.3100001, 23.11), (113.31, 23.10), (113.30, 23.1100003)]
    )
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[bow_tie], crs="EPSG:4326")
    path = _write(frame, tmp_path / "bow.geojson", "GeoJSON")
    report = import_vector(make_city(tmp_path, "EPSG:4547"), path, VectorOptions())
    assert report.repaired == 1 and report.warnings == []


def test_chunked_writes_store_the_same_city(
    vector_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, options = vector_dir / "helsinki_center_osm.gpkg", VectorOptions(layer="buildings")
    whole = make_city(tmp_path / "whole", FINNISH_CRS)
    import_vector(whole, path, options)
    monkeypatch.setattr("cim.gis.CHUNK", 100)  # 482 buildings: five chunks, the last short
    chunked = make_city(tmp_path / "chunked", FINNISH_CRS)
    import_vector(chunked, path, options)

    def state(store: CityStore) -> tuple[list[Any], list[Any]]:
        objects = [
            (o.id, o.attributes, o.top_height, o.footprint.wkb)
            for o in store.objects(scope=Scope.everything())
        ]
        meshes = store.meshes(
            [o.id for o in store.objects(scope=Scope.everything())], scope=Scope.everything()
        )
        parts = [(k, p.vertices.tobytes(), p.faces.tobytes()) for k, v in sorted(meshes.items())
                 for p in v]  # fmt: skip
        return objects, parts

    assert state(chunked) == state(whole)
    assert len(state(whole)[1]) > 470
    whole.close()
    chunked.close()
