"""GIS layers into the city model, on the Helsinki OpenStreetMap extract."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from cim.errors import CrsError
from cim.gis import GisError, VectorOptions, building_height, import_vector
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
    buildings = store.objects(cls="building")
    assert all(b.id.startswith("buildings:") for b in buildings)
    extent = store.extent()
    assert extent is not None and 385_000 < extent[0] < 387_000  # central Helsinki in TM35FIN
    with_levels = next(b for b in buildings if b.attributes["height_source"] == "levels")
    assert with_levels.top_height == pytest.approx(with_levels.attributes["building_levels"] * 3)
    mesh = store.meshes([with_levels.id])[with_levels.id][0]
    assert mesh.vertices[:, 2].max() == pytest.approx(with_levels.top_height)
    assert check_tileset(write_tileset(store).tileset) == []
    store.close()


def test_reimport_keeps_ids_and_osm_pbf_matches(vector_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    options = VectorOptions(layer="buildings")
    import_vector(store, vector_dir / "helsinki_center_osm.gpkg", options)
    first = {o.id for o in store.objects()}
    again = import_vector(store, vector_dir / "helsinki_center_osm.gpkg", options)
    assert again.replaced_objects == len(first) and {o.id for o in store.objects()} == first
    pbf = import_vector(store, vector_dir / "helsinki_center.osm.pbf",
                        VectorOptions(where="building IS NOT NULL"))  # fmt: skip
    from_pbf = {o.id.split(":", 1)[1] for o in store.objects() if o.source == pbf.source}
    assert from_pbf == {i.split(":", 1)[1] for i in first}  # same OSM ways and relations
    store.close()


def test_roads_become_surfaces_without_meshes(vector_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path, FINNISH_CRS)
    report = import_vector(store, vector_dir / "helsinki_center_osm.gpkg",
                           VectorOptions(layer="roads", cls="road"))  # fmt: skip
    assert report.imported == 2504
    road = store.objects(cls="road")[0]
    assert road.footprint is not None and road.footprint.area > 0
    assert list(store.mesh_index()) == []
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
               for o in store.objects(cls="building"))  # fmt: skip
    store.close()
