"""The viewer streams the city's own terrain and orthophoto; buildings stand on the ground."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from cim.crs import transform_arrays
from cim.gis import VectorOptions, import_vector
from cim.raster import import_dem, import_ortho, sample_heights
from cim.store import CityStore
from tests.cim.test_raster import DEM
from tests.viewer.conftest import ARTIFACTS, open_viewer, serve
from tiles.imagery import write_imagery
from tiles.terrain import write_terrain
from tiles.tileset import write_tileset

pytestmark = pytest.mark.browser
CRS = "EPSG:32614"


def ortho_near(folder: Path, x: float, y: float) -> Path:
    """A 3 km RGB test pattern (10 m pixels, EPSG:32614) centred on ``x, y``."""
    size = 300
    rows, cols = np.mgrid[0:size, 0:size]
    red = (rows * 255 // size).astype(np.uint8)
    green = (cols * 255 // size).astype(np.uint8)
    blue = np.where((rows // 30 + cols // 30) % 2 == 0, 200, 60).astype(np.uint8)
    path = folder / "ortho.tif"
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
               "crs": CRS, "transform": from_origin(x - 1500, y + 1500, 10, 10)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.stack([red, green, blue]))
    return path


def grid_of_buildings(folder: Path, x0: float, y0: float) -> Path:
    """24x24 GIS buildings (12 m squares, 40 m apart, EPSG:32614): more than one tile."""
    squares, heights = [], []
    for i in range(24):
        for j in range(24):
            x, y = x0 + 40 * i, y0 + 40 * j
            squares.append(box(x, y, x + 12, y + 12))
            heights.append(6.0 + (i * 7 + j * 3) % 25)
    path = folder / "grid.gpkg"
    gpd.GeoDataFrame({"height": heights}, geometry=squares, crs=CRS).to_file(path, layer="b")
    return path


def build_city(folder: Path) -> tuple[Path, tuple[float, float, float]]:
    """GIS buildings near Fort Worth, then DEM and orthophoto; tiled. Return a ground point."""
    x, y = transform_arrays("EPSG:4326", CRS, np.array([-97.33]), np.array([32.70]))
    x0, y0 = float(x[0]) - 480, float(y[0]) - 480
    with CityStore.create(folder / "city", CRS, "Fort Worth") as store:
        import_vector(store, grid_of_buildings(folder, x0, y0), VectorOptions())
        import_dem(store, DEM)
        import_ortho(store, ortho_near(folder, x0 + 480, y0 + 480))
        write_tileset(store)
        write_terrain(store.city_dir)
        write_imagery(store.city_dir)
        # open ground between four buildings near the middle of the grid
        point = np.array([[x0 + 40 * 12 + 26, y0 + 40 * 12 + 26]])
        height = float(sample_heights(store.city_dir, CRS, point)[0])
        lon, lat = transform_arrays(CRS, "EPSG:4326", point[:, 0], point[:, 1])
        return store.city_dir, (float(lon[0]), float(lat[0]), height)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, tuple[float, ...]]]:
    city, point = build_city(tmp_path_factory.mktemp("terrain-city"))
    with serve(city) as url:
        yield url, point


def test_viewer_shows_terrain_imagery_and_grounded_buildings(server: Any, browser: Any) -> None:
    url, (lon, lat, dem_height) = server
    viewer = open_viewer(browser, url)
    page, errors, requests = viewer.page, viewer.errors, viewer.requests
    page.evaluate(
        """([lon, lat, h]) => {
            const viewer = window.cimtwin.viewer;
            viewer.camera.lookAt(Cesium.Cartesian3.fromDegrees(lon, lat, h),
                new Cesium.HeadingPitchRange(0.6, -0.45, 700));
            viewer.camera.lookAtTransform(Cesium.Matrix4.IDENTITY);
        }""",
        [lon, lat, dem_height],
    )
    # Coarse tiles come first (getHeight can even hit one's skirt): wait for the fine ones.
    page.wait_for_function(
        """([lon, lat, expected]) => {
            const scene = window.cimtwin.viewer.scene;
            scene.requestRender();
            const h = scene.globe.getHeight(Cesium.Cartographic.fromDegrees(lon, lat));
            return h !== undefined && Math.abs(h - expected) < 5;
        }""",
        arg=[lon, lat, dem_height],
        timeout=90_000,
        polling=250,
    )
    page.wait_for_timeout(3000)  # and for the finest terrain tiles to replace the coarse ones
    height = page.evaluate(
        "([lon, lat]) => window.cimtwin.viewer.scene.globe.getHeight("
        "Cesium.Cartographic.fromDegrees(lon, lat))",
        [lon, lat],
    )
    assert height == pytest.approx(dem_height, abs=5.0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "terrain.png"))
    assert any(u.endswith("/terrain/layer.json") for u in requests)
    assert any("/terrain/" in u and u.endswith(".terrain") for u in requests)
    assert any("/imagery/" in u and u.endswith(".png") for u in requests)
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(url).netloc}, f"requests left the server: {hosts}"
    assert not errors, f"console errors: {errors}"
    page.close()
