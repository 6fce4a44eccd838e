"""DEM and orthophoto import: reprojection, sampling, errors, buildings set on the ground."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from shapely.geometry import box

from cim.crs import transform_arrays
from cim.gis import VectorOptions, import_vector
from cim.raster import (
    DEM_PATH,
    ORTHO_PATH,
    RasterError,
    base_height_at,
    ground_buildings,
    import_dem,
    import_ortho,
    sample_heights,
)
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import shared_data_dir

DEM = shared_data_dir() / "raster" / "fortworth_dem_3arcsec.tif"
ORTHO = shared_data_dir() / "raster" / "landsat_RGB.byte.tif"
CRS = "EPSG:32614"


def squares_near_fort_worth(folder: Path) -> Path:
    """A GeoPackage of two 30 m squares in EPSG:32614 near Fort Worth, heights 12 and 20."""
    x, y = transform_arrays("EPSG:4326", CRS, np.array([-97.33]), np.array([32.70]))
    x0, y0 = float(x[0]), float(y[0])
    frame = gpd.GeoDataFrame(
        {"name": ["A", "B"], "height": [12.0, 20.0]},
        geometry=[box(x0, y0, x0 + 30, y0 + 30), box(x0 + 500, y0 + 300, x0 + 530, y0 + 330)],
        crs=CRS,
    )
    path = folder / "squares.gpkg"
    frame.to_file(path, layer="buildings", driver="GPKG")
    return path


@pytest.fixture()
def store(tmp_path: Path) -> CityStore:
    return CityStore.create(tmp_path / "city", CRS)


def test_dem_is_stored_in_geographic_coordinates_covering_the_source(store: CityStore) -> None:
    report = import_dem(store, DEM)
    with rasterio.open(DEM) as src, rasterio.open(store.city_dir / DEM_PATH) as out:
        assert out.crs.to_epsg() == 4326 and out.dtypes[0] == "float32"
        assert out.bounds.left <= src.bounds.left + 1e-9
        assert out.bounds.right >= src.bounds.right - 1e-9
        assert out.bounds.bottom <= src.bounds.bottom + 1e-9
        assert out.bounds.top >= src.bounds.top - 1e-9
        rows, cols = np.array([10, 100, 200, 300]), np.array([20, 150, 250, 350])
        lon, lat = rasterio.transform.xy(src.transform, rows, cols)
        expected = src.read(1)[rows, cols].astype(float)
    assert report.min_height == pytest.approx(147, abs=1)
    assert report.max_height == pytest.approx(298, abs=1)
    x, y = transform_arrays("EPSG:4326", CRS, np.array(lon), np.array(lat))
    heights = sample_heights(store.city_dir, CRS, np.column_stack([x, y]))
    np.testing.assert_allclose(heights, expected, atol=1.0)
    far = sample_heights(store.city_dir, CRS, np.array([[100000.0, 100000.0]]))
    assert np.isnan(far).all()
    assert [s["kind"] for s in store.sources(scope=Scope.everything())] == ["dem"]
    import_dem(store, DEM)
    assert [s["kind"] for s in store.sources(scope=Scope.everything())] == ["dem"], (
        "a new DEM replaces the record"
    )


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_a_raster_without_crs_is_refused(store: CityStore, tmp_path: Path) -> None:
    path = tmp_path / "nocrs.tif"
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "float32"}
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.ones((1, 4, 4), dtype=np.float32))
    with pytest.raises(RasterError, match="no CRS"):
        import_dem(store, path)


def test_a_non_raster_and_a_missing_file_are_refused(store: CityStore, tmp_path: Path) -> None:
    path = tmp_path / "notes.tif"
    path.write_text("not a raster")
    with pytest.raises(RasterError, match="cannot read it as a raster"):
        import_dem(store, path)
    with pytest.raises(RasterError, match="no such file"):
        import_ortho(store, tmp_path / "missing.tif")


def test_band_counts_are_checked(store: CityStore) -> None:
    with pytest.raises(RasterError, match="one band"):
        import_dem(store, ORTHO)
    with pytest.raises(RasterError, match="3 or more bands"):
        import_ortho(store, DEM)


def test_ortho_is_stored_in_web_mercator_with_alpha(tmp_path: Path) -> None:
    store = CityStore.create(tmp_path / "city", "EPSG:32618")
    report = import_ortho(store, ORTHO)
    with rasterio.open(store.city_dir / ORTHO_PATH) as out:
        assert out.crs.to_epsg() == 3857 and out.count == 4 and out.dtypes[0] == "uint8"
        alpha = out.read(4)
    assert alpha.max() == 255 and alpha.min() == 0, "inside opaque, outside transparent"
    assert report.size == (alpha.shape[1], alpha.shape[0])


def test_buildings_are_set_on_the_dem(store: CityStore, tmp_path: Path) -> None:
    import_vector(store, squares_near_fort_worth(tmp_path), VectorOptions())
    before = {o.id: o for o in store.objects(cls="building", scope=Scope.everything())}
    meshes_before = store.meshes(before, scope=Scope.everything())
    report = import_dem(store, DEM)
    assert report.buildings_rebased == 2
    after = {o.id: o for o in store.objects(cls="building", scope=Scope.everything())}
    meshes_after = store.meshes(after, scope=Scope.everything())
    for object_id, obj in after.items():
        corners = shapely.get_coordinates(obj.footprint)
        expected = float(np.nanmin(sample_heights(store.city_dir, CRS, corners)))
        assert 147 <= expected <= 298
        assert obj.base_height == pytest.approx(expected, abs=1e-6)
        old_top = before[object_id].top_height
        assert old_top is not None
        assert obj.top_height == pytest.approx(old_top + expected, abs=1e-6)
        low = meshes_after[object_id][0].vertices[:, 2].min()
        high = meshes_after[object_id][0].vertices[:, 2].max()
        assert low == pytest.approx(expected, abs=1e-6)
        assert high == pytest.approx(expected + old_top, abs=1e-6)
        xy_before = meshes_before[object_id][0].vertices[:, :2]
        np.testing.assert_allclose(meshes_after[object_id][0].vertices[:, :2], xy_before)
        assert base_height_at(store.city_dir, CRS, obj.footprint) == pytest.approx(expected)
    assert import_dem(store, DEM).buildings_rebased == 0, "already on the ground"


def test_no_dem_means_no_base_height(store: CityStore) -> None:
    assert base_height_at(store.city_dir, CRS, box(0, 0, 1, 1)) is None


def test_buildings_imported_after_the_dem_stand_on_it(store: CityStore, tmp_path: Path) -> None:
    import_dem(store, DEM)
    report = import_vector(store, squares_near_fort_worth(tmp_path), VectorOptions())
    assert report.grounded == 2  # the GIS import sets them on the DEM itself
    with store.transaction():
        assert ground_buildings(store) == 0  # nothing left to move
    for obj in store.objects(cls="building", scope=Scope.everything()):
        expected = base_height_at(store.city_dir, CRS, obj.footprint)
        assert expected is not None and obj.base_height == pytest.approx(expected)
        mesh = store.meshes([obj.id], scope=Scope.everything())[obj.id][0]
        assert mesh.vertices[:, 2].min() == pytest.approx(expected)
