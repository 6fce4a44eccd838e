"""The flood model's grid: the city DEM in the city CRS, and where the water enters on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.enums import Resampling
from rasterio.features import geometry_mask
from rasterio.transform import Affine, rowcol
from rasterio.warp import calculate_default_transform, reproject
from shapely.geometry.base import BaseGeometry

from cim.crs import horizontal_crs, transform_arrays
from cim.layout import CityLayout
from simulation.models.errors import ModelError
from simulation.models.flood_fill import row_areas

FloatArray = npt.NDArray[np.float64]


class NoDemError(ModelError):
    """The city has no DEM to flood."""


class SourceError(ModelError):
    """Where the water enters is not on the DEM."""


@dataclass(frozen=True)
class CityGrid:
    """The DEM resampled into the city CRS: heights (NaN no data), affine, CRS, row areas."""

    dem: FloatArray
    transform: Affine
    crs: str

    @property
    def areas(self) -> FloatArray:
        """The area (m²) of one cell of each row."""
        return row_areas(self.dem.shape[0], self.transform.a, self.transform.e)

    @property
    def cell_size_m(self) -> float:
        """The side of a cell (m), the mean of its width and height."""
        return (abs(self.transform.a) + abs(self.transform.e)) / 2

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """The ``(row, col)`` holding a point of the city CRS, None outside the grid."""
        row, col = rowcol(self.transform, x, y)
        rows, cols = self.dem.shape
        return (int(row), int(col)) if 0 <= row < rows and 0 <= col < cols else None

    def window(self, geometry: BaseGeometry) -> tuple[slice, slice, npt.NDArray[np.bool_]] | None:
        """The cells a geometry touches: the rows and columns of its box and the mask in it."""
        west, south, east, north = geometry.bounds
        top, left = rowcol(self.transform, west, north)
        bottom, right = rowcol(self.transform, east, south)
        rows, cols = self.dem.shape
        r0, r1 = max(int(top), 0), min(int(bottom) + 1, rows)
        c0, c1 = max(int(left), 0), min(int(right) + 1, cols)
        if r0 >= r1 or c0 >= c1:
            return None
        inner = self.transform @ Affine.translation(c0, r0)
        mask = geometry_mask([geometry], (r1 - r0, c1 - c0), inner, all_touched=True, invert=True)
        if not mask.any():
            return None
        return slice(r0, r1), slice(c0, c1), mask


def city_grid(city_dir: Path, crs: str) -> CityGrid:
    """The city's DEM (float32 EPSG:4326) resampled bilinearly into ``crs`` near its resolution.

    Raises
    ------
    NoDemError
        When the city has no DEM.
    """
    path = CityLayout(city_dir).dem
    if not path.is_file():
        raise NoDemError("the city has no DEM: import one with `cimtwin import dem`")
    target = horizontal_crs(crs)
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, target, src.width, src.height, *src.bounds
        )
        grid = np.full((height, width), np.nan, dtype=np.float32)
        reproject(
            rasterio.band(src, 1), grid, src_nodata=np.nan, dst_transform=transform,
            dst_crs=target, dst_nodata=np.nan, resampling=Resampling.bilinear,
        )  # fmt: skip
    return CityGrid(grid.astype(np.float64), transform, crs)


def point_source(grid: CityGrid, x: float, y: float, said: str) -> npt.NDArray[np.bool_]:
    """The cell holding a point of the city CRS as a source mask.

    Raises
    ------
    SourceError
        When the point lies outside the DEM or on no data (``said`` names the point).
    """
    cell = grid.cell_of(x, y)
    if cell is None or not np.isfinite(grid.dem[cell]):
        raise SourceError(f"the source {said} lies outside the DEM")
    source = np.zeros(grid.dem.shape, dtype=bool)
    source[cell] = True
    return source


def lonlat_source(grid: CityGrid, lon: float, lat: float) -> npt.NDArray[np.bool_]:
    """The cell holding a lon/lat point as a source mask."""
    x, y = transform_arrays("EPSG:4326", horizontal_crs(grid.crs), np.array([lon]), np.array([lat]))
    return point_source(grid, float(x[0]), float(y[0]), f"({lon:g}, {lat:g})")


def area_source(grid: CityGrid, geometry: BaseGeometry, said: str) -> npt.NDArray[np.bool_]:
    """The valid cells an area (a river polygon) touches as a source mask."""
    found = grid.window(geometry)
    source = np.zeros(grid.dem.shape, dtype=bool)
    if found is not None:
        rows, cols, mask = found
        source[rows, cols] = mask
    source &= np.isfinite(grid.dem)
    if not source.any():
        raise SourceError(f"the source {said} lies outside the DEM")
    return source
