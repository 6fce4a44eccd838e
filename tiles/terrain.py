"""Terrain tiles CesiumJS streams without ion: the ``heightmap-1.0`` format.

``<city>/terrain/tiles/layer.json`` and ``{z}/{x}/{y}.terrain`` in the geographic tiling
scheme (level 0: two tiles of 180 degrees; TMS rows counted from the south). A tile is
65x65 little-endian uint16 heights ``(h + 1000) * 5``, north row first, then one
child-availability byte (SW=1, SE=2, NW=4, NE=8) and one water-mask byte (0: land).
Tiles cover the DEM's bounds and their ancestors; outside the DEM heights are 0.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cim.errors import CimError
from cim.layout import CityLayout
from cim.raster import bilinear, read_dem
from tiles.folders import swap_in

TERRAIN_TILES = CityLayout.TERRAIN
SIZE = 65
MAX_LEVEL = 14
Range = tuple[int, int, int, int]


@dataclass
class TerrainSummary:
    """What :func:`write_terrain` wrote."""

    max_level: int
    tiles: int = 0
    available: list[Range] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def tile_bounds(level: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of TMS tile ``level/x/y``."""
    size = 180.0 / 2**level
    return -180.0 + x * size, -90.0 + y * size, -180.0 + (x + 1) * size, -90.0 + (y + 1) * size


def tile_range(level: int, bounds: tuple[float, float, float, float]) -> Range:
    """``(start_x, start_y, end_x, end_y)`` of the TMS tiles meeting ``bounds`` at a level."""
    if level == 0:
        return 0, 0, 1, 0
    size = 180.0 / 2**level
    last_x, last_y = 2 ** (level + 1) - 1, 2**level - 1

    def index(value: float, origin: float, last: int) -> int:
        return min(max(math.floor((value - origin) / size), 0), last)

    west, south, east, north = bounds
    return (index(west, -180.0, last_x), index(south, -90.0, last_y),
            index(east, -180.0, last_x), index(north, -90.0, last_y))  # fmt: skip


def native_level(dx_deg: float) -> int:
    """The level whose sample spacing first reaches the DEM's cell size (capped)."""
    return max(0, min(MAX_LEVEL, math.ceil(math.log2(180.0 / (SIZE - 1) / dx_deg))))


def encode_tile(heights: np.ndarray, child_mask: int) -> bytes:
    """The ``heightmap-1.0`` bytes of a 65x65 height grid (metres, north row first)."""
    encoded = np.clip(np.rint((np.nan_to_num(heights) + 1000.0) * 5.0), 0, 65535)
    return encoded.astype("<u2").tobytes() + bytes([child_mask, 0])


def decode_tile(data: bytes) -> tuple[np.ndarray, int]:
    """Heights (65x65 metres, north row first) and the child mask of a tile."""
    heights = np.frombuffer(data[: SIZE * SIZE * 2], dtype="<u2").reshape(SIZE, SIZE)
    return heights / 5.0 - 1000.0, data[SIZE * SIZE * 2]


def write_terrain(city_dir: Path, max_level: int | None = None) -> TerrainSummary:
    """Write the terrain tiles of ``<city>/terrain/dem.tif``; swap them in when complete."""
    started = time.perf_counter()
    dem = read_dem(city_dir)
    if dem is None:
        raise CimError(f"{CityLayout(city_dir).dem} is missing: import a DEM first")
    grid, geo = dem
    west, north, dx, dy = geo
    bounds = (west, north + dy * grid.shape[0], west + dx * grid.shape[1], north)
    level_max = native_level(dx) if max_level is None else max(0, min(max_level, 20))
    summary = TerrainSummary(level_max)
    ranges = [tile_range(level, bounds) for level in range(level_max + 1)]
    final = CityLayout(city_dir).terrain
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        steps = np.linspace(0.0, 1.0, SIZE)
        for level, (x0, y0, x1, y1) in enumerate(ranges):
            for x in range(x0, x1 + 1):
                (staging / str(level) / str(x)).mkdir(parents=True)
                for y in range(y0, y1 + 1):
                    w, s, e, n = tile_bounds(level, x, y)
                    lon, lat = np.meshgrid(w + (e - w) * steps, n - (n - s) * steps)
                    heights = bilinear(grid, geo, lon, lat)
                    mask = _child_mask(ranges, level, x, y)
                    path = staging / str(level) / str(x) / f"{y}.terrain"
                    path.write_bytes(encode_tile(heights, mask))
                    summary.tiles += 1
        summary.available = ranges
        (staging / CityLayout.TERRAIN_LAYER).write_text(
            json.dumps(_layer(bounds, ranges), indent=1)
        )
        swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _child_mask(ranges: list[Range], level: int, x: int, y: int) -> int:
    if level + 1 >= len(ranges):
        return 0
    x0, y0, x1, y1 = ranges[level + 1]
    mask = 0
    for bit, (dx, dy) in ((1, (0, 0)), (2, (1, 0)), (4, (0, 1)), (8, (1, 1))):
        cx, cy = 2 * x + dx, 2 * y + dy
        if x0 <= cx <= x1 and y0 <= cy <= y1:
            mask |= bit
    return mask


def _layer(bounds: tuple[float, float, float, float], ranges: list[Range]) -> dict[str, Any]:
    return {
        "tilejson": "2.1.0",
        "name": "CIMTwin terrain",
        "format": "heightmap-1.0",
        "version": "1.0.0",
        "scheme": "tms",
        "tiles": ["{z}/{x}/{y}.terrain"],
        "projection": "EPSG:4326",
        "bounds": [round(v, 9) for v in bounds],
        "minzoom": 0,
        "maxzoom": len(ranges) - 1,
        "available": [
            [{"startX": x0, "startY": y0, "endX": x1, "endY": y1}] for x0, y0, x1, y1 in ranges
        ],
    }
