"""The flood model run over a city: a bowl-shaped DEM with buildings and a road in it.

The DEM is a paraboloid ``z = 100 + a r²`` in 5 m cells, imported (so resampled into
lon/lat) and resampled back into the city CRS by the run: areas and volumes are checked
against the closed forms within 5 %, lengths within two cells.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pydantic import ValidationError
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from cim.crs import transform_arrays
from cim.gis import VectorOptions, import_vector
from cim.model import CityObject
from cim.raster import import_dem
from cim.results import no_progress
from cim.scope import Scope
from cim.store import CityStore
from simulation.models import model
from simulation.models.flood import LiveLevelError
from simulation.models.flood_grid import NoDemError, SourceError
from simulation.models.flood_objects import ground_doors, strip_length
from simulation.models.flood_params import FloodParameters
from simulation.models.spec import ModelInputs, Reading

CRS = "EPSG:32614"
A = 0.0005  # z = 100 + A r²
BOTTOM = 100.0
H = 6.0  # water 6 m above the bottom: the edge at r = sqrt(H / A) ≈ 110 m
CELL = 5.0
HALF = 100  # cells from the centre to the DEM's edge: 500 m


def centre() -> tuple[float, float]:
    x, y = transform_arrays("EPSG:4326", CRS, np.array([-97.33]), np.array([32.70]))
    return float(x[0]), float(y[0])


def lonlat(x: float, y: float) -> list[float]:
    lon, lat = transform_arrays(CRS, "EPSG:4326", np.array([x]), np.array([y]))
    return [float(lon[0]), float(lat[0])]


@pytest.fixture(scope="module")
def bowl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city in a paraboloid bowl: three buildings and an east-west road through it."""
    folder = tmp_path_factory.mktemp("flood")
    cx, cy = centre()
    size = 2 * HALF + 1
    offsets = (np.arange(size) - HALF) * CELL
    r2 = offsets[None, :] ** 2 + offsets[:, None] ** 2
    dem_path = folder / "bowl.tif"
    west, north = cx - (HALF + 0.5) * CELL, cy + (HALF + 0.5) * CELL
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": CRS, "transform": from_origin(west, north, CELL, CELL)}  # fmt: skip
    with rasterio.open(dem_path, "w", **profile) as out:
        out.write((BOTTOM + A * r2).astype(np.float32), 1)
    layers = folder / "layers.gpkg"
    gpd.GeoDataFrame(
        {"ref": ["low", "high", "off"]},
        geometry=[box(cx - 5, cy - 5, cx + 5, cy + 5), box(cx + 300, cy, cx + 310, cy + 10),
                  box(cx + 5000, cy, cx + 5010, cy + 10)],
        crs=CRS,
    ).to_file(layers, layer="blocks")  # fmt: skip
    gpd.GeoDataFrame(
        {"ref": ["main"], "name": ["Main Street"]},
        geometry=[LineString([(cx - 400, cy + 1), (cx + 400, cy + 1)])],
        crs=CRS,
    ).to_file(layers, layer="streets")
    with CityStore.create(folder / "city", CRS) as store:
        import_vector(store, layers, VectorOptions(layer="blocks", id_field="ref"))
        import_vector(store, layers, VectorOptions(layer="streets", cls="road", id_field="ref"))
        import_dem(store, dem_path)
    return folder / "city"


@dataclass
class Gauge:
    """Live readings holding one water-level datastream."""

    readings: dict[int, Reading] = field(default_factory=dict)

    def latest(self, datastream_id: int) -> Reading | None:
        return self.readings.get(datastream_id)

    def of_property(self, observed_property: str) -> list[Reading]:
        return [r for r in self.readings.values() if r.observed_property == observed_property]


def run(city: Path, live: Gauge | None = None, **parameters: object):  # type: ignore[no-untyped-def]
    spec = model("flood")
    params = spec.parameters_type.model_validate(parameters)
    with CityStore.open(city) as store:
        return spec.run(ModelInputs(store, city, Scope.everything(), live), params, no_progress)


