"""The pollution field's core: stations, IDW, ordinary kriging, leave-one-out errors."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.models.pollution_field import Method, interpolate
from simulation.models.pollution_grid import GridError, grid_over
from simulation.models.pollution_idw import idw
from simulation.models.pollution_kriging import krige
from simulation.models.pollution_loo import idw_loo, kriging_loo
from simulation.models.pollution_stations import StationsError, stations

RNG = np.random.default_rng(15)


def scattered(count: int, size: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    return RNG.uniform(0, size, count), RNG.uniform(0, size, count)


def smooth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth field over a kilometre: one broad hill on a gentle slope."""
    return 20 + 0.01 * x + 30 * np.exp(-((x - 500) ** 2 + (y - 450) ** 2) / 2 / 300**2)


# --- stations ------------------------------------------------------------------------------


def test_stations_at_the_same_place_are_merged_by_mean_and_reported() -> None:
    points = stations([0, 0.4, 100], [0, 0.3, 0], [10, 20, 5], ["a", "a'", "b"], tolerance=1.0)
    assert len(points) == 2
    assert points.merged == [["a", "a'"]]
    assert points.values.tolist() == [15.0, 5.0]
    assert points.x[0] == pytest.approx(0.2)
    assert points.names == ["a + a'", "b"]


@pytest.mark.parametrize(
    ("x", "values", "message"),
    [([], [], "no station"), ([0.0], [np.nan], "finite value"), ([0.0, 1.0], [1.0], "differ")],
)
def test_bad_stations_are_named(x: list[float], values: list[float], message: str) -> None:
    with pytest.raises(StationsError, match=message):
        stations(x, [0.0] * len(x), values)


# --- IDW -----------------------------------------------------------------------------------


def test_idw_by_hand_two_stations() -> None:
    points = stations([0, 3], [0, 0], [10, 40])
    # at x=1: distances 1 and 2, weights 1 and 1/4 -> (10 + 40/4) / 1.25 = 16
    assert idw(points, np.array([1.0]), np.array([0.0]), power=2)[0] == pytest.approx(16.0)
    assert idw(points, np.array([1.5]), np.array([0.0]), power=1)[0] == pytest.approx(25.0)


def test_idw_is_exact_at_the_stations_and_within_their_range() -> None:
    x, y = scattered(30)
    values = smooth(x, y)
    points = stations(x, y, values)
    assert np.allclose(idw(points, x, y), values)
    qx, qy = np.meshgrid(np.linspace(-200, 1200, 60), np.linspace(-200, 1200, 60))
    field = idw(points, qx, qy, power=3)
    assert field.shape == qx.shape
    assert values.min() - 1e-9 <= field.min() and field.max() <= values.max() + 1e-9


def test_idw_nearest_neighbours_and_search_radius() -> None:
    points = stations([0, 10, 1000], [0, 0, 0], [1, 3, 100])
    # one neighbour: the nearest station's value
    assert idw(points, np.array([2.0]), np.array([0.0]), k=1)[0] == 1.0
    # the far station is outside the radius, a point far from all gets NaN
    near = idw(points, np.array([5.0, 500.0]), np.array([0.0, 0.0]), radius=50)
    assert near[0] == pytest.approx(2.0)
    assert np.isnan(near[1])


# --- kriging -------------------------------------------------------------------------------


def test_kriging_by_hand_three_collinear_stations_linear_variogram() -> None:
    """gamma(h) = h, no nugget, stations at 0, 2, 5: at 0.5 the system gives weights
    0.75, 0.25, 0 and Lagrange multiplier 0, so the estimate is 0.75 z0 + 0.25 z1 and the
    variance 0.75 * 0.5 + 0.25 * 1.5 = 0.75; at the midpoint 1 they are 0.5, 0.5 and 1."""
    points = stations([0, 2, 5], [0, 0, 0], [1, 3, 2])
    kriged = krige(points, np.array([0.5, 1.0]), np.array([0.0, 0.0]), "linear", [1.0, 0.0])
    assert kriged.estimate.tolist() == pytest.approx([0.75 * 1 + 0.25 * 3, 2.0])
    assert kriged.variance.tolist() == pytest.approx([0.75, 1.0])


@pytest.mark.parametrize("variogram", ["linear", "spherical", "exponential", "gaussian"])
def test_kriging_reproduces_a_linear_trend_at_the_stations(variogram: str) -> None:
    x, y = scattered(25)
    values = 5 + 0.02 * x - 0.01 * y
    kriged = krige(stations(x, y, values), x, y, variogram)
    assert np.allclose(kriged.estimate, values, atol=1e-6)
    assert np.allclose(kriged.variance, 0.0, atol=1e-6)


