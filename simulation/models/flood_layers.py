"""The flood's layers: the depth raster, the flooded extent and the low areas as polygons."""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cim.results import Chart, ChartSeries, Feature, RasterLayer, VectorLayer
from simulation.models.flood_fill import EIGHT, Flood, area_by_level
from simulation.models.flood_grid import CityGrid

DIGITS = 3


def depth_raster(grid: CityGrid, flood: Flood) -> RasterLayer:
    """The water depth (m) over the city, NaN where dry."""
    return RasterLayer(
        "depth", "Water depth", "m", flood.depth, tuple(grid.transform.to_gdal()), grid.crs
    )


def _polygons(grid: CityGrid, labels: np.ndarray) -> dict[int, BaseGeometry]:
    """One (multi)polygon per positive label, traced along cell edges."""
    parts: dict[int, list[BaseGeometry]] = {}
    found = shapes(labels.astype(np.int32), mask=labels > 0, transform=grid.transform)
    for geometry, value in found:
        parts.setdefault(int(value), []).append(shape(geometry))
    return {label: shapely.union_all(polys) for label, polys in parts.items()}


def extent_layer(grid: CityGrid, flood: Flood) -> VectorLayer:
    """The flooded cells as polygons, one feature per connected water body."""
    labels, _count = ndimage.label(flood.flooded, structure=EIGHT)
    return VectorLayer("extent", "Flooded extent", _features(grid, flood, labels), grid.crs)


def low_areas_layer(grid: CityGrid, flood: Flood) -> VectorLayer:
    """The cells below the level that the water does not reach, one feature per hollow.

    Their ``depth_m`` is how deep they would be if the water reached them.
    """
    labels, _count = ndimage.label(flood.low, structure=EIGHT)
    return VectorLayer("low_areas", "Low areas apart", _features(grid, flood, labels), grid.crs)


def _features(grid: CityGrid, flood: Flood, labels: np.ndarray) -> list[Feature]:
    count = int(labels.max())
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    cells = ndimage.sum_labels(np.ones(labels.shape), labels, index)
    lowest = ndimage.minimum(grid.dem, labels, index)
    cell_area = float(grid.areas[0])
    features = []
    for label, polygon in _polygons(grid, labels).items():
        features.append(
            Feature(
                polygon,
                {
                    "area_m2": round(float(cells[label - 1]) * cell_area, DIGITS),
                    "depth_m": round(flood.level - float(lowest[label - 1]), DIGITS),
                },
            )
        )
    return features


def level_chart(
    grid: CityGrid, source: np.ndarray, ground: float, level: float, count: int
) -> Chart:
    """Flooded area and stored volume against the level, from the source's ground up."""
    levels = np.linspace(ground, max(level, ground), count)
    rows = area_by_level(grid.dem, source, grid.areas, levels)
    x: list[float | str] = [round(row[0], DIGITS) for row in rows]
    return Chart(
        "area_by_level",
        "Flooded area and volume by water level",
        "Water level (m)",
        "Area (m²) / volume (m³)",
        "line",
        [
            ChartSeries("flooded_area_m2", x, [round(row[1], DIGITS) for row in rows]),
            ChartSeries("volume_m3", x, [round(row[2], DIGITS) for row in rows]),
        ],
    )
