"""The pollution field validated on the real air-quality files of the shared data: the 66
OpenAQ station positions (with their real near-duplicates) and the hourly PM2.5 series of
two of them (Antwerp BETR801 and London Westminster)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cim.crs import transformer
from simulation.models.pollution_grid import grid_over
from simulation.models.pollution_idw import idw
from simulation.models.pollution_kriging import fit, krige
from simulation.models.pollution_loo import idw_loo, kriging_loo
from simulation.models.pollution_stations import Stations, StationsError, stations
from simulation.sensors.longcsv import read_long_csv

# Europe's equal-area projection: metres for stations in France, Belgium and England.
METRIC = "EPSG:3035"
MERGE_M = 5.0
# Stations this far from the median one are another continent's (Groton, CT).
FAR_M = 1_000_000.0


def real_positions(shared_data: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with (shared_data / "sensors" / "air_quality_stations.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    lon = np.array([float(r["coordinates.longitude"]) for r in rows])
    lat = np.array([float(r["coordinates.latitude"]) for r in rows])
    x, y = transformer("EPSG:4326", METRIC).transform(lon, lat)
    return [r["location"] for r in rows], np.asarray(x), np.asarray(y)


def smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth synthetic field (µg/m³): waves of 40 and 30 km on a 2 µg/m³/100 km slope."""
    return 15 + 8 * np.sin(x / 40e3) * np.cos(y / 30e3) + 2e-5 * (x - 3.0e6)


def european(
    names: list[str], x: np.ndarray, y: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    far = np.hypot(x - np.median(x), y - np.median(y)) > FAR_M
    return [n for n, f in zip(names, far, strict=True) if not f], x[~far], y[~far]


def test_the_real_stations_near_duplicates_are_merged(shared_data: Path) -> None:
    names, x, y = real_positions(shared_data)
    assert len(names) == 66
    points = stations(x, y, np.zeros(len(x)), names, MERGE_M)
    # each merged group is one station listed twice, a metre or two apart
    assert points.merged and all(len(set(group)) == 1 for group in points.merged)
    assert len(points) == 66 - len(points.merged)
    twice = {n for n in names if names.count(n) > 1}
    assert {group[0] for group in points.merged} < twice  # one pair stands 50 m apart


def test_a_smooth_field_sampled_at_the_real_stations_is_recovered(shared_data: Path) -> None:
    names, x, y = european(*real_positions(shared_data))
    points = stations(x, y, smooth(x, y), names, MERGE_M)
    spread = float(points.values.std())
    idw_errors = idw_loo(points, power=2)
    system = fit(points, "gaussian")
    kriged = kriging_loo(points, "gaussian", [float(v) for v in system.variogram_model_parameters])
    assert idw_errors.rmse is not None and kriged.rmse is not None
    assert kriged.rmse < 0.25 * spread and kriged.rmse < idw_errors.rmse
    assert idw_errors.rmse < 0.5 * spread
    assert abs(kriged.bias or 0.0) < 0.1 * spread
    # the kriged field off the stations: where the truth is, within the variance's reach
    qx, qy = x[:10] + 800.0, y[:10] - 600.0
    at = krige(points, qx, qy, "gaussian")
    assert np.all(np.abs(at.estimate - smooth(qx, qy)) < 3 * np.sqrt(at.variance) + 0.5)


def two_stations_hourly(shared_data: Path) -> tuple[Stations, list[np.ndarray]]:
    """The real stations of the series, and their values at each hour both report."""
    series = {
        s.station: s for s in read_long_csv(shared_data / "sensors" / "air_quality_pm25_long.csv")
    }
    names, x, y = real_positions(shared_data)
    chosen = ["BETR801", "London Westminster"]
    where = [names.index(n) for n in chosen]
    common = np.intersect1d(series[chosen[0]].times_us, series[chosen[1]].times_us)
    hours = [
        np.array([series[n].values[np.searchsorted(series[n].times_us, t)] for n in chosen])
        for t in common
    ]
    return stations(x[where], y[where], np.zeros(2), chosen), hours


def test_the_real_series_make_fields_true_at_the_stations_and_within_range(
    shared_data: Path,
) -> None:
    at, hours = two_stations_hourly(shared_data)
    assert len(hours) > 50
    grid = grid_over(
        (at.x.min() - 20e3, at.y.min() - 20e3, at.x.max() + 20e3, at.y.max() + 20e3), 10e3
    )
    gx, gy = grid.centres()
    differences = []
    for values in hours:
        points = Stations(at.x, at.y, values, at.names, [])
        field = idw(points, gx, gy)
        assert values.min() - 1e-9 <= field.min() and field.max() <= values.max() + 1e-9
        assert np.allclose(idw(points, at.x, at.y), values)
        loo = idw_loo(points)
        # alone, each station is predicted by the other: the error is their difference
        assert loo.errors.tolist() == pytest.approx([values[1] - values[0], values[0] - values[1]])
        differences.append(values[1] - values[0])
        with pytest.raises(StationsError, match="at least 3 stations"):
            krige(points, gx, gy)
    assert np.std(differences) > 0  # the two cities' air does differ, hour by hour