def test_a_level_floods_the_bowl_and_what_stands_in_it(bowl: Path) -> None:
    result = run(bowl, water_level=BOTTOM + H, source=lonlat(*centre()))
    summary = result.summary
    assert summary["level_m"] == BOTTOM + H
    assert summary["flooded_area_m2"] == pytest.approx(math.pi * H / A, rel=0.05)
    assert summary["volume_m3"] == pytest.approx(math.pi * H**2 / (2 * A), rel=0.05)
    assert summary["max_depth_m"] == pytest.approx(H, abs=0.1)
    assert summary["low_area_m2"] == 0.0 and "note" not in summary
    depth = result.rasters[0]
    assert depth.name == "depth" and depth.unit == "m" and depth.crs == CRS
    assert depth.transform[1] == pytest.approx(CELL, rel=0.2)  # near the DEM's resolution
    cells = np.isfinite(depth.array).sum()
    assert summary["flooded_area_m2"] == pytest.approx(cells * depth.transform[1] ** 2, rel=1e-3)
    extent = {layer.name: layer for layer in result.vectors}["extent"]
    assert len(extent.features) == 1
    assert extent.features[0].geometry.area == pytest.approx(summary["flooded_area_m2"], rel=1e-6)
    values = result.values[0]
    assert values.name == "depth"
    assert values.values["blocks:low"] == pytest.approx(H, abs=0.2)
    assert values.values["blocks:high"] == 0.0 and values.values["blocks:off"] is None
    assert summary["buildings_affected"] == 1
    assert values.details["blocks:low"]["lowest_ground_m"] == pytest.approx(BOTTOM, abs=0.2)
    roads = {layer.name: layer for layer in result.vectors}["roads"].features
    assert [f.properties["id"] for f in roads] == ["streets:main"]
    flooded = 2 * math.sqrt(H / A)
    assert roads[0].properties["length_m"] == pytest.approx(800.0)
    assert roads[0].properties["flooded_length_m"] == pytest.approx(flooded, abs=2 * CELL)
    assert summary["roads_flooded_length_m"] == roads[0].properties["flooded_length_m"]
    chart = result.charts[0]
    assert chart.name == "area_by_level" and len(chart.series[0].x) == 20
    assert chart.series[0].x[-1] == BOTTOM + H
    assert chart.series[0].y[-1] == pytest.approx(summary["flooded_area_m2"])
    assert result.parameters["source_used"]["kind"] == "point"
    stored = [result.parameters, summary, values.values, values.details, chart.series[0].y]
    stored += [f.properties for layer in result.vectors for f in layer.features]
    assert json.loads(json.dumps(stored, allow_nan=False)) == stored  # kept as JSON as it is


def test_a_volume_gives_the_level_that_stores_it(bowl: Path) -> None:
    result = run(bowl, rain_volume_m3=math.pi * H**2 / (2 * A), source=lonlat(*centre()))
    assert result.summary["level_m"] == pytest.approx(BOTTOM + H, abs=0.15)
    assert result.summary["volume_m3"] == pytest.approx(math.pi * H**2 / (2 * A), rel=1e-3)
    assert result.parameters["level_m"] == result.summary["level_m"]


def test_a_live_gauge_gives_the_level_and_where_the_water_enters(bowl: Path) -> None:
    cx, cy = centre()
    reading = Reading(7, "Bowl gauge", "water level", "cm", H * 100, 1_700_000_000_000_000,
                      cx, cy, None)  # fmt: skip
    result = run(bowl, Gauge({7: reading}), datastream_id=7, gauge_datum_m=BOTTOM)
    assert result.summary["level_m"] == pytest.approx(BOTTOM + H)
    assert result.summary["flooded_area_m2"] == pytest.approx(math.pi * H / A, rel=0.05)
    assert result.parameters["live"]["value"] == H * 100
    assert result.parameters["live"]["time"] == "2023-11-14T22:13:20Z"
    assert result.parameters["source_used"]["kind"] == "gauge"
    with pytest.raises(LiveLevelError, match="datastream_id 8: no numeric reading"):
        run(bowl, Gauge({7: reading}), datastream_id=8)
    with pytest.raises(LiveLevelError, match="no live readings"):
        run(bowl, None, datastream_id=7)


