"""Terrain tiles in CesiumJS's heightmap-1.0 format from the Fort Worth DEM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import install_error_handlers
from api.cli_raster import register
from api.routes import terrain as terrain_routes
from cim.crs import transform_arrays
from cim.gis import VectorOptions, import_vector
from cim.raster import import_dem, import_ortho, sample_heights
from cim.store import CityStore
from tests.cim.test_raster import squares_near_fort_worth
from tests.conftest import shared_data_dir
from tests.signin import admin_client
from tiles.imagery import IMAGERY_TILES, write_imagery
from tiles.terrain import SIZE, TERRAIN_TILES, decode_tile, tile_bounds, write_terrain
from tiles.tileset import write_tileset

DEM = shared_data_dir() / "raster" / "fortworth_dem_3arcsec.tif"
ORTHO = shared_data_dir() / "raster" / "landsat_RGB.byte.tif"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with CityStore.create(tmp_path_factory.mktemp("terrain") / "city", "EPSG:32614") as store:
        import_dem(store, DEM)
        write_terrain(store.city_dir)
        return store.city_dir


def test_layer_json_is_a_heightmap_layer(city: Path) -> None:
    layer = json.loads((city / TERRAIN_TILES / "layer.json").read_text())
    assert layer["format"] == "heightmap-1.0" and layer["scheme"] == "tms"
    assert layer["tiles"] == ["{z}/{x}/{y}.terrain"] and layer["projection"] == "EPSG:4326"
    assert layer["tilejson"] == "2.1.0" and layer["version"] == "1.0.0"
    west, south, east, north = layer["bounds"]
    assert west == pytest.approx(-97.485, abs=1e-3) and north == pytest.approx(32.8217, abs=1e-3)
    assert east > west and north > south
    assert layer["available"][0] == [{"startX": 0, "startY": 0, "endX": 1, "endY": 0}]
    assert len(layer["available"]) == 13, "levels 0..12 for a 3 arc-second DEM"


def test_availability_ranges_match_the_files(city: Path) -> None:
    root = city / TERRAIN_TILES
    layer = json.loads((root / "layer.json").read_text())
    for level, ranges in enumerate(layer["available"]):
        listed = {(x, y) for r in ranges for x in range(r["startX"], r["endX"] + 1)
                  for y in range(r["startY"], r["endY"] + 1)}  # fmt: skip
        files = {(int(p.parent.name), int(p.stem)) for p in (root / str(level)).glob("*/*.terrain")}
        assert listed == files, level
    assert not (root / str(len(layer["available"]))).exists()


def test_child_bits_tell_which_children_exist(city: Path) -> None:
    root = city / TERRAIN_TILES
    for path in root.glob("*/*/*.terrain"):
        level, x, y = int(path.parent.parent.name), int(path.parent.name), int(path.stem)
        data = path.read_bytes()
        assert len(data) == SIZE * SIZE * 2 + 2 and data[-1] == 0
        _, mask = decode_tile(data)
        for bit, (dx, dy) in ((1, (0, 0)), (2, (1, 0)), (4, (0, 1)), (8, (1, 1))):
            child = root / str(level + 1) / str(2 * x + dx) / f"{2 * y + dy}.terrain"
            assert bool(mask & bit) == child.is_file(), (path, bit)


def test_a_tile_decodes_to_the_dem_heights_north_row_first(city: Path) -> None:
    root = city / TERRAIN_TILES
    layer = json.loads((root / "layer.json").read_text())
    level = len(layer["available"]) - 1
    inside = []
    for path in sorted((root / str(level)).glob("*/*.terrain")):
        x, y = int(path.parent.name), int(path.stem)
        w, s, e, n = tile_bounds(level, x, y)
        bw, bs, be, bn = layer["bounds"]
        if bw < w and e < be and bs < s and n < bn:
            inside.append((path, (w, s, e, n)))
    assert inside, "no tile fully inside the DEM"
    path, (w, s, e, n) = inside[0]
    heights, _ = decode_tile(path.read_bytes())
    assert heights.shape == (SIZE, SIZE)
    corners = {(0, 0): (w, n), (0, SIZE - 1): (e, n), (SIZE - 1, 0): (w, s),
               (SIZE - 1, SIZE - 1): (e, s)}  # fmt: skip
    for (row, col), (lon, lat) in corners.items():
        ex, ey = transform_arrays("EPSG:4326", "EPSG:32614", np.array([lon]), np.array([lat]))
        expected = sample_heights(city, "EPSG:32614", np.column_stack([ex, ey]))[0]
        assert heights[row, col] == pytest.approx(expected, abs=2.0), (row, col)


def test_level_zero_tiles_outside_the_dem_are_flat(city: Path) -> None:
    heights, mask = decode_tile((city / TERRAIN_TILES / "0" / "1" / "0.terrain").read_bytes())
    assert np.all(heights == 0) and mask == 0


# ---------------------------------------------------------------- served, and the commands


@pytest.fixture(scope="module")
def client(city: Path) -> TestClient:
    with CityStore.open(city) as store:
        import_ortho(store, ORTHO)
    write_imagery(city)
    app = FastAPI()
    app.include_router(terrain_routes.router)
    install_error_handlers(app)
    app.state.city_dir = city
    return admin_client(app)


def test_terrain_and_imagery_are_served_with_etags(client: TestClient, city: Path) -> None:
    layer = client.get("/terrain/layer.json")
    assert layer.status_code == 200 and layer.headers["content-type"] == "application/json"
    tile = client.get("/terrain/0/0/0.terrain")
    assert tile.status_code == 200 and len(tile.content) == SIZE * SIZE * 2 + 2
    assert tile.headers["content-type"] == "application/octet-stream"
    again = client.get("/terrain/0/0/0.terrain", headers={"If-None-Match": tile.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/terrain/0/5/0.terrain").status_code == 404
    assert client.get("/terrain/../city.gpkg").status_code == 404
    info = terrain_routes.terrain_and_imagery(city)
    assert info["terrain"] == "/terrain/layer.json"
    imagery = info["imagery"]
    assert imagery is not None and imagery["url"] == "/imagery/{z}/{x}/{y}.png"
    zoom = imagery["maximumLevel"]
    x, y = next(iter((city / IMAGERY_TILES / str(zoom)).glob("*/*.png"))).parts[-2:]
    png = client.get(f"/imagery/{zoom}/{x}/{y}")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and png.headers["cache-control"] == "no-cache"
    assert client.get("/imagery/0/0/0.png").status_code == 404


def test_no_terrain_or_imagery_gives_nulls(tmp_path: Path) -> None:
    assert terrain_routes.terrain_and_imagery(tmp_path) == {"terrain": None, "imagery": None}


def test_import_commands(tmp_path: Path) -> None:
    commands = typer.Typer()
    register(commands)
    with CityStore.create(tmp_path / "city", "EPSG:32614") as store:
        import_vector(store, squares_near_fort_worth(tmp_path), VectorOptions())
        write_tileset(store)
    runner = CliRunner()
    done = runner.invoke(commands, ["dem", str(DEM), "--city", str(tmp_path / "city"),
                                    "--max-level", "8"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "levels 0..8" in done.output
    assert "2 buildings re-based, 3D tiles rewritten" in done.output
    assert "147.0..298.0 m" in done.output
    done = runner.invoke(commands, ["ortho", str(ORTHO), "--city", str(tmp_path / "city")])
    assert done.exit_code == 0 and "imagery tiles" in done.output
    failed = runner.invoke(commands, ["dem", str(ORTHO), "--city", str(tmp_path / "city")])
    assert failed.exit_code == 1 and "a DEM has one band" in failed.output
