"""XYZ imagery tiles from the Landsat orthophoto: placement, transparency, colours."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from cim.crs import transform_arrays
from cim.raster import import_ortho
from cim.store import CityStore
from tests.conftest import shared_data_dir
from tiles.imagery import HALF, IMAGERY_TILES, TILE, png_rgba, tile_size_m, write_imagery

ORTHO = shared_data_dir() / "raster" / "landsat_RGB.byte.tif"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with CityStore.create(tmp_path_factory.mktemp("imagery") / "city", "EPSG:32618") as store:
        import_ortho(store, ORTHO)
        write_imagery(store.city_dir)
        return store.city_dir


def xyz_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile holding a point (the usual slippy-map formula)."""
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def read_png(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        png = rasterio.open(path)
    with png:
        return np.asarray(png.read()).transpose(1, 2, 0)


def test_tiles_cover_the_image_bounds(city: Path) -> None:
    meta = json.loads((city / IMAGERY_TILES / "imagery.json").read_text())
    assert meta["max_zoom"] == 9, "300 m pixels: zoom 9 at 24 degrees north"
    with rasterio.open(ORTHO) as src:
        b = src.bounds
    lon, lat = transform_arrays("EPSG:32618", "EPSG:4326", np.array([(b.left + b.right) / 2]),
                                np.array([(b.bottom + b.top) / 2]))  # fmt: skip
    for zoom in range(meta["min_zoom"], meta["max_zoom"] + 1):
        x, y = xyz_of(float(lon[0]), float(lat[0]), zoom)
        assert (city / IMAGERY_TILES / str(zoom) / str(x) / f"{y}.png").is_file(), zoom
    w, s, e, n = meta["rectangle"]
    assert -80 < w < e < -75 and 22 < s < n < 27
    # the lowest level: the whole image in one or two tiles a side, for views from afar
    x0, y0 = xyz_of(w, n, meta["min_zoom"])
    x1, y1 = xyz_of(e, s, meta["min_zoom"])
    assert x1 - x0 <= 1 and y1 - y0 <= 1


def test_tiles_are_transparent_outside_and_true_colour_inside(city: Path) -> None:
    zoom = 9
    tiles = sorted((city / IMAGERY_TILES / str(zoom)).glob("*/*.png"))
    assert tiles
    pixels = [read_png(p) for p in tiles]
    assert all(p.shape == (TILE, TILE, 4) for p in pixels)
    assert any((p[..., 3] == 0).any() for p in pixels), "no transparency outside the image"
    with rasterio.open(ORTHO) as src:
        source, transform = src.read(), src.transform
        compared = 0
        for path, tile in zip(tiles, pixels, strict=True):
            x, y = int(path.parent.name), int(path.stem)
            size = tile_size_m(zoom)
            for row, col in ((64, 64), (128, 128), (200, 40), (30, 220)):
                if tile[row, col, 3] == 0:
                    continue
                mx = -HALF + x * size + (col + 0.5) * size / TILE
                my = HALF - y * size - (row + 0.5) * size / TILE
                ex, ey = transform_arrays("EPSG:3857", "EPSG:32618", np.array([mx]),
                                          np.array([my]))  # fmt: skip
                srow, scol = rasterio.transform.rowcol(transform, ex[0], ey[0])
                window = source[:, max(srow - 1, 0) : srow + 2, max(scol - 1, 0) : scol + 2]
                if (window == 0).all(axis=0).any():
                    continue  # next to the image edge
                low, high = window.reshape(3, -1).min(1), window.reshape(3, -1).max(1)
                assert np.all(tile[row, col, :3] >= low.astype(int) - 3), (path, row, col)
                assert np.all(tile[row, col, :3] <= high.astype(int) + 3), (path, row, col)
                compared += 1
    assert compared >= 5


def test_png_writer_round_trips(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    path = tmp_path / "t.png"
    path.write_bytes(png_rgba(pixels))
    np.testing.assert_array_equal(read_png(path), pixels)
