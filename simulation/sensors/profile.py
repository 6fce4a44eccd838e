"""A series model fitted to a real record: log-normal values around a daily and weekly shape.

``log(value) = level + daily(hour) + weekly(day) + sigma * z(t)`` where ``daily`` and
``weekly`` are low-order Fourier series of the local time (two harmonics a day, one a
week: few enough parameters for a record of a few hundred hours) and ``z`` a standard
Ornstein-Uhlenbeck process whose timescale gives the record's lag-one-hour
autocorrelation. :func:`fit_profile` estimates it from a record by least squares in log
space; :meth:`ProfileModel.values` generates a series from it for any times and seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simulation.sensors.errors import SensorInputError
from simulation.sensors.noise import Floats, SmoothNoise

US_PER_HOUR = 3_600_000_000
HOURS_PER_WEEK = 168
# Values below this are taken as this before the logarithm (a record holding zeros).
FLOOR = 0.5
# The fewest hourly values a fit accepts, and the fewest pairs one hour apart.
MIN_VALUES = 24
MIN_PAIRS = 10


@dataclass(frozen=True)
class ProfileModel:
    """The fitted parameters (see the module's docstring); ``utc_offset_h`` is the local
    time the shapes were fitted in."""

    level: float
    daily: tuple[float, float, float, float]
    weekly: tuple[float, float]
    sigma: float
    timescale_h: float
    utc_offset_h: float

    def log_shape(self, times_us: NDArray[np.int64], utc_offset_h: float | None = None) -> Floats:
        """``level + daily + weekly`` at ``times_us``, in the model's local time or the one
        given (a model fitted in London, played in Guangzhou's hours)."""
        design = _design(times_us, self.utc_offset_h if utc_offset_h is None else utc_offset_h)
        coefficients = np.array([self.level, *self.daily, *self.weekly])
        return np.asarray(design @ coefficients, dtype=np.float64)

    def values(
        self, times_us: NDArray[np.int64], seed: int, utc_offset_h: float | None = None
    ) -> Floats:
        """Generated values at ``times_us``: the same seed gives the same series."""
        noise = SmoothNoise(seed, self.timescale_h * 3600.0)
        seconds = times_us.astype(np.float64) / 1e6
        return np.exp(self.log_shape(times_us, utc_offset_h) + self.sigma * noise(seconds))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON holds them."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileModel:
        """The model written by :meth:`to_dict`."""
        try:
            daily = tuple(float(v) for v in data["daily"])
            weekly = tuple(float(v) for v in data["weekly"])
            if len(daily) != 4 or len(weekly) != 2:
                raise ValueError("daily takes 4 coefficients and weekly 2")
            return cls(
                float(data["level"]),
                (daily[0], daily[1], daily[2], daily[3]),
                (weekly[0], weekly[1]),
                float(data["sigma"]),
                float(data["timescale_h"]),
                float(data["utc_offset_h"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SensorInputError(f"not a profile model: {error}") from error


def _design(times_us: NDArray[np.int64], utc_offset_h: float) -> Floats:
    """The regressors: 1, the daily harmonics of the local hour, the weekly one."""
    hours = times_us.astype(np.float64) / US_PER_HOUR + utc_offset_h
    day = 2.0 * np.pi * (hours % 24.0) / 24.0
    # the epoch was a Thursday: shift so that the week starts on Monday
    week = 2.0 * np.pi * ((hours + 72.0) % HOURS_PER_WEEK) / HOURS_PER_WEEK
    columns = [np.ones_like(hours), np.cos(day), np.sin(day), np.cos(2 * day), np.sin(2 * day)]
    columns += [np.cos(week), np.sin(week)]
    return np.column_stack(columns)


def fit_profile(times_us: NDArray[np.int64], values: Floats, utc_offset_h: float) -> ProfileModel:
    """Fit a :class:`ProfileModel` to a record (hourly values; gaps allowed).

    The shapes by least squares on ``log(value)``; ``sigma`` the deviation of the residuals;
    the timescale from their correlation over the pairs of values one hour apart.
    """
    order = np.argsort(times_us)
    times, record = times_us[order], values[order]
    if len(times) < MIN_VALUES:
        raise SensorInputError(f"{len(times)} values: a fit needs at least {MIN_VALUES}")
    logs = np.log(np.maximum(record, FLOOR))
    design = _design(times, utc_offset_h)
    coefficients, *_ = np.linalg.lstsq(design, logs, rcond=None)
    residuals = logs - design @ coefficients
    sigma = float(residuals.std())
    after = np.flatnonzero(np.diff(times) == US_PER_HOUR)
    if len(after) < MIN_PAIRS or sigma == 0.0:
        raise SensorInputError(
            f"{len(after)} pairs of values one hour apart: a fit needs at least {MIN_PAIRS}"
        )
    rho = float(np.corrcoef(residuals[after], residuals[after + 1])[0, 1])
    rho = min(max(rho, 0.01), 0.999)
    c = [float(v) for v in coefficients]
    return ProfileModel(
        c[0], (c[1], c[2], c[3], c[4]), (c[5], c[6]), sigma, -1.0 / math.log(rho), utc_offset_h
    )


def lag_one_correlation(times_us: NDArray[np.int64], values: Floats) -> float:
    """The correlation of a record's values with the value one hour later (pairs exactly one
    hour apart), of their logarithms."""
    order = np.argsort(times_us)
    times, logs = times_us[order], np.log(np.maximum(values[order], FLOOR))
    after = np.flatnonzero(np.diff(times) == US_PER_HOUR)
    return float(np.corrcoef(logs[after], logs[after + 1])[0, 1])
