"""The sun's position, the rule's days and its window against published values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pvlib import solarposition

from simulation.models import sun_position


def test_spa_matches_the_nrel_paper_example() -> None:
    # Reda & Andreas (NREL/TP-560-34302), the worked example: topocentric zenith
    # 50.11162°, azimuth 194.34024°.
    time = pd.DatetimeIndex([pd.Timestamp("2003-10-17 12:30:30", tz="Etc/GMT+7")])
    frame = solarposition.get_solarposition(
        time,
        39.742476,
        -105.1786,
        altitude=1830.14,
        pressure=82000.0,
        temperature=11.0,
        method="nrel_numpy",
        delta_t=67.0,
    )
    assert frame["apparent_zenith"].iloc[0] == pytest.approx(50.11162, abs=1e-4)
    assert frame["azimuth"].iloc[0] == pytest.approx(194.34024, abs=1e-4)


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        # Published Beijing dates of 大寒 (Major Cold) and 冬至 (Winter Solstice).
        ("major_cold", 2025, dt.date(2025, 1, 20)),
        ("major_cold", 2026, dt.date(2026, 1, 20)),
        ("winter_solstice", 2024, dt.date(2024, 12, 21)),
        ("winter_solstice", 2025, dt.date(2025, 12, 21)),
    ],
)
def test_rule_dates_are_the_published_solar_terms(
    day: sun_position.Day, year: int, expected: dt.date
) -> None:
    assert sun_position.rule_date(day, year) == expected


@pytest.mark.parametrize(
    ("year", "expected_utc"),
    [
        # The December solstices as USNO publishes them: 2024-12-21 09:20, 2025-12-21 15:03.
        (2024, dt.datetime(2024, 12, 21, 9, 20, tzinfo=dt.UTC)),
        (2025, dt.datetime(2025, 12, 21, 15, 3, tzinfo=dt.UTC)),
    ],
)
def test_solstice_instant_within_a_minute_of_the_published_one(
    year: int, expected_utc: dt.datetime
) -> None:
    instant = sun_position.solar_term_instant("winter_solstice", year)
    assert abs((instant - expected_utc).total_seconds()) < 60


def test_major_cold_2025_starts_at_the_published_minute() -> None:
    # Published: 2025-01-20 04:00 Beijing time.
    instant = sun_position.solar_term_instant("major_cold", 2025).astimezone(sun_position.BEIJING)
    expected = dt.datetime(2025, 1, 20, 4, 0, tzinfo=sun_position.BEIJING)
    assert abs((instant - expected).total_seconds()) < 60


def test_true_solar_noon_is_the_sun_transit() -> None:
    date = dt.date(2026, 1, 20)
    noon = sun_position.true_solar_to_utc(date, 12.0, 116.4)
    transit = solarposition.sun_rise_set_transit_spa(
        pd.DatetimeIndex([pd.Timestamp(2026, 1, 20, tz="UTC")]), 39.9, 116.4
    )["transit"].iloc[0]
    assert abs((pd.Timestamp(noon) - transit).total_seconds()) < 2


def test_true_solar_time_follows_the_field_note_formula() -> None:
    # True solar time = Beijing time + equation of time - (120° - longitude) / 15°.
    date, longitude = dt.date(2026, 1, 20), 104.06
    start = sun_position.true_solar_to_utc(date, 8.0, longitude)
    eot = sun_position.equation_of_time_minutes(pd.DatetimeIndex([start]))[0]
    beijing = start.astimezone(sun_position.BEIJING)
    true_solar = (
        beijing.hour * 60 + beijing.minute + beijing.second / 60 + eot - (120 - longitude) * 4
    )
    assert true_solar == pytest.approx(8 * 60, abs=0.05)


def test_window_and_path_at_one_minute_steps() -> None:
    date, (start, end), path = sun_position.rule_sun_path("major_cold", 2026, 39.9, 116.4, 1.0)
    assert date == dt.date(2026, 1, 20)
    assert (end - start).total_seconds() == pytest.approx(8 * 3600, abs=10)
    # steps of at most one minute (GB/T 50947): 480, or 481 when the window is a hair longer
    assert path.size in (480, 481) and 0.99 < path.step_minutes <= 1.0
    # Symmetric about true solar noon, the sun due south at its highest there.
    before, after = (path.size - 1) // 2, path.size // 2 + (path.size % 2)
    assert path.elevation[before] == pytest.approx(path.elevation[after], abs=0.01)
    assert path.azimuth[before] < 180.0 < path.azimuth[after]
    noon = 90 - 39.9 - 20.2  # the declination on the Major Cold day is about -20.2°
    assert path.elevation.max() == pytest.approx(noon, abs=0.3)
    assert np.all(np.diff(path.azimuth) > 0)


def test_a_path_rejects_a_non_positive_step() -> None:
    start = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="step_minutes"):
        sun_position.sun_path(start, start + dt.timedelta(hours=1), 39.9, 116.4, 0.0)


@pytest.mark.parametrize("day", [dt.date(2026, 1, 20), dt.date(2025, 12, 21), dt.date(2026, 6, 21)])
def test_spa_agrees_with_noaas_published_approximation(day: dt.date) -> None:
    # NOAA GML "General Solar Position Calculations": fractional-year series for the
    # equation of time (minutes) and the declination, good to about a minute and 0.3°.
    y = 2 * np.pi / 365 * (day.timetuple().tm_yday - 1)
    eqtime = 229.18 * (0.000075 + 0.001868 * np.cos(y) - 0.032077 * np.sin(y)
                       - 0.014615 * np.cos(2 * y) - 0.040849 * np.sin(2 * y))  # fmt: skip
    declination = np.degrees(
        0.006918 - 0.399912 * np.cos(y) + 0.070257 * np.sin(y) - 0.006758 * np.cos(2 * y)
        + 0.000907 * np.sin(2 * y) - 0.002697 * np.cos(3 * y) + 0.00148 * np.sin(3 * y)
    )  # fmt: skip
    noon = pd.DatetimeIndex([pd.Timestamp(day.isoformat() + " 12:00", tz="UTC")])
    assert sun_position.equation_of_time_minutes(noon)[0] == pytest.approx(eqtime, abs=1.0)
    # On the equator at true solar noon the sun's zenith angle is the declination.
    azimuth, elevation = sun_position.sun_at(
        sun_position.true_solar_to_utc(day, 12.0, 0.0), 0.0, 0.0
    )
    signed = (90.0 - elevation) * (1.0 if azimuth < 90.0 or azimuth > 270.0 else -1.0)
    assert signed == pytest.approx(declination, abs=0.3)
