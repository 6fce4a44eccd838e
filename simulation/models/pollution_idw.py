"""Inverse distance weighting: each point takes the mean of the stations' values weighted
by ``1 / distance ** power``, optionally over the ``k`` nearest stations and within a
search radius.

A point on a station takes its value exactly; every value lies within the stations'
range (the weights are positive and sum to one). A point with no station within the
radius gets NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from simulation.models.pollution_stations import Stations, require

# Closer than this (CRS units) a point counts as on the station.
ON_STATION = 1e-9
# Query points weighed at once against every station.
CHUNK = 20_000


def idw(
    points: Stations,
    qx: np.ndarray,
    qy: np.ndarray,
    power: float = 2.0,
    k: int | None = None,
    radius: float | None = None,
) -> np.ndarray:
    """The IDW estimate at the query points ``(qx, qy)`` (any equal shapes).

    ``k`` limits each estimate to the nearest stations (all by default); ``radius`` to
    those within that distance. Returns an array of the query's shape.
    """
    require(points, 1, "inverse distance weighting")
    shape = np.shape(qx)
    if k is None and radius is None:
        return _every_station(points, np.ravel(qx), np.ravel(qy), power).reshape(shape)
    query = np.column_stack([np.ravel(qx), np.ravel(qy)])
    count = len(points) if k is None else max(1, min(k, len(points)))
    upper = np.inf if radius is None else radius
    distance, index = cKDTree(points.xy).query(query, k=count, distance_upper_bound=upper)
    distance = np.asarray(distance, dtype=np.float64).reshape(len(query), count)
    index = np.asarray(index).reshape(len(query), count)
    found = np.isfinite(distance)
    values = np.zeros_like(distance)
    values[found] = points.values[index[found]]
    with np.errstate(divide="ignore"):
        weights = np.where(found, 1.0 / np.maximum(distance, ON_STATION) ** power, 0.0)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = (weights * values).sum(axis=1) / total
    on_station = found & (distance <= ON_STATION)
    hit = on_station.any(axis=1)
    estimate[hit] = values[hit, on_station[hit].argmax(axis=1)]
    estimate[total == 0] = np.nan
    return estimate.reshape(shape)


def _every_station(points: Stations, qx: np.ndarray, qy: np.ndarray, power: float) -> np.ndarray:
    """IDW over every station: distances computed block by block (no search needed)."""
    estimate = np.empty(len(qx))
    for start in range(0, len(qx), CHUNK):
        part = slice(start, start + CHUNK)
        distance = np.hypot(qx[part, None] - points.x, qy[part, None] - points.y)
        nearest = distance.argmin(axis=1)
        with np.errstate(divide="ignore"):
            weights = 1.0 / np.maximum(distance, ON_STATION) ** power
        estimate[part] = (weights @ points.values) / weights.sum(axis=1)
        on_station = distance[np.arange(len(nearest)), nearest] <= ON_STATION
        estimate[part][on_station] = points.values[nearest[on_station]]
    return estimate
