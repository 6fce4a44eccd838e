"""The flood core on surfaces whose flooded area and volume are known in closed form.

Grids of cell size ``C`` sample each surface at cell centres. A flooded disc of radius
``R`` cells is counted cell by cell, so its area is off by the cells its rim cuts: under
1 % for ``R`` of 40 cells or more (the tolerance used below); volumes are midpoint sums of
a smooth depth, off by less. A plane's edge falls on cell rows, so its area is off by at
most one column of cells.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.models.flood_fill import (
    EARTH_RADIUS_M,
    FloodInputError,
    area_by_level,
    edge_source,
    flood_at_level,
    geographic_row_areas,
    level_for_volume,
    row_areas,
)

C = 2.0  # metres per cell
N = 201  # cells per side: the centre cell sits at (100, 100)
CENTRE = N // 2


def radius() -> np.ndarray:
    """Distance (m) from the grid's centre cell."""
    rows, cols = np.mgrid[0:N, 0:N]
    return np.hypot(rows - CENTRE, cols - CENTRE) * C


def centre_source(
    shape: tuple[int, int] = (N, N), at: tuple[int, int] = (CENTRE, CENTRE)
) -> np.ndarray:
    source = np.zeros(shape, dtype=bool)
    source[at] = True
    return source


AREAS = row_areas(N, C, C)


def test_a_cone_floods_a_disc() -> None:
    k, h = 0.05, 5.0  # z = k r: the water's edge lies at r = h / k = 100 m = 50 cells
    dem = k * radius()
    flood = flood_at_level(dem, h, centre_source(), AREAS)
    assert flood.area_m2 == pytest.approx(math.pi * (h / k) ** 2, rel=0.01)
    assert flood.volume_m3 == pytest.approx(math.pi * h**3 / (3 * k**2), rel=0.01)
    assert flood.max_depth_m == pytest.approx(h)
    assert flood.area_m2 == flood.flooded.sum() * C * C
    assert np.isnan(flood.depth[~flood.flooded]).all()
    assert flood.low_area_m2 == 0.0


def test_a_paraboloid_floods_a_disc_and_its_volume_gives_back_the_level() -> None:
    a, h = 0.001, 6.0  # z = a r²: the edge at r = sqrt(h / a) ≈ 77 m ≈ 39 cells
    dem = a * radius() ** 2
    flood = flood_at_level(dem, h, centre_source(), AREAS)
    assert flood.area_m2 == pytest.approx(math.pi * h / a, rel=0.01)
    assert flood.volume_m3 == pytest.approx(math.pi * h**2 / (2 * a), rel=0.01)
    found = level_for_volume(dem, math.pi * h**2 / (2 * a), centre_source(), AREAS)
    assert found.volume_m3 == pytest.approx(math.pi * h**2 / (2 * a), rel=1e-4)
    assert found.level == pytest.approx(h, rel=0.01)


def test_a_tilted_plane_fills_a_wedge_against_a_wall() -> None:
    s, h = 0.02, 3.0  # z = s x east of a wall along the west edge: water up to x = h / s
    _rows, cols = np.mgrid[0:N, 0:N]
    dem = s * (cols - 0.5) * C
    dem[:, 0] = 1000.0  # the wall
    flood = flood_at_level(dem, h, edge_source(dem), AREAS)
    length = N * C
    assert flood.area_m2 == pytest.approx(length * h / s, abs=length * C)
    assert flood.volume_m3 == pytest.approx(length * h**2 / (2 * s), rel=0.01)
    assert not flood.flooded[:, 0].any()
    found = level_for_volume(dem, length * h**2 / (2 * s), edge_source(dem), AREAS)
    assert found.level == pytest.approx(h, rel=0.01)


def two_basins(a: float = 0.002) -> tuple[np.ndarray, float, float]:
    """Two paraboloids of equal bottom side by side, ``D`` apart: ``(dem, D, ridge)``.

    The ridge is the grid's: the two columns between the centres lie ``(N - 1) / 2`` cells
    from one centre or the other.
    """
    rows, cols = np.mgrid[0:N, 0 : 2 * N]
    left = np.hypot(rows - CENTRE, cols - CENTRE) * C
    right = np.hypot(rows - CENTRE, cols - CENTRE - N) * C
    distance = N * C
    return a * np.minimum(left, right) ** 2, distance, a * ((N - 1) * C / 2) ** 2


