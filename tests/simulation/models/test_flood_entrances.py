"""Entrances of an IFC building in the water: the FZK-Haus on a slope rising to the east.

The ground is ``z = Z0 + S (x - X0)`` in 1 m cells around the house; under a level ``L``
each door stands in ``L - z(door)`` of water, within the slope over one cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point

from cim.model import CityObject
from cim.raster import import_dem
from cim.results import no_progress
from cim.scope import Scope
from simulation.models import model
from simulation.models.flood_objects import ground_doors
from simulation.models.spec import ModelInputs
from tests.conftest import ImportedCity

Z0, S = 110.0, 0.05
LEVEL = 111.0
EVERYTHING = Scope.everything()


def test_each_door_of_the_ground_storey_gets_its_depth(
    fzk_city: ImportedCity, tmp_path: Path
) -> None:
    with fzk_city.store.copy_to(tmp_path / "city") as store:
        house = store.objects(cls="IfcBuilding", scope=EVERYTHING)[0]
        assert house.footprint is not None
        x0, y0 = house.footprint.centroid.x, house.footprint.centroid.y
        size = 201
        cols = np.arange(size) - size // 2
        dem = np.repeat((Z0 + S * cols)[None, :], size, axis=0).astype(np.float32)
        west, north = x0 - size / 2, y0 + size / 2
        profile = {"driver": "GTiff", "width": size, "height": size, "count": 1,
                   "dtype": "float32", "crs": store.crs,
                   "transform": from_origin(west, north, 1.0, 1.0)}  # fmt: skip
        with rasterio.open(tmp_path / "slope.tif", "w", **profile) as out:
            out.write(dem, 1)
        import_dem(store, tmp_path / "slope.tif")
        spec = model("flood")
        params = spec.parameters_type.model_validate({"water_level": LEVEL})
        result = spec.run(ModelInputs(store, store.city_dir, EVERYTHING), params, no_progress)
        doors = {d.id: d for d in store.objects(cls="IfcDoor", scope=EVERYTHING)}
    values = result.values[0]
    detail = values.details[house.id]
    entrances = detail["entrances"]
    assert {e["id"] for e in entrances} == set(doors) and len(entrances) == 5
    for entrance in entrances:
        centre = doors[entrance["id"]].footprint.centroid  # type: ignore[union-attr]
        expected = LEVEL - (Z0 + S * (centre.x - x0))
        assert entrance["depth_m"] == pytest.approx(expected, abs=S * 1.5)
    west_edge = house.footprint.bounds[0]
    assert values.values[house.id] == pytest.approx(LEVEL - (Z0 + S * (west_edge - x0)), abs=S * 2)
    assert detail["lowest_ground_m"] == pytest.approx(Z0 + S * (west_edge - x0), abs=S * 2)
    assert result.summary["buildings_affected"] == 1


def test_external_doors_are_the_entrances_when_the_doors_say_so() -> None:
    def door(ident: str, external: bool | None) -> CityObject:
        common = {} if external is None else {"Pset_DoorCommon": {"IsExternal": external}}
        return CityObject(ident, "IfcDoor", building_id="b", storey_id="gf",
                          footprint=Point(0, 0).buffer(0.5), base_height=0.0,
                          attributes={"psets": common})  # fmt: skip

    chosen = ground_doors([door("inner", False), door("front", True), door("back", True)])
    assert [d.id for d in chosen["b"]] == ["front", "back"]
    assert [d.id for d in ground_doors([door("a", None), door("b", None)])["b"]] == ["a", "b"]
