"""Web-mercator XYZ imagery tiles (256x256 RGBA PNG) from the city's orthophoto.

Reads ``<city>/imagery/ortho.tif`` (EPSG:3857 RGBA, see :mod:`cim.raster`) and writes
``<city>/imagery/tiles/{z}/{x}/{y}.png`` from the zoom where the image spans two tiles
down to its native resolution (capped at 18), every tile meeting the image's bounds (so the
viewer, given the rectangle and zoom range, never asks for a missing one). Pixels outside
the image are transparent.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject

from cim.errors import CimError
from cim.layout import CityLayout
from tiles.folders import swap_in

IMAGERY_TILES = CityLayout.IMAGERY
TILE = 256
MAX_ZOOM = 18
OVERVIEW_LEVELS = 4
HALF = 20037508.342789244


@dataclass
class ImagerySummary:
    """What :func:`write_imagery` wrote."""

    min_zoom: int
    max_zoom: int
    tiles: int
    rectangle: tuple[float, float, float, float]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def png_rgba(pixels: np.ndarray) -> bytes:
    """A PNG file of an ``(h, w, 4)`` uint8 RGBA array."""
    height, width = pixels.shape[:2]
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.reshape(height, width * 4)], axis=1
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))  # fmt: skip


def tile_size_m(zoom: int) -> float:
    """Width of one XYZ tile in web-mercator metres."""
    return 2 * HALF / 2**zoom


def tile_range(zoom: int, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the XYZ tiles (y from the north) meeting mercator bounds."""
    size, last = tile_size_m(zoom), 2**zoom - 1
    west, south, east, north = bounds

    def index(offset: float) -> int:
        return min(max(math.floor(offset / size), 0), last)

    return index(west + HALF), index(HALF - north), index(east + HALF), index(HALF - south)


def write_imagery(city_dir: Path, max_zoom: int | None = None) -> ImagerySummary:
    """Write the XYZ tiles of ``<city>/imagery/ortho.tif``; swap them in when complete."""
    started = time.perf_counter()
    path = CityLayout(city_dir).ortho
    if not path.is_file():
        raise CimError(f"{path} is missing: import an orthophoto first")
    with rasterio.open(path) as src:
        bands, transform = src.read(), src.transform
        b = src.bounds
    bounds = (b.left, b.bottom, b.right, b.top)
    native = math.ceil(math.log2(2 * HALF / TILE / transform.a))
    top = max(0, min(MAX_ZOOM, native if max_zoom is None else max_zoom))
    span = max(b.right - b.left, b.top - b.bottom)
    # Down to OVERVIEW_LEVELS below the level where one tile spans the image: CesiumJS
    # draws an imagery layer badly from afar when its lowest level has more than a few
    # tiles over the view (a city framed whole showed a patch of it, away from the city).
    low = max(0, min(top, math.floor(math.log2(2 * HALF / span)) - OVERVIEW_LEVELS))
    final = CityLayout(city_dir).imagery
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = 0
    try:
        for zoom in range(low, top + 1):
            x0, y0, x1, y1 = tile_range(zoom, bounds)
            size = tile_size_m(zoom)
            for x in range(x0, x1 + 1):
                (staging / str(zoom) / str(x)).mkdir(parents=True)
                for y in range(y0, y1 + 1):
                    step = size / TILE
                    target = Affine(step, 0, -HALF + x * size, 0, -step, HALF - y * size)
                    png = png_rgba(_render(bands, transform, target))
                    (staging / str(zoom) / str(x) / f"{y}.png").write_bytes(png)
                    count += 1
        rectangle = _degrees(bounds)
        meta = {"min_zoom": low, "max_zoom": top, "rectangle": rectangle}
        (staging / CityLayout.IMAGERY_META).write_text(json.dumps(meta))
        swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    seconds = round(time.perf_counter() - started, 3)
    return ImagerySummary(low, top, count, rectangle, seconds)


def _render(bands: np.ndarray, transform: Any, target: Any) -> np.ndarray:
    out = np.zeros((4, TILE, TILE), dtype=np.uint8)
    common = {"src_transform": transform, "src_crs": "EPSG:3857", "dst_transform": target,
              "dst_crs": "EPSG:3857"}  # fmt: skip
    for index in range(3):
        reproject(bands[index], out[index], resampling=Resampling.bilinear, **common)
    reproject(bands[3], out[3], resampling=Resampling.nearest, **common)
    out[:3, out[3] == 0] = 0
    return np.ascontiguousarray(out.transpose(1, 2, 0))


def _degrees(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    west, south, east, north = bounds

    def lat(y: float) -> float:
        return math.degrees(math.atan(math.sinh(y / 6378137.0)))

    return (west / 6378137.0 * 180 / math.pi, lat(south), east / 6378137.0 * 180 / math.pi,
            lat(north))  # fmt: skip
