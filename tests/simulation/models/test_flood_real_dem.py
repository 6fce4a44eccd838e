"""The flood on a real DEM: Fort Worth, 3″ cells (about 90 m), heights 147 to 298 m.

The water enters at the DEM's lowest edge cell (147 m, on the east edge). At 160 m a
basin of about 11 km² lies below the level yet apart; by 190 m the water has reached it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy import ndimage

from cim.raster import import_dem
from cim.results import no_progress
from cim.scope import Scope
from cim.store import CityStore
from simulation.models import model
from simulation.models.flood_fill import (
    EIGHT,
    edge_source,
    flood_at_level,
    geographic_row_areas,
    level_for_volume,
)
from simulation.models.spec import ModelInputs

CRS = "EPSG:32614"


@pytest.fixture(scope="module")
def fort_worth(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The DEM as float (NaN for no data) and the area of a cell of each row."""
    with rasterio.open(shared_data / "raster" / "fortworth_dem_3arcsec.tif") as src:
        dem = src.read(1).astype(np.float64)
        dem[dem == src.nodata] = np.nan
        t = src.transform
    return dem, geographic_row_areas(dem.shape[0], t.f, t.a, t.e)


def test_a_level_between_two_basins_fills_only_the_source_s(
    fort_worth: tuple[np.ndarray, np.ndarray],
) -> None:
    dem, areas = fort_worth
    source = edge_source(dem)
    assert dem[source].tolist() == [147.0]
    flood = flood_at_level(dem, 160.0, source, areas)
    assert flood.low.any() and flood.flooded.any()
    # no low cell touches the water: else they would be one body of water
    assert not (ndimage.binary_dilation(flood.flooded, structure=EIGHT) & flood.low).any()
    assert (dem[flood.low] < 160).all() and (dem[flood.flooded] < 160).all()
    assert flood.area_m2 == pytest.approx(float(flood.flooded.sum(axis=1) @ areas))
    assert 5e6 < flood.low_area_m2 < 2e7
    hollow = np.unravel_index(np.nanargmin(np.where(flood.low, dem, np.nan)), dem.shape)
    assert flood_at_level(dem, 190.0, source, areas).flooded[hollow]


def test_the_volume_grows_with_the_level_and_gives_it_back(
    fort_worth: tuple[np.ndarray, np.ndarray],
) -> None:
    dem, areas = fort_worth
    source = edge_source(dem)
    floods = [flood_at_level(dem, level, source, areas) for level in range(150, 310, 10)]
    volumes = [f.volume_m3 for f in floods]
    assert volumes == sorted(volumes) and len(set(volumes)) == len(volumes)
    everything = float(np.isfinite(dem).sum(axis=1) @ areas)
    assert floods[-1].area_m2 == pytest.approx(everything)  # 300 m: above every height
    found = level_for_volume(dem, floods[3].volume_m3, source, areas)
    assert found.volume_m3 == pytest.approx(floods[3].volume_m3, rel=1e-3)
    assert found.level == pytest.approx(180.0, abs=0.05)


def test_the_model_floods_the_real_dem_in_the_city_crs(
    fort_worth: tuple[np.ndarray, np.ndarray], tmp_path: Path, shared_data: Path
) -> None:
    with CityStore.create(tmp_path / "city", CRS) as store:
        import_dem(store, shared_data / "raster" / "fortworth_dem_3arcsec.tif")
        spec = model("flood")
        params = spec.parameters_type.model_validate({"water_level": 180.0})
        inputs = ModelInputs(store, tmp_path / "city", Scope.everything())
        result = spec.run(inputs, params, no_progress)
    dem, areas = fort_worth
    core = flood_at_level(dem, 180.0, edge_source(dem), areas)
    summary = result.summary
    # the same water, resampled from lon/lat cells into UTM ones (at 170 m resampling
    # closes a one-cell channel: the connected area then differs by 10 %)
    assert summary["flooded_area_m2"] == pytest.approx(core.area_m2, rel=0.05)
    assert summary["volume_m3"] == pytest.approx(core.volume_m3, rel=0.05)
    assert summary["low_area_m2"] == pytest.approx(core.low_area_m2, rel=0.05)
    depth = result.rasters[0]
    cell_area = depth.transform[1] * -depth.transform[5]
    assert summary["flooded_area_m2"] == pytest.approx(
        np.isfinite(depth.array).sum() * cell_area, rel=1e-6
    )
    layers = {layer.name: layer for layer in result.vectors}
    traced = sum(f.geometry.area for f in layers["extent"].features)
    assert traced == pytest.approx(summary["flooded_area_m2"], rel=1e-6)
    assert sum(f.geometry.area for f in layers["low_areas"].features) == pytest.approx(
        summary["low_area_m2"], rel=1e-6
    )
    assert result.parameters["source_used"]["ground_m"] == pytest.approx(147.0, abs=1.0)
