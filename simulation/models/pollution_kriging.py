"""Ordinary kriging through pykrige: the variogram fitted to the stations (or given), the
estimate and its kriging variance at query points.

Coordinates are euclidean (the city CRS is projected, in metres). The estimate is exact at
the stations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pykrige.ok import OrdinaryKriging

from simulation.models.pollution_stations import Stations, StationsError, require

VARIOGRAM_MODELS = ("linear", "spherical", "exponential", "gaussian")
# Query points kriged per call (pykrige's vectorised backend holds points x stations).
CHUNK = 20_000


@dataclass(frozen=True)
class Kriged:
    """Kriging estimates and variances at the query points, with the variogram used."""

    estimate: np.ndarray
    variance: np.ndarray
    variogram_model: str
    variogram_parameters: list[float]


def fit(
    points: Stations, variogram_model: str = "spherical", parameters: list[float] | None = None
) -> OrdinaryKriging:
    """An ordinary kriging system over ``points``, its variogram fitted unless given.

    Raises
    ------
    StationsError
        With fewer than 3 stations, when every station reports the same value, or for an
        unknown variogram model.
    """
    if variogram_model not in VARIOGRAM_MODELS:
        raise StationsError(
            f"unknown variogram model {variogram_model!r}; one of {', '.join(VARIOGRAM_MODELS)}"
        )
    require(points, 3 if parameters is None else 2, "ordinary kriging")
    if parameters is None and np.ptp(points.values) == 0:
        raise StationsError(
            f"every station reports {points.values[0]:g}: kriging cannot fit a variogram "
            "to values that do not vary (use inverse distance weighting)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OrdinaryKriging(
            points.x,
            points.y,
            points.values,
            variogram_model=variogram_model,
            variogram_parameters=parameters,
            exact_values=True,
        )


def krige(
    points: Stations,
    qx: np.ndarray,
    qy: np.ndarray,
    variogram_model: str = "spherical",
    parameters: list[float] | None = None,
) -> Kriged:
    """Ordinary kriging of ``points`` at ``(qx, qy)`` (any equal shapes).

    ``parameters`` fixes the variogram (pykrige's order: ``[slope, nugget]`` for linear,
    ``[sill, range, nugget]`` otherwise); by default it is fitted to the stations.
    """
    system = fit(points, variogram_model, parameters)
    shape = np.shape(qx)
    xs, ys = np.ravel(qx).astype(np.float64), np.ravel(qy).astype(np.float64)
    estimate = np.empty(len(xs))
    variance = np.empty(len(xs))
    for start in range(0, len(xs), CHUNK):
        part = slice(start, start + CHUNK)
        with warnings.catch_warnings():  # a nugget-only fit is ill-conditioned, yet solved
            warnings.simplefilter("ignore")
            z, ss = system.execute("points", xs[part], ys[part])
        estimate[part] = np.ma.filled(z, np.nan)
        variance[part] = np.ma.filled(ss, np.nan)
    return Kriged(
        estimate=estimate.reshape(shape),
        variance=np.maximum(variance, 0.0).reshape(shape),
        variogram_model=variogram_model,
        variogram_parameters=[float(v) for v in system.variogram_model_parameters],
    )
