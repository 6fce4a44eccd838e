"""Leave-one-out cross-validation of a field: each station predicted from all the others.

The error of a station is ``predicted - observed``; RMSE, MAE and bias (the mean error)
summarise them. Kriging keeps the variogram fitted to every station, as is usual: each
fold solves the kriging system without the station left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulation.models.pollution_idw import idw
from simulation.models.pollution_kriging import krige
from simulation.models.pollution_stations import Stations

# predict(stations kept, x, y) -> the estimate at (x, y)
Predict = Callable[[Stations, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LooErrors:
    """Per-station predictions and errors, and their summary (None with one station)."""

    predicted: np.ndarray
    errors: np.ndarray
    rmse: float | None
    mae: float | None
    bias: float | None


def leave_one_out(points: Stations, predict: Predict, minimum: int = 2) -> LooErrors:
    """Predict each station from the others with ``predict``; NaN where it cannot (fewer
    than ``minimum`` others, or no station within reach)."""
    n = len(points)
    predicted = np.full(n, np.nan)
    if n - 1 >= minimum:
        for i in range(n):
            kept = np.arange(n) != i
            others = Stations(
                points.x[kept], points.y[kept], points.values[kept],
                [name for j, name in enumerate(points.names) if j != i], [],
            )  # fmt: skip
            predicted[i] = float(
                np.ravel(predict(others, points.x[i : i + 1], points.y[i : i + 1]))[0]
            )
    errors = predicted - points.values
    valid = errors[np.isfinite(errors)]
    if not len(valid):
        return LooErrors(predicted, errors, None, None, None)
    return LooErrors(
        predicted=predicted,
        errors=errors,
        rmse=float(np.sqrt(np.mean(valid**2))),
        mae=float(np.mean(np.abs(valid))),
        bias=float(np.mean(valid)),
    )


def idw_loo(
    points: Stations, power: float = 2.0, k: int | None = None, radius: float | None = None
) -> LooErrors:
    """Leave-one-out errors of inverse distance weighting."""
    return leave_one_out(points, lambda kept, x, y: idw(kept, x, y, power, k, radius), 1)


def kriging_loo(points: Stations, variogram_model: str, parameters: list[float]) -> LooErrors:
    """Leave-one-out errors of ordinary kriging with a fixed variogram."""
    return leave_one_out(
        points, lambda kept, x, y: krige(kept, x, y, variogram_model, parameters).estimate, 2
    )
