"""Simulation rasters as coloured PNG overlays: a ramp chosen by unit, reprojected to
longitude/latitude, transparent where the raster has no value.

The viewer drapes the PNG over the terrain between the returned bounds (a
``SingleTileImageryProvider``) and draws the legend from the same stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.transform import Affine, array_bounds, from_bounds
from rasterio.warp import Resampling, reproject, transform_bounds

from cim.results import RasterLayer
from tiles.imagery import png_rgba

LONLAT = "EPSG:4326"
# The longest side of an overlay, in pixels.
MAX_PIXELS = 2048
DEPTH = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")  # light to dark blue
HOURS = ("#d73027", "#fee08b", "#1a9850")  # short of the requirement, at it, above it
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
# PM2.5 (µg/m³) at the breakpoints of China's air quality index (HJ 633), yellow to purple.
AIR = ((0.0, "#ffffb2"), (35.0, "#fecc5c"), (75.0, "#fd8d3c"), (115.0, "#f03b20"),
       (150.0, "#bd0026"), (250.0, "#54278f"))  # fmt: skip
AIR_UNITS = {"µg/m³", "μg/m³", "ug/m3", "µg/m3", "μg/m3"}

Stops = list[tuple[float, str]]


@dataclass(frozen=True)
class Overlay:
    """A raster coloured and reprojected: the PNG, its bounds and the legend."""

    png: bytes
    bounds: tuple[float, float, float, float]  # west, south, east, north (degrees)
    low: float | None  # the raster's least value (None: no value anywhere)
    high: float | None
    stops: Stops


def value_range(array: np.ndarray) -> tuple[float | None, float | None]:
    """The least and greatest finite values (None, None when there are none)."""
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return None, None
    return float(finite.min()), float(finite.max())


def required_hours(parameters: dict[str, Any]) -> float | None:
    """The hours a sunlight run required (a numeric parameter named ``required...``)."""
    for key, value in parameters.items():
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key.startswith("required") and is_number and math.isfinite(value):
            return float(value)
    return None


def stops_for(unit: str, low: float | None, high: float | None,
              parameters: dict[str, Any]) -> Stops:  # fmt: skip
    """The colour ramp of a raster in ``unit`` spanning ``low``..``high``."""
    low = 0.0 if low is None else low
    high = low if high is None else high
    if unit in AIR_UNITS:
        return list(AIR)
    if unit == "h":
        required = required_hours(parameters)
        if required is not None:
            top = max(high, required * 2, required + 1)
            return [(min(low, 0.0), HOURS[0]), (required, HOURS[1]), (top, HOURS[2])]
        return _spread(HOURS, low, high)
    if unit == "m":
        return _spread(DEPTH, min(low, 0.0), high)
    return _spread(VIRIDIS, low, high)


def _spread(colours: tuple[str, ...], low: float, high: float) -> Stops:
    if high <= low:
        high = low + 1.0
    step = (high - low) / (len(colours) - 1)
    return [(low + i * step, colour) for i, colour in enumerate(colours)]


def colourize(array: np.ndarray, stops: Stops) -> np.ndarray:
    """An ``(h, w, 4)`` RGBA uint8 image of ``array`` by ``stops``; NaN is transparent."""
    values = [value for value, _ in stops]
    rgb = np.array([[int(colour[i : i + 2], 16) for i in (1, 3, 5)] for _, colour in stops],
                   dtype=np.float64)  # fmt: skip
    image = np.zeros((*array.shape, 4), dtype=np.uint8)
    finite = np.isfinite(array)
    for channel in range(3):
        image[..., channel][finite] = np.interp(array[finite], values, rgb[:, channel]).round()
    image[..., 3][finite] = 255
    return image


def to_lonlat(layer: RasterLayer) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The raster reprojected to EPSG:4326 (nearest neighbour, at most :data:`MAX_PIXELS` a
    side) and its bounds (west, south, east, north)."""
    height, width = layer.array.shape
    source = Affine.from_gdal(*layer.transform)
    west, south, east, north = transform_bounds(
        layer.crs, LONLAT, *array_bounds(height, width, source), densify_pts=21
    )
    # twice the source's pixels along the longer side (a turned grid stays sharp), pixels
    # about square on the ground
    longer = min(MAX_PIXELS, 2 * max(width, height))
    aspect = (east - west) * math.cos(math.radians((south + north) / 2)) / (north - south)
    new_width = max(1, round(longer * min(aspect, 1.0)))
    new_height = max(1, round(longer * min(1.0 / aspect, 1.0)))
    target = from_bounds(west, south, east, north, new_width, new_height)
    out = np.full((new_height, new_width), np.nan, dtype=np.float32)
    reproject(
        np.asarray(layer.array, dtype=np.float32),
        out,
        src_transform=source,
        src_crs=layer.crs,
        src_nodata=np.nan,
        dst_transform=target,
        dst_crs=LONLAT,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    return out, (west, south, east, north)


def overlay(layer: RasterLayer, parameters: dict[str, Any]) -> Overlay:
    """``layer`` coloured by the ramp of its unit and reprojected to longitude/latitude."""
    low, high = value_range(layer.array)
    stops = stops_for(layer.unit, low, high, parameters)
    lonlat, bounds = to_lonlat(layer)
    return Overlay(png_rgba(colourize(lonlat, stops)), bounds, low, high, stops)
