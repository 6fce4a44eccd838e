"""Connected flood filling over a DEM: the pure core of the flood model.

A cell floods when its ground lies below the water level *and* it is connected (8
neighbours) through such cells to where the water enters; cells below the level that are
not connected are "low areas", reported apart. Everything here works on numpy arrays: a
DEM (float, NaN for no data), the area of a cell (one number, or one per row for a
geographic grid) and a boolean mask of source cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from simulation.models.errors import ModelError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Eight-connectivity: water flows between diagonal neighbours too.
EIGHT = np.ones((3, 3), dtype=bool)
#: Earth radius (m) for the cell areas of a geographic grid (authalic sphere).
EARTH_RADIUS_M = 6_371_007.2
#: The volume search stops when the stored volume is within this fraction of the target.
VOLUME_TOLERANCE = 1e-4
MAX_ITERATIONS = 100


class FloodInputError(ModelError):
    """The DEM, the source or the level cannot be flooded as asked."""


@dataclass(frozen=True)
class Flood:
    """The water at one level.

    ``depth`` is float32, NaN where dry (or no data); ``flooded`` the cells connected to
    the source below the level; ``low`` the cells below the level that are not connected.
    Areas in m², volumes in m³.
    """

    level: float
    depth: npt.NDArray[np.float32]
    flooded: BoolArray
    low: BoolArray
    area_m2: float
    volume_m3: float
    low_area_m2: float
    low_volume_m3: float

    @property
    def max_depth_m(self) -> float:
        """The deepest water (0 when nothing floods)."""
        return float(np.nanmax(self.depth)) if self.flooded.any() else 0.0


def row_areas(rows: int, dx: float, dy: float) -> FloatArray:
    """The area of each row's cells on a projected grid: ``dx * dy`` for every row."""
    return np.full(rows, abs(dx * dy), dtype=np.float64)


def geographic_row_areas(rows: int, north: float, dlon: float, dlat: float) -> FloatArray:
    """The area (m²) of each row's cells on a lon/lat grid, on a sphere.

    A cell between latitudes φ1 and φ2 spanning Δλ covers R²·Δλ·|sin φ1 - sin φ2|.
    """
    edges = np.radians(north - np.arange(rows + 1) * abs(dlat))
    return EARTH_RADIUS_M**2 * math.radians(abs(dlon)) * np.abs(np.diff(np.sin(edges)))


def edge_source(dem: FloatArray) -> BoolArray:
    """The lowest valid cell on the DEM's edge (the array border or next to no data).

    Raises
    ------
    FloodInputError
        When the DEM holds no valid height.
    """
    valid = np.isfinite(dem)
    if not valid.any():
        raise FloodInputError("the DEM holds no valid height")
    edge = valid & ~ndimage.binary_erosion(valid, structure=EIGHT, border_value=0)
    heights = np.where(edge, dem, np.inf)
    source = np.zeros(dem.shape, dtype=bool)
    source[np.unravel_index(int(np.argmin(heights)), dem.shape)] = True
    return source


def _connected(dem: FloatArray, level: float, source: BoolArray) -> tuple[BoolArray, BoolArray]:
    """The cells below ``level`` connected to ``source``, and those below but apart."""
    below = dem < level  # NaN compares False: no data never floods
    labels, count = ndimage.label(below, structure=EIGHT)
    keep = np.zeros(count + 1, dtype=bool)
    keep[np.unique(labels[source])] = True
    keep[0] = False
    flooded = keep[labels]
    return flooded, below & ~flooded


def _measure(
    dem: FloatArray, level: float, cells: BoolArray, areas: FloatArray
) -> tuple[float, float]:
    """Area and volume of the water at ``level`` over ``cells``."""
    counts = cells.sum(axis=1)
    heights = np.sum(dem, axis=1, where=cells, dtype=np.float64)  # no temporary grid
    return float(counts @ areas), float((level * counts - heights) @ areas)