def test_a_level_below_the_ground_at_the_source_floods_nothing(bowl: Path) -> None:
    result = run(bowl, water_level=BOTTOM - 1, source=lonlat(*centre()))
    assert result.summary["flooded_area_m2"] == 0.0 and result.summary["buildings_affected"] == 0
    assert "below the ground at the source" in result.summary["note"]
    assert result.vectors[0].features == [] and np.isnan(result.rasters[0].array).all()


def test_the_default_source_is_the_lowest_edge_of_the_dem(bowl: Path) -> None:
    # the bowl's rim is lowest mid-side (r = 500 m: 225 m); below it nothing enters
    assert run(bowl, water_level=200.0).summary["flooded_area_m2"] == 0.0
    result = run(bowl, water_level=240.0)
    assert result.summary["flooded_area_m2"] > 0 and result.summary["buildings_affected"] == 2
    assert result.parameters["source_used"]["kind"] == "edge"


def test_bad_sources_and_a_city_without_dem_are_refused(bowl: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="outside the DEM"):
        run(bowl, water_level=106.0, source=[-97.0, 32.0])
    with pytest.raises(SourceError, match="no object"):
        run(bowl, water_level=106.0, source_object="lakes:none")
    CityStore.create(tmp_path / "bare", CRS).close()
    with pytest.raises(NoDemError, match="cimtwin import dem"):
        run(tmp_path / "bare", water_level=106.0)


def test_a_river_polygon_is_a_source(bowl: Path) -> None:
    result = run(bowl, water_level=BOTTOM + H, source_object="blocks:low")
    assert result.summary["flooded_area_m2"] == pytest.approx(math.pi * H / A, rel=0.05)
    used = result.parameters["source_used"]
    assert used == {
        "kind": "object",
        "id": "blocks:low",
        "ground_m": pytest.approx(BOTTOM, abs=0.1),
    }


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "exactly one of"),
        ({"water_level": 1.0, "rain_volume_m3": 5.0}, "exactly one of"),
        ({"water_level": 1.0, "depth": 2}, "depth"),
        ({"rain_volume_m3": -1.0}, "rain_volume_m3"),
        ({"water_level": 1.0, "source": [200.0, 10.0]}, "longitude, latitude"),
        ({"water_level": 1.0, "source": [1.0]}, "source"),
        ({"water_level": 1.0, "source": [1.0, 2.0], "source_object": "a"}, "not both"),
    ],
)
def test_bad_parameters_are_named(parameters: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        FloodParameters.model_validate(parameters)


def test_entrances_are_the_doors_of_the_lowest_storey_with_doors() -> None:
    def door(ident: str, storey: str, base: float) -> CityObject:
        return CityObject(ident, "IfcDoor", building_id="b", storey_id=storey,
                          footprint=Point(0, 0).buffer(0.5), base_height=base)  # fmt: skip

    chosen = ground_doors([door("d1", "first", 3.0), door("d2", "ground", 0.0),
                           door("d3", "ground", 0.1)])  # fmt: skip
    assert [d.id for d in chosen["b"]] == ["d2", "d3"]


def test_a_strip_is_as_long_as_its_rectangle() -> None:
    assert strip_length(box(0, 0, 120, 6)) == pytest.approx(120.0)
    assert strip_length(LineString([(0, 0), (50, 0), (50, 50)]).buffer(3, cap_style="flat")) == (
        pytest.approx(100.0, rel=0.02)
    )


def test_the_run_reports_its_progress_and_stops_when_told(bowl: Path) -> None:
    seen: list[int] = []

    def record(percent: int, _message: str) -> None:
        seen.append(percent)

    def stop(percent: int, _message: str) -> None:
        if percent >= 40:
            raise KeyboardInterrupt("cancelled")

    spec = model("flood")
    params = spec.parameters_type.model_validate({"water_level": 106.0})
    with CityStore.open(bowl) as store:
        inputs = ModelInputs(store, bowl, Scope.everything())
        spec.run(inputs, params, record)
        with pytest.raises(KeyboardInterrupt, match="cancelled"):
            spec.run(inputs, params, stop)
    assert seen == sorted(seen) and seen[0] < 50 and seen[-1] == 100
