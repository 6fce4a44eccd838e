"""One field computed from stations: the estimate on a grid, its variance (kriging), the
estimate at other points and the leave-one-out errors, whichever the method."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulation.models.pollution_grid import Grid
from simulation.models.pollution_idw import idw
from simulation.models.pollution_kriging import fit, krige
from simulation.models.pollution_loo import LooErrors, idw_loo, kriging_loo
from simulation.models.pollution_stations import Stations


@dataclass(frozen=True)
class Method:
    """How to interpolate: ``"idw"`` (``power``, ``neighbours``, ``radius``) or
    ``"kriging"`` (``variogram_model``; its parameters fitted unless given)."""

    name: str = "idw"
    power: float = 2.0
    neighbours: int | None = None
    radius: float | None = None
    variogram_model: str = "spherical"
    variogram_parameters: list[float] | None = None


@dataclass(frozen=True)
class Field:
    """A field on a grid, the method as used, and its leave-one-out errors."""

    grid: Grid
    values: np.ndarray  # (rows, columns) float32, NaN: no station within reach
    variance: np.ndarray | None  # kriging only
    method: Method
    loo: LooErrors
    used: dict[str, Any] = field(default_factory=dict)


def interpolate(points: Stations, grid: Grid, method: Method) -> Field:
    """The field of ``points`` over ``grid`` by ``method``, with its leave-one-out errors;
    a kriging variogram fitted once, then kept for the cross-validation."""
    xs, ys = grid.centres()
    if method.name == "kriging":
        system = fit(points, method.variogram_model, method.variogram_parameters)
        parameters = [float(v) for v in system.variogram_model_parameters]
        method = Method("kriging", variogram_model=method.variogram_model,
                        variogram_parameters=parameters)  # fmt: skip
        kriged = krige(points, xs, ys, method.variogram_model, parameters)
        loo = kriging_loo(points, method.variogram_model, parameters)
        values, variance = kriged.estimate, kriged.variance.astype(np.float32)
        used: dict[str, Any] = {"variogram_model": method.variogram_model,
                                "variogram_parameters": parameters}  # fmt: skip
    else:
        values = idw(points, xs, ys, method.power, method.neighbours, method.radius)
        loo = idw_loo(points, method.power, method.neighbours, method.radius)
        variance = None
        used = {"power": method.power, "neighbours": method.neighbours,
                "search_radius_m": method.radius}  # fmt: skip
    return Field(grid, values.astype(np.float32), variance, method, loo, used)


def estimate_at(points: Stations, method: Method, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The estimate of ``method`` (its variogram fixed, for kriging) at points ``(x, y)``."""
    if not len(x):
        return np.zeros(0)
    if method.name == "kriging":
        return krige(points, x, y, method.variogram_model, method.variogram_parameters).estimate
    return idw(points, x, y, method.power, method.neighbours, method.radius)
