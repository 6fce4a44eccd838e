"""The GIS layers of the demo district: streets, parcels, footprints, a DEM and an orthophoto.

Everything is generated from a seed around the authored BIM buildings: a street grid,
four parcels per block, one footprint per parcel with a height (or only a storey count,
or nothing, so the import's defaults show), a DEM with hills around a flat core where
the BIM buildings stand, and an orthophoto-like raster drawn from the same layers.
"""

from __future__ import annotations

import random
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPolygon, box
from shapely.geometry.base import BaseGeometry

from cim.data import demo_district

# The district's layout: data/demo/district.json.
CENTRE = demo_district().centre
HALF_SIZE = demo_district().half_size
BLOCK = demo_district().block
STREET_WIDTH = demo_district().street_width
DEM_RESOLUTION = demo_district().dem_resolution
ORTHO_RESOLUTION = demo_district().ortho_resolution
USES = demo_district().gis_uses
ZONES_LAYER = "zones"
#: The district's planning zones (控规单元): code, land use, 控高 m, 容积率, 建筑密度 %, 绿地率 %,
#: 退线 m. The core around Huacheng Square keeps a lower height limit (a view corridor).
ZONES = (
    ("TH-C01", "B1", 60.0, 8.0, 45.0, 25.0, 3.0),  # the core: the four middle blocks
    ("TH-W02", "R2", 110.0, 9.0, 45.0, 30.0, 3.0),  # west of the core
    ("TH-E03", "B1", 110.0, 10.0, 50.0, 20.0, 3.0),  # east of the core
    ("TH-M04", "B1", 110.0, 10.0, 50.0, 25.0, 3.0),  # north and south of the core
)


