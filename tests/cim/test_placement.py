"""Checking a model's placement before its import: terrain height and warnings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cim.crs import transform_arrays
from cim.errors import OriginError
from cim.placement import FAR_METRES, check_placement, terrain_height, to_city
from cim.raster import import_dem, sample_heights
from cim.store import CityStore
from tests.conftest import shared_data_dir

DEM = shared_data_dir() / "raster" / "fortworth_dem_3arcsec.tif"
CRS = "EPSG:32614"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city in EPSG:32614 with the Fort Worth DEM."""
    folder = tmp_path_factory.mktemp("placement") / "city"
    with CityStore.create(folder, CRS) as store:
        import_dem(store, DEM)
    return folder


def fort_worth() -> tuple[float, float]:
    x, y = transform_arrays("EPSG:4326", CRS, np.array([-97.33]), np.array([32.70]))
    return float(x[0]), float(y[0])


def test_the_height_defaults_to_the_terrain_there(city: Path) -> None:
    x, y = fort_worth()
    ground = float(sample_heights(city, CRS, np.array([[x, y]]))[0])
    assert math.isfinite(ground) and ground > 100  # Fort Worth lies about 180 m high
    placement = check_placement(city, CRS, (x, y), rotation_deg=-30.0)
    assert placement.origin == (x, y, pytest.approx(ground))
    assert placement.terrain_height == pytest.approx(ground)
    assert placement.rotation_deg == 330.0
    assert (placement.lon, placement.lat) == pytest.approx((-97.33, 32.70))
    assert placement.warnings == []
    # east of the zone's central meridian (99 W), grid north lies east of true north
    assert 0.5 < placement.grid_north_deg < 1.5
    assert terrain_height(city, CRS, x, y) == pytest.approx(ground)
    assert to_city(-97.33, 32.70, CRS) == pytest.approx((x, y))


def test_a_model_below_the_terrain_is_warned_about(city: Path) -> None:
    x, y = fort_worth()
    ground = terrain_height(city, CRS, x, y)
    assert ground is not None
    on_ground = check_placement(city, CRS, (x, y, ground + 3.0), bottom=-3.0)
    assert on_ground.warnings == []
    sunk = check_placement(city, CRS, (x, y, ground - 10.0), bottom=-2.0)
    assert [w.code for w in sunk.warnings] == ["below-terrain"]
    assert sunk.warnings[0].params["depth"] == pytest.approx(12.0)


def test_a_model_far_from_the_city_is_warned_about(city: Path) -> None:
    x, y = fort_worth()
    extent = (x - 100, y - 100, 0.0, x + 100, y + 100, 50.0)
    near = check_placement(city, CRS, (x + 500, y), extent=extent)
    assert near.warnings == []
    far = check_placement(city, CRS, (x + 100 + FAR_METRES + 1500, y), extent=extent)
    codes = [w.code for w in far.warnings]
    assert "far-from-city" in codes
    warning = far.warnings[codes.index("far-from-city")]
    assert warning.params["km"] == pytest.approx(3.5)


def test_a_model_outside_the_terrain_is_warned_about(city: Path) -> None:
    x, y = fort_worth()
    outside = check_placement(city, CRS, (x - 100_000, y, 0.0))
    assert outside.terrain_height is None
    assert [w.code for w in outside.warnings] == ["outside-terrain"]


def test_without_a_terrain_the_height_is_zero_and_nothing_is_warned(tmp_path: Path) -> None:
    CityStore.create(tmp_path / "bare", CRS).close()
    x, y = fort_worth()
    placement = check_placement(tmp_path / "bare", CRS, (x, y))
    assert placement.origin[2] == 0.0 and placement.terrain_height is None
    assert placement.warnings == []


@pytest.mark.parametrize(
    ("origin", "rotation", "message"),
    [
        ((1.0, 2.0), 0.0, "outside the area of use"),
        ((650_000.0, 3_600_000.0), math.inf, "rotation"),
    ],
)
def test_an_unusable_placement_is_refused(
    city: Path, origin: tuple[float, float], rotation: float, message: str
) -> None:
    with pytest.raises(OriginError, match=message):
        check_placement(city, CRS, origin, rotation)