def test_two_basins_fill_one_until_the_water_tops_the_ridge() -> None:
    a = 0.002
    dem, distance, ridge = two_basins(a)  # ridge = 0.002 * 200² = 80 m
    source = centre_source(dem.shape)
    areas = row_areas(N, C, C)
    h = 10.0  # below the ridge: the source basin floods, the other is a low area
    below = flood_at_level(dem, h, source, areas)
    assert below.area_m2 == pytest.approx(math.pi * h / a, rel=0.01)
    assert below.low_area_m2 == pytest.approx(math.pi * h / a, rel=0.01)
    assert below.low_volume_m3 == pytest.approx(math.pi * h**2 / (2 * a), rel=0.01)
    assert not below.flooded[:, N:].any() and below.low[CENTRE, CENTRE + N]
    assert not below.low[:, :N].any()
    h = ridge + 5.0  # above the ridge: both basins hold one lake
    above = flood_at_level(dem, h, source, areas)
    r = math.sqrt(h / a)
    lens = 2 * r**2 * math.acos(distance / (2 * r)) - distance / 2 * math.sqrt(
        4 * r**2 - distance**2
    )
    assert above.flooded[CENTRE, CENTRE + N] and not above.low.any()
    assert above.area_m2 == pytest.approx(2 * math.pi * r**2 - lens, rel=0.01)


def test_a_volume_that_tops_the_ridge_stops_at_the_ridge() -> None:
    dem, _distance, ridge = two_basins()
    source = centre_source(dem.shape)
    areas = row_areas(N, C, C)
    one_basin = flood_at_level(dem, ridge, source, areas)
    assert not one_basin.flooded[:, N:].any()
    found = level_for_volume(dem, one_basin.volume_m3 * 1.5, source, areas)
    assert found.level == pytest.approx(ridge, abs=1e-3)
    assert found.volume_m3 == pytest.approx(one_basin.volume_m3, rel=1e-3)


def test_a_volume_above_every_height_spreads_over_the_whole_grid() -> None:
    dem = 0.001 * radius() ** 2
    top = float(dem.max())
    whole = N * N * C * C
    stored = flood_at_level(dem, top + 2.0, centre_source(), AREAS).volume_m3
    found = level_for_volume(dem, stored, centre_source(), AREAS)
    assert found.volume_m3 == pytest.approx(stored, rel=1e-4)
    assert found.level == pytest.approx(top + 2.0, abs=1e-3)
    assert found.area_m2 == whole


def test_the_volume_grows_with_the_level() -> None:
    dem, _distance, ridge = two_basins()
    rows = area_by_level(dem, centre_source(dem.shape), row_areas(N, C, C),
                         np.linspace(0, ridge + 5, 12))  # fmt: skip
    areas = [row[1] for row in rows]
    volumes = [row[2] for row in rows]
    assert areas == sorted(areas) and volumes == sorted(volumes)
    assert volumes[0] == 0.0 and volumes[-1] > volumes[-2]


def test_the_water_below_the_ground_at_the_source_floods_nothing() -> None:
    dem = 0.05 * radius() + 10.0
    dem[0, 0] = 0.0  # a pit far from the source: below the level, yet apart
    flood = flood_at_level(dem, 5.0, centre_source(), AREAS)
    assert flood.area_m2 == 0.0 and flood.volume_m3 == 0.0 and flood.max_depth_m == 0.0
    assert np.isnan(flood.depth).all()
    assert flood.low_area_m2 == C * C


def test_the_default_source_is_the_lowest_cell_on_the_edge() -> None:
    dem = np.full((5, 6), 50.0)
    dem[2, 2] = 1.0  # inside: not on the edge
    dem[4, 3] = 20.0
    dem[0, 5] = np.nan  # no data: its neighbours are on the edge too
    dem[1, 4] = 10.0
    assert np.argwhere(edge_source(dem)).tolist() == [[1, 4]]
    with pytest.raises(FloodInputError, match="no valid height"):
        edge_source(np.full((3, 3), np.nan))


def test_no_data_never_floods_and_a_source_on_no_data_is_refused() -> None:
    dem = np.zeros((3, 3))
    dem[1, :] = np.nan  # a band of no data splits the grid
    flood = flood_at_level(dem, 1.0, centre_source((3, 3), (0, 0)), row_areas(3, 1, 1))
    assert flood.flooded[0].all() and not flood.flooded[1:].any()
    assert flood.low[2].all() and flood.low_area_m2 == 3.0
    with pytest.raises(FloodInputError, match="outside the DEM"):
        flood_at_level(dem, 1.0, centre_source((3, 3), (1, 1)), row_areas(3, 1, 1))


def test_geographic_cells_cover_the_sphere() -> None:
    areas = geographic_row_areas(180, 90.0, 1.0, 1.0)
    assert areas.sum() * 360 == pytest.approx(4 * math.pi * EARTH_RADIUS_M**2, rel=1e-12)
    assert areas[0] < areas[89] and areas[89] == pytest.approx(areas[90])
