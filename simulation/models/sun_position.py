"""Where the sun is during the window of the sunlight rule, from NREL's SPA (through pvlib).

GB 50180 counts sun on the Major Cold day (大寒日, 8:00-16:00 true solar time) or on the
Winter Solstice (冬至日, 9:00-15:00). Both days are solar terms: the day (Beijing time) on
which the sun's apparent geocentric longitude reaches 300° or 270°; they are found here from
SPA's apparent longitude, not from a fixed date. True solar time is UTC + longitude / 15 h +
the equation of time, so the window's UTC instants depend on the longitude.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pvlib import solarposition, spa

FloatArray = npt.NDArray[np.float64]
Day = Literal["major_cold", "winter_solstice"]

#: The sun's apparent longitude that starts each solar term used by the rule.
TERM_LONGITUDE: dict[str, float] = {"major_cold": 300.0, "winter_solstice": 270.0}
#: The month and day the term falls close to, where the search starts.
_TERM_NEAR: dict[str, tuple[int, int]] = {"major_cold": (1, 20), "winter_solstice": (12, 21)}
#: The window of each day in true solar time (hours), as GB 50180 sets it.
WINDOW_HOURS: dict[str, tuple[float, float]] = {
    "major_cold": (8.0, 16.0),
    "winter_solstice": (9.0, 15.0),
}
#: Solar terms are dated in Beijing time (UTC+8).
BEIJING = dt.timezone(dt.timedelta(hours=8))
#: TT - UT1 in seconds, about right for the 2020s (SPA's ``delta_t``).
DELTA_T = 69.0
_SEARCH_DAYS = 6.0


@dataclass(frozen=True)
class SunPath:
    """The sun at evenly spaced instants of a window.

    ``azimuth`` (degrees clockwise from true north) and ``elevation`` (degrees above the
    horizon, without refraction) are sampled at the middle of each step, so each sample
    stands for ``step_minutes`` of the window.
    """

    times_utc: pd.DatetimeIndex
    azimuth: FloatArray
    elevation: FloatArray
    step_minutes: float

    @property
    def size(self) -> int:
        """The number of samples."""
        return len(self.azimuth)


def apparent_sun_longitude(unixtime: FloatArray) -> FloatArray:
    """The sun's apparent geocentric longitude (degrees, 0..360) at Unix times (seconds)."""
    jd = spa.julian_day(unixtime)
    jce = spa.julian_ephemeris_century(spa.julian_ephemeris_day(jd, DELTA_T))
    jme = spa.julian_ephemeris_millennium(jce)
    theta = spa.geocentric_longitude(spa.heliocentric_longitude(jme))
    nutation = np.empty((2, len(unixtime)))
    spa.longitude_obliquity_nutation(
        jce,
        spa.mean_elongation(jce),
        spa.mean_anomaly_sun(jce),
        spa.mean_anomaly_moon(jce),
        spa.moon_argument_latitude(jce),
        spa.moon_ascending_longitude(jce),
        nutation,
    )
    aberration = spa.aberration_correction(spa.heliocentric_radius_vector(jme))
    longitude: FloatArray = spa.apparent_sun_longitude(theta, nutation[0], aberration)
    return np.mod(longitude, 360.0)


def solar_term_instant(day: Day, year: int) -> dt.datetime:
    """The UTC instant the sun's apparent longitude reaches the term's value in ``year``.

    Found by bisection over a few days around the usual date (the longitude grows by
    about 1° a day), to better than a second.
    """
    target = TERM_LONGITUDE[day]
    month, day_of_month = _TERM_NEAR[day]
    near = dt.datetime(year, month, day_of_month, tzinfo=dt.UTC).timestamp()
    low, high = near - _SEARCH_DAYS * 86400.0, near + _SEARCH_DAYS * 86400.0

    def offset(t: float) -> float:
        value = apparent_sun_longitude(np.array([t]))[0] - target
        return float((value + 180.0) % 360.0 - 180.0)

    if not offset(low) < 0.0 < offset(high):
        raise ValueError(f"no {day} solar term near {year}-{month:02d}-{day_of_month:02d}")
    while high - low > 0.5:
        middle = (low + high) / 2.0
        if offset(middle) < 0.0:
            low = middle
        else:
            high = middle
    return dt.datetime.fromtimestamp((low + high) / 2.0, tz=dt.UTC)


