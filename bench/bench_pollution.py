"""The pollution field on the real OpenAQ files: leave-one-out errors and grid speed.

Usage::

    .venv/bin/python bench/bench_pollution.py [--cells 250000]

Validation (figures, no timing):

- the 66 real station positions of ``sensors/air_quality_stations.csv`` (projected to
  EPSG:3035; the one across the Atlantic left out; stations within 5 m merged) sampled
  from a smooth synthetic field (waves of 40 and 30 km on a slope): leave-one-out RMSE,
  MAE and bias of IDW (powers 1, 2, 3) and ordinary kriging (each variogram model, fitted
  by pykrige), beside the field's standard deviation at the stations;
- the real hourly PM2.5 of BETR801 (Antwerp) and London Westminster
  (``sensors/air_quality_pm25_long.csv``) at the hours both report: with two stations
  each is predicted by the other, so the LOO error is the difference between the cities.

Speed: a field of ``--cells`` cells from the merged stations, IDW (this project, k-d tree)
against a dense numpy IDW (the peer: every cell against every station), and kriging
through this project's wrapper against pykrige's own ``execute("grid")``, in one run.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pykrige.ok import OrdinaryKriging

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA

from cim.crs import transformer
from simulation.models.pollution_idw import idw
from simulation.models.pollution_kriging import VARIOGRAM_MODELS, fit, krige
from simulation.models.pollution_loo import idw_loo, kriging_loo
from simulation.models.pollution_stations import Stations, stations
from simulation.sensors.longcsv import read_long_csv

FAR_M = 1_000_000.0


def real_stations(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with (folder / "air_quality_stations.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lon = np.array([float(r["coordinates.longitude"]) for r in rows])
    lat = np.array([float(r["coordinates.latitude"]) for r in rows])
    x, y = transformer("EPSG:4326", "EPSG:3035").transform(lon, lat)
    return [r["location"] for r in rows], np.asarray(x), np.asarray(y)


def smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 15 + 8 * np.sin(x / 40e3) * np.cos(y / 30e3) + 2e-5 * (x - 3.0e6)


def line(label: str, rmse: float | None, mae: float | None, bias: float | None) -> None:
    def text(v: float | None) -> str:
        return "   n/a" if v is None else f"{v:6.3f}"

    print(f"  {label:<22} RMSE {text(rmse)}  MAE {text(mae)}  bias {text(bias)}")


def validation(folder: Path) -> Stations:
    names, x, y = real_stations(folder)
    far = np.hypot(x - np.median(x), y - np.median(y)) > FAR_M
    kept = [n for n, f in zip(names, far, strict=True) if not f]
    points = stations(x[~far], y[~far], smooth(x[~far], y[~far]), kept, 5.0)
    print(f"stations: {len(names)} listed, {int(far.sum())} on another continent left out,"
          f" {len(points.merged)} pairs merged (within 5 m) -> {len(points)}")  # fmt: skip
    print(f"synthetic field at the real stations: std {points.values.std():.3f} µg/m³")
    for power in (1.0, 2.0, 3.0):
        loo = idw_loo(points, power)
        line(f"IDW power {power:g}", loo.rmse, loo.mae, loo.bias)
    for model in VARIOGRAM_MODELS:
        parameters = [float(v) for v in fit(points, model).variogram_model_parameters]
        loo = kriging_loo(points, model, parameters)
        line(f"kriging {model}", loo.rmse, loo.mae, loo.bias)
    series = {s.station: s for s in read_long_csv(folder / "air_quality_pm25_long.csv")}
    a, b = series["BETR801"], series["London Westminster"]
    common = np.intersect1d(a.times_us, b.times_us)
    va = a.values[np.searchsorted(a.times_us, common)]
    vb = b.values[np.searchsorted(b.times_us, common)]
    errors = np.concatenate([vb - va, va - vb])
    print(f"real PM2.5, BETR801 and London Westminster, {len(common)} common hours:")
    line("IDW (the other city)", float(np.sqrt(np.mean(errors**2))),
         float(np.mean(np.abs(errors))), float(np.mean(errors)))  # fmt: skip
    return points


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def speed(points: Stations, cells: int) -> None:
    side = int(np.sqrt(cells))
    xs = np.linspace(points.x.min(), points.x.max(), side)
    ys = np.linspace(points.y.min(), points.y.max(), side)
    gx, gy = np.meshgrid(xs, ys)

    def dense() -> np.ndarray:
        d = np.hypot(gx.ravel()[:, None] - points.x, gy.ravel()[:, None] - points.y)
        w = 1.0 / np.maximum(d, 1e-9) ** 2
        return (w @ points.values) / w.sum(axis=1)

    ours = timed(lambda: idw(points, gx, gy))
    peer = timed(dense)
    print(f"IDW, {side * side} cells x {len(points)} stations: {ours:.3f} s;"
          f" dense numpy peer {peer:.3f} s; ratio {ours / peer:.2f}")  # fmt: skip
    parameters = [float(v) for v in fit(points, "spherical").variogram_model_parameters]
    ours = timed(lambda: krige(points, gx, gy, "spherical", parameters))
    system = OrdinaryKriging(points.x, points.y, points.values, variogram_model="spherical",
                             variogram_parameters=parameters)  # fmt: skip
    peer = timed(lambda: system.execute("grid", xs, ys))
    print(f"kriging, same grid: {ours:.3f} s; pykrige execute('grid') {peer:.3f} s;"
          f" ratio {ours / peer:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=250_000)
    args = parser.parse_args()
    folder = SHARED_DATA / "sensors"
    points = validation(folder)
    speed(points, args.cells)


if __name__ == "__main__":
    main()
