"""The PM2.5 model fitted to the real record: the demo's constants come from the file, and the
generator's statistics match the file's within what the file itself can tell."""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from api.demo_plan import SENSORS_FILE
from cim.data import read_json
from simulation.sensors.errors import SensorInputError
from simulation.sensors.longcsv import StationSeries, read_long_csv
from simulation.sensors.profile import US_PER_HOUR, ProfileModel, fit_profile

# The demo's profiles: the station each was fitted to and its local time then (summer).
FITTED = {"roadside": ("BETR801", 2.0), "background": ("London Westminster", 1.0)}
YEARS = 4
NORMAL = NormalDist()


def stations(path: Path) -> dict[str, StationSeries]:
    return {series.station: series for series in read_long_csv(path)}


def effective_size(times_us: np.ndarray, timescale_h: float) -> float:
    """How many independent values a record of correlated values is worth: n² over the sum
    of the correlations exp(-|lag| / timescale) of every pair."""
    hours = times_us / US_PER_HOUR
    lags = np.abs(np.subtract.outer(hours, hours))
    return float(len(hours) ** 2 / np.exp(-lags / timescale_h).sum())


def test_reads_the_stations_of_the_real_file(pm25_file: Path) -> None:
    found = stations(pm25_file)
    assert {name: len(series) for name, series in found.items()} == {
        "BETR801": 101,
        "London Westminster": 1009,
    }
    london = found["London Westminster"]
    assert london.unit == "µg/m³" and np.all(np.diff(london.times_us) > 0)


@pytest.mark.parametrize("profile", sorted(FITTED))
def test_the_demo_constants_are_the_fit_of_the_real_file(pm25_file: Path, profile: str) -> None:
    station, offset = FITTED[profile]
    series = stations(pm25_file)[station]
    fitted = fit_profile(series.times_us, series.values, offset).to_dict()
    shipped = ProfileModel.from_dict(read_json(SENSORS_FILE)["profiles"][profile]).to_dict()
    for name, value in fitted.items():
        assert np.allclose(shipped[name], value, atol=6e-4, rtol=1e-4), name


@pytest.mark.parametrize("profile", sorted(FITTED))
def test_generated_statistics_match_the_real_record(pm25_file: Path, profile: str) -> None:
    """Mean and 10th/50th/90th percentiles of four generated years against the record's.

    Tolerance: the record is one stretch of a correlated process, so its statistics are
    uncertain. With the fitted timescale its values are worth ``n_eff`` independent ones
    (from the pair correlations); a log-normal quantile's standard error is then
    ``sigma * sqrt(p(1-p)) / pdf(z_p) / sqrt(n_eff)`` in log space (the mean's about
    ``sigma / sqrt(n_eff)``), the generated years' likewise. Allowed: 3 combined standard
    errors (a 0.3% chance of failing for a correct model).
    """
    station, offset = FITTED[profile]
    series = stations(pm25_file)[station]
    model = fit_profile(series.times_us, series.values, offset)
    times = np.arange(series.times_us[0], series.times_us[0] + YEARS * 8766 * US_PER_HOUR,
                      US_PER_HOUR)  # fmt: skip
    generated = model.values(times, seed=11)
    real_n = effective_size(series.times_us, model.timescale_h)
    generated_n = len(times) / (2 * model.timescale_h)  # long record: T / 2 tau
    for p in (0.1, 0.5, 0.9):
        spread = np.sqrt(p * (1 - p)) / NORMAL.pdf(NORMAL.inv_cdf(p)) * model.sigma
        allowed = 3 * spread * np.sqrt(1 / real_n + 1 / generated_n)
        gap = abs(np.log(np.quantile(generated, p)) - np.log(np.quantile(series.values, p)))
        assert gap <= allowed, (p, gap, allowed)
    allowed = 3 * model.sigma * np.sqrt(1 / real_n + 1 / generated_n)
    assert abs(np.log(generated.mean()) - np.log(series.values.mean())) <= allowed
    # and the bound means something: a model at twice the level fails it
    assert abs(np.log(2 * generated.mean()) - np.log(series.values.mean())) > allowed


def test_the_generated_daily_shape_is_the_fitted_one(pm25_file: Path) -> None:
    """Refitting two generated years recovers the daily harmonics fitted to BETR801."""
    series = stations(pm25_file)["BETR801"]
    model = fit_profile(series.times_us, series.values, 2.0)
    times = np.arange(0, 2 * 8766 * US_PER_HOUR, US_PER_HOUR, dtype=np.int64)
    refit = fit_profile(times, model.values(times, seed=5), 2.0)
    assert np.allclose(refit.daily, model.daily, atol=0.05)
    assert abs(refit.sigma - model.sigma) < 0.1 * model.sigma
    hourly = np.array([model.values(times, 5)[((times // US_PER_HOUR) + 2) % 24 == h].mean()
                       for h in range(24)])  # fmt: skip
    assert hourly.max() / hourly.min() > 1.3  # a daily cycle, not noise


def test_same_seed_same_series_and_another_seed_another() -> None:
    model = ProfileModel(2.0, (0.1, 0.0, 0.0, 0.0), (0.0, 0.0), 0.3, 10.0, 8.0)
    times = np.arange(0, 48 * US_PER_HOUR, US_PER_HOUR, dtype=np.int64)
    assert np.array_equal(model.values(times, 1), model.values(times, 1))
    assert not np.allclose(model.values(times, 1), model.values(times, 2))
    assert np.array_equal(model.values(times[5:9], 1), model.values(times, 1)[5:9])


def test_a_fit_needs_enough_hours() -> None:
    times = np.arange(0, 10 * US_PER_HOUR, US_PER_HOUR, dtype=np.int64)
    with pytest.raises(SensorInputError, match="at least 24"):
        fit_profile(times, np.ones(10), 0.0)
    daily = np.arange(0, 40 * 24 * US_PER_HOUR, 24 * US_PER_HOUR, dtype=np.int64)
    with pytest.raises(SensorInputError, match="one hour apart"):
        fit_profile(daily, np.linspace(1, 9, 40), 0.0)


def test_a_malformed_model_is_refused() -> None:
    with pytest.raises(SensorInputError, match="daily takes 4"):
        ProfileModel.from_dict({"level": 1, "daily": [1], "weekly": [0, 0], "sigma": 1,
                                "timescale_h": 1, "utc_offset_h": 0})  # fmt: skip


def test_bad_long_files_are_refused_naming_the_line(tmp_path: Path) -> None:
    header = "city,country,date.utc,location,parameter,value,unit\n"
    missing = tmp_path / "missing.csv"
    missing.write_text("city,location,value\nA,B,1\n")
    with pytest.raises(SensorInputError, match=r"no column date\.utc"):
        read_long_csv(missing)
    bad_time = tmp_path / "bad.csv"
    bad_time.write_text(header + "A,BE,2019-06-18 06:00:00+00:00,S,pm25,1,u\n"
                        "A,BE,yesterday,S,pm25,2,u\n")  # fmt: skip
    with pytest.raises(SensorInputError, match="line 3"):
        read_long_csv(bad_time)
    other = tmp_path / "no2.csv"
    other.write_text(header + "A,BE,2019-06-18 06:00:00+00:00,S,no2,1,u\n")
    with pytest.raises(SensorInputError, match="no row of parameter 'pm25'"):
        read_long_csv(other)
    assert len(read_long_csv(other, "no2")[0]) == 1