def write_layers(
    path: Path,
    bim_area: BaseGeometry,
    under_bim: BaseGeometry,
    crs: str,
    seed: int = demo_district().seed,
) -> Path:
    """Write streets, parcels and buildings layers into one GeoPackage at ``path``.

    No footprint is drawn in ``bim_area`` but one, under ``under_bim`` (a BIM building's
    footprint): the old survey of a site the BIM model now replaces.
    """
    rng = random.Random(seed)
    streets: list[dict[str, object]] = []
    parcels: list[dict[str, object]] = []
    buildings: list[dict[str, object]] = []
    lines = np.arange(-HALF_SIZE, HALF_SIZE + 1, BLOCK)
    for index, offset in enumerate(lines):
        streets.append(
            {
                "name": f"Tianhe East-West Road {index + 1}",
                "highway": "secondary",
                "geometry": LineString(
                    [
                        (CENTRE[0] - HALF_SIZE, CENTRE[1] + offset),
                        (CENTRE[0] + HALF_SIZE, CENTRE[1] + offset),
                    ]
                ),
            }
        )
        streets.append(
            {
                "name": f"Tianhe North-South Road {index + 1}",
                "highway": "primary",
                "geometry": LineString(
                    [
                        (CENTRE[0] + offset, CENTRE[1] - HALF_SIZE),
                        (CENTRE[0] + offset, CENTRE[1] + HALF_SIZE),
                    ]
                ),
            }
        )
    inner = (BLOCK - STREET_WIDTH) / 2
    for x0 in lines[:-1]:
        for y0 in lines[:-1]:
            for dx in (0.0, inner):
                for dy in (0.0, inner):
                    left = CENTRE[0] + x0 + STREET_WIDTH / 2 + dx
                    bottom = CENTRE[1] + y0 + STREET_WIDTH / 2 + dy
                    parcel = box(left, bottom, left + inner, bottom + inner)
                    number = len(parcels) + 1
                    parcels.append({"parcel_no": f"TH-{number:04d}", "geometry": parcel})
                    if parcel.intersects(bim_area):
                        continue
                    buildings.append(_building(rng, parcel, number))
    buildings.append(
        {
            "ref": "B-UNDER-BIM",
            "use": "office",
            "building_levels": 6.0,
            "height": None,
            "geometry": under_bim.centroid.buffer(8.0, quad_segs=2),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    partial.unlink(missing_ok=True)
    for layer, rows in (("streets", streets), ("parcels", parcels), ("buildings", buildings)):
        gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(
            partial, layer=layer, driver="GPKG"
        )
    write_zones(partial, crs)
    partial.replace(path)
    return path


def write_zones(path: Path, crs: str) -> Path:
    """Add the district's planning zones (:data:`ZONES`) as the ``zones`` layer of ``path``.

    Zone edges run along street centre lines, so every parcel lies in one zone.
    """
    west, south = CENTRE[0] - HALF_SIZE, CENTRE[1] - HALF_SIZE
    east, north = CENTRE[0] + HALF_SIZE, CENTRE[1] + HALF_SIZE
    left, right = CENTRE[0] - BLOCK, CENTRE[0] + BLOCK
    low, high = CENTRE[1] - BLOCK, CENTRE[1] + BLOCK
    shapes = (
        box(left, low, right, high),
        box(west, south, left, north),
        box(right, south, east, north),
        MultiPolygon([box(left, high, right, north), box(left, south, right, low)]),
    )
    rows = [
        {"单元编号": code, "用地性质": use, "控高": height, "容积率": far, "建筑密度": coverage,
         "绿地率": green, "退线": setback, "geometry": shape}
        for (code, use, height, far, coverage, green, setback), shape in zip(
            ZONES, shapes, strict=True)
    ]  # fmt: skip
    gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(
        path, layer=ZONES_LAYER, driver="GPKG"
    )
    return path


def _building(rng: random.Random, parcel: BaseGeometry, number: int) -> dict[str, object]:
    minx, miny, maxx, maxy = parcel.bounds
    width, depth = rng.uniform(14, 34), rng.uniform(12, 30)
    x, y = rng.uniform(minx + 3, maxx - 3 - width), rng.uniform(miny + 3, maxy - 3 - depth)
    levels = rng.choice([3, 5, 8, 12, 18, 25, 32])
    known = rng.random()
    return {
        "ref": f"B-{number:04d}",
        "use": rng.choice(USES),
        "building_levels": float(levels) if known < 0.8 else None,
        "height": round(levels * 3.2, 1) if known < 0.3 else None,
        "geometry": box(x, y, x + width, y + depth),
    }


def write_dem(path: Path, crs: str, base: float = demo_district().ground_height) -> Path:
    """A DEM with a flat core (``base`` metres) and hills rising towards the edges."""
    size = int(2 * HALF_SIZE / DEM_RESOLUTION) + 1
    axis = (np.arange(size) - size // 2) * DEM_RESOLUTION
    x, y = np.meshgrid(axis, -axis)
    distance = np.hypot(x, y)
    hills = 12 * (1 - np.exp(-((distance / 350) ** 4))) + 3 * np.sin(x / 90) * np.cos(y / 110)
    heights = base + hills * (distance > 200)
    transform = from_origin(CENTRE[0] - HALF_SIZE, CENTRE[1] + HALF_SIZE, DEM_RESOLUTION,
                            DEM_RESOLUTION)  # fmt: skip
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": crs, "transform": transform, "nodata": -9999.0}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(heights.astype(np.float32), 1)
    return path


def write_ortho(path: Path, layers: Path, crs: str) -> Path:
    """An orthophoto-like RGB raster drawn from the district's layers."""
    size = int(2 * HALF_SIZE / ORTHO_RESOLUTION)
    transform = from_origin(CENTRE[0] - HALF_SIZE, CENTRE[1] + HALF_SIZE, ORTHO_RESOLUTION,
                            ORTHO_RESOLUTION)  # fmt: skip
    canvas = np.zeros((3, size, size), dtype=np.uint8)
    canvas[:] = np.array([92, 128, 78], dtype=np.uint8)[:, None, None]  # park green
    streets = gpd.read_file(layers, layer="streets").geometry.buffer(STREET_WIDTH / 2)
    for geometries, colour in (
        (gpd.read_file(layers, layer="parcels").geometry, (176, 168, 140)),
        (streets, (96, 96, 100)),
        (gpd.read_file(layers, layer="buildings").geometry, (205, 200, 190)),
    ):
        mask = rasterize(((g, 1) for g in geometries), out_shape=(size, size),
                         transform=transform, fill=0, dtype="uint8").astype(bool)  # fmt: skip
        for band, value in enumerate(colour):
            canvas[band][mask] = value
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
               "crs": crs, "transform": transform, "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(canvas)
    return path