def _check(dem: FloatArray, source: BoolArray, areas: FloatArray) -> None:
    if dem.ndim != 2:
        raise FloodInputError(f"the DEM must be a 2-D grid, not {dem.ndim}-D")
    if source.shape != dem.shape:
        raise FloodInputError(f"the source mask {source.shape} differs from the DEM {dem.shape}")
    if areas.shape != (dem.shape[0],):
        raise FloodInputError(f"{areas.shape[0]} row areas for a DEM of {dem.shape[0]} rows")
    if not (source & np.isfinite(dem)).any():
        raise FloodInputError("the source lies outside the DEM's valid heights")


def flood_at_level(dem: FloatArray, level: float, source: BoolArray, areas: FloatArray) -> Flood:
    """Flood ``dem`` to ``level`` from the ``source`` cells.

    Parameters
    ----------
    dem
        Ground heights, NaN for no data.
    level
        The water level, in the DEM's heights.
    source
        Where the water enters (True cells); a source cell whose ground is at or above the
        level floods nothing (a valid, empty result).
    areas
        The area (m²) of one cell of each row.
    """
    _check(dem, source, areas)
    if not math.isfinite(level):
        raise FloodInputError(f"the water level {level} is not a number")
    flooded, _low = _connected(dem, level, source)
    return _flood(dem, level, flooded, areas)


def _flood(dem: FloatArray, level: float, flooded: BoolArray, areas: FloatArray) -> Flood:
    """The flood at ``level`` over the connected cells ``flooded``."""
    low = (dem < level) & ~flooded
    area, volume = _measure(dem, level, flooded, areas)
    low_area, low_volume = _measure(dem, level, low, areas)
    depth = np.where(flooded, level - dem, np.nan).astype(np.float32)
    return Flood(level, depth, flooded, low, area, volume, low_area, low_volume)


def level_for_volume(
    dem: FloatArray,
    volume: float,
    source: BoolArray,
    areas: FloatArray,
    tolerance: float = VOLUME_TOLERANCE,
) -> Flood:
    """The flood whose stored volume matches ``volume`` (m³) within ``tolerance``.

    The stored volume grows with the level: continuously while the connected cells stay
    the same, by a step when the water tops a ridge into another basin. A Newton step
    (the derivative is the flooded area), kept inside a shrinking bracket, finds the
    level; when the target falls inside a step, the level is the ridge's height and the
    stored volume that of the water below it (less than asked: the rest spills over).
    """
    _check(dem, source, areas)
    if not (math.isfinite(volume) and volume > 0):
        raise FloodInputError(f"the volume {volume} m³ must be a positive number")
    ground = float(np.nanmin(np.where(source, dem, np.nan)))
    # above every height the source's cells alone hold the volume: the bracket's top
    top = float(np.nanmax(dem))
    low, high = ground, top + volume / float(areas.min())
    below = (low, np.zeros(dem.shape, dtype=bool))  # the highest level found short of it
    level = top if low < top else (low + high) / 2  # above the top, V is linear: one step
    for _ in range(MAX_ITERATIONS):
        flooded, _low = _connected(dem, level, source)
        area, stored = _measure(dem, level, flooded, areas)
        if abs(stored - volume) <= tolerance * volume:
            return _flood(dem, level, flooded, areas)
        if stored < volume:
            low, below = level, (level, flooded)
        else:
            high = level
        if high - low < 1e-9 * max(1.0, abs(high)):
            break  # a step: stay at the ridge, the water that tops it left out
        level = level + (volume - stored) / area if area > 0 else (low + high) / 2
        if not low < level < high:
            level = (low + high) / 2
    return _flood(dem, below[0], below[1], areas)


def area_by_level(
    dem: FloatArray, source: BoolArray, areas: FloatArray, levels: FloatArray
) -> list[tuple[float, float, float]]:
    """``(level, flooded area m², volume m³)`` at each of ``levels``."""
    _check(dem, source, areas)
    rows = []
    for level in np.asarray(levels, dtype=np.float64).tolist():
        flooded, _ = _connected(dem, level, source)
        rows.append((level, *_measure(dem, level, flooded, areas)))
    return rows
