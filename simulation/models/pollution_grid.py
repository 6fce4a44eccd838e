"""The grid a field is computed on: cell centres over a box at a resolution, north up."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulation.models.errors import ModelError

#: Most cells of one field (a coarser resolution is needed beyond).
MAX_CELLS = 4_000_000


class GridError(ModelError):
    """The box or resolution of a field cannot make a grid."""


@dataclass(frozen=True)
class Grid:
    """``rows x columns`` square cells of side ``resolution`` from ``(west, north)``."""

    west: float
    north: float
    resolution: float
    rows: int
    columns: int

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """The affine transform, GDAL order."""
        return (self.west, self.resolution, 0.0, self.north, 0.0, -self.resolution)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of every cell centre, each of shape ``(rows, columns)``."""
        xs = self.west + (np.arange(self.columns) + 0.5) * self.resolution
        ys = self.north - (np.arange(self.rows) + 0.5) * self.resolution
        return np.meshgrid(xs, ys)


def grid_over(bounds: tuple[float, float, float, float], resolution: float) -> Grid:
    """The grid covering ``(min_x, min_y, max_x, max_y)`` at ``resolution``.

    Raises
    ------
    GridError
        For an empty or inverted box, a resolution not above 0, or too many cells.
    """
    west, south, east, north = bounds
    if not all(math.isfinite(v) for v in bounds) or east <= west or north <= south:
        raise GridError(f"bounds {list(bounds)} are not a box (min_x < max_x, min_y < max_y)")
    if not resolution > 0:
        raise GridError(f"resolution {resolution} m must be above 0")
    columns = max(1, math.ceil((east - west) / resolution))
    rows = max(1, math.ceil((north - south) / resolution))
    if rows * columns > MAX_CELLS:
        raise GridError(
            f"{columns} x {rows} cells at {resolution:g} m is more than {MAX_CELLS}: "
            "choose a coarser resolution_m or smaller bounds"
        )
    return Grid(west, north, resolution, rows, columns)