def rule_date(day: Day, year: int) -> dt.date:
    """The date (Beijing time) of the Major Cold day or of the Winter Solstice of ``year``."""
    return solar_term_instant(day, year).astimezone(BEIJING).date()


def equation_of_time_minutes(times_utc: pd.DatetimeIndex) -> FloatArray:
    """The equation of time (minutes, true minus mean solar time) at the given instants."""
    frame = solarposition.get_solarposition(
        times_utc, 0.0, 0.0, method="nrel_numpy", delta_t=DELTA_T
    )
    return np.asarray(frame["equation_of_time"], dtype=np.float64)


def true_solar_to_utc(date: dt.date, hours: float, longitude: float) -> dt.datetime:
    """The UTC instant when true solar time at ``longitude`` is ``hours`` on ``date``.

    True solar time = UTC + longitude / 15 h + equation of time; the equation of time is
    evaluated at the instant found (two passes: it changes by seconds a day).
    """
    midnight = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    mean = midnight + dt.timedelta(hours=hours - longitude / 15.0)
    instant = mean
    for _ in range(2):
        eot = equation_of_time_minutes(pd.DatetimeIndex([instant]))[0]
        instant = mean - dt.timedelta(minutes=float(eot))
    return instant


def window_utc(day: Day, date: dt.date, longitude: float) -> tuple[dt.datetime, dt.datetime]:
    """The rule's window on ``date`` (true solar time) as UTC instants at ``longitude``."""
    start, end = WINDOW_HOURS[day]
    return true_solar_to_utc(date, start, longitude), true_solar_to_utc(date, end, longitude)


def sun_path(
    start: dt.datetime,
    end: dt.datetime,
    latitude: float,
    longitude: float,
    step_minutes: float = 1.0,
    altitude: float = 0.0,
) -> SunPath:
    """The sun from ``start`` to ``end`` at the middle of each ``step_minutes`` step (SPA)."""
    if step_minutes <= 0:
        raise ValueError("step_minutes must be positive")
    minutes = (end - start).total_seconds() / 60.0
    # never longer than asked (a window a fraction of a second over 8 h takes 481 steps)
    count = max(1, math.ceil(minutes / step_minutes - 1e-9))
    step = minutes / count
    offsets = pd.to_timedelta((np.arange(count) + 0.5) * step, unit="min")
    times = pd.DatetimeIndex(pd.Timestamp(start) + offsets)
    frame = solarposition.get_solarposition(
        times, latitude, longitude, altitude=altitude, method="nrel_numpy", delta_t=DELTA_T
    )
    return SunPath(
        times_utc=times,
        azimuth=np.asarray(frame["azimuth"], dtype=np.float64),
        elevation=np.asarray(frame["elevation"], dtype=np.float64),
        step_minutes=step,
    )


def rule_sun_path(
    day: Day, year: int, latitude: float, longitude: float, step_minutes: float = 1.0
) -> tuple[dt.date, tuple[dt.datetime, dt.datetime], SunPath]:
    """The rule's date, its window in UTC, and the sun over that window at a place."""
    date = rule_date(day, year)
    window = window_utc(day, date, longitude)
    return date, window, sun_path(*window, latitude, longitude, step_minutes)


def sun_at(instant: dt.datetime, latitude: float, longitude: float) -> tuple[float, float]:
    """The sun's azimuth and elevation (degrees, no refraction) at one instant."""
    frame = solarposition.get_solarposition(
        pd.DatetimeIndex([pd.Timestamp(instant)]),
        latitude,
        longitude,
        method="nrel_numpy",
        delta_t=DELTA_T,
    )
    return float(frame["azimuth"].iloc[0]), float(frame["elevation"].iloc[0])