def test_kriging_variance_grows_away_from_the_stations() -> None:
    x, y = scattered(20)
    kriged = krige(stations(x, y, smooth(x, y)), np.array([x[0], 5000.0]), np.array([y[0], 5000.0]))
    assert kriged.variance[0] < 1e-6 < kriged.variance[1]


def test_kriging_needs_three_stations_and_varying_values() -> None:
    with pytest.raises(StationsError, match="at least 3 stations"):
        krige(stations([0, 1], [0, 0], [1, 2]), np.zeros(1), np.zeros(1))
    with pytest.raises(StationsError, match="do not vary"):
        krige(stations([0, 1, 2], [0, 5, 0], [4, 4, 4]), np.zeros(1), np.zeros(1))
    with pytest.raises(StationsError, match="variogram model"):
        krige(stations([0, 1, 2], [0, 5, 0], [4, 5, 4]), np.zeros(1), np.zeros(1), "cubic")


# --- leave-one-out -------------------------------------------------------------------------


def test_loo_errors_are_computed_by_hand_for_idw() -> None:
    points = stations([0, 1, 3], [0, 0, 0], [0, 10, 30], tolerance=0.1)
    loo = idw_loo(points, power=1)
    # 0 from (1,10),(3,30): (10 + 10)/(1 + 1/3) = 15; 1 from (0,0),(3,30) at distances
    # 1 and 2: (0 + 15)/(1.5) = 10; 3 from (0,0),(1,10) at 3 and 2: (0 + 5)/(1/3 + 1/2) = 6
    assert loo.predicted.tolist() == pytest.approx([15.0, 10.0, 6.0])
    assert loo.errors.tolist() == pytest.approx([15.0, 0.0, -24.0])
    assert loo.rmse == pytest.approx(np.sqrt((15**2 + 24**2) / 3))
    assert loo.mae == pytest.approx(13.0)
    assert loo.bias == pytest.approx(-3.0)


def test_kriging_loo_error_is_small_on_a_smooth_field_and_beats_idw() -> None:
    x, y = scattered(60)
    values = smooth(x, y)
    field = interpolate(
        stations(x, y, values),
        grid_over((0, 0, 1000, 1000), 50),
        Method("kriging", variogram_model="gaussian"),
    )
    spread = float(values.std())
    assert field.loo.rmse is not None and field.loo.rmse < 0.1 * spread
    idw_errors = idw_loo(stations(x, y, values))
    assert idw_errors.rmse is not None and field.loo.rmse < idw_errors.rmse


def test_loo_needs_enough_stations() -> None:
    loo = idw_loo(stations([0], [0], [3]))
    assert loo.rmse is None and np.isnan(loo.predicted[0])
    fixed = kriging_loo(stations([0, 2, 5], [0, 0, 0], [1, 3, 2]), "linear", [1.0, 0.0])
    assert fixed.predicted.tolist() == pytest.approx([3.0, 1 + 2 / 5, 3.0])


# --- the grid ------------------------------------------------------------------------------


def test_the_grid_is_north_up_with_cell_centres() -> None:
    grid = grid_over((100, 200, 130, 220), 10)
    assert (grid.rows, grid.columns) == (2, 3)
    assert grid.transform == (100, 10, 0, 220, 0, -10)
    xs, ys = grid.centres()
    assert xs[0].tolist() == [105, 115, 125]
    assert ys[:, 0].tolist() == [215, 205]


def test_an_idw_field_on_a_grid_has_the_stations_values_in_their_cells() -> None:
    points = stations([105, 125], [215, 205], [1.0, 9.0])
    field = interpolate(points, grid_over((100, 200, 130, 220), 10), Method("idw"))
    assert field.values.dtype == np.float32
    assert field.values[0, 0] == 1.0 and field.values[1, 2] == 9.0
    assert field.variance is None


@pytest.mark.parametrize(
    ("bounds", "resolution", "message"),
    [
        ((0, 0, 0, 10), 1, "not a box"),
        ((0, 0, 10, 10), 0, "above 0"),
        ((0, 0, 1e6, 1e6), 1, "coarser"),
    ],
)
def test_bad_grids_are_named(
    bounds: tuple[float, float, float, float], resolution: float, message: str
) -> None:
    with pytest.raises(GridError, match=message):
        grid_over(bounds, resolution)
