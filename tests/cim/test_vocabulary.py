"""One vocabulary: building classes, derived use/year/levels, class names, GB 50352 height bands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from cim import search, vocabulary
from cim.model import CityObject
from cim.scope import Scope
from tests.conftest import make_city
from tiles.properties import feature_row

# Buildings as each source describes them: IFC property sets, GIS fields, OSM tags, CityJSON.
BUILDINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "ifc-demo": ("IfcBuilding", {"psets": {
        "Pset_BuildingCommon": {"YearOfConstruction": "2012", "NumberOfStoreys": 8},
        "CIMTwin_Demo": {"Use": "office", "YearBuilt": 2012}}}),
    "ifc-occupancy": ("IfcBuilding", {"psets": {"Pset_BuildingCommon": {
        "OccupancyType": "Residential", "YearOfConstruction": "建于1998年"}}}),
    "gis:fields": ("building", {"use": "retail", "year": 1995.0, "building_levels": 5.0}),
    "gis:chinese": ("building", {"用途": "住宅", "建成年份": "2003年", "层数": "12"}),
    "osm:way/1": ("building", {"osm_id": 1, "osm_tags": {
        "building": "apartments", "start_date": "1987-05", "building:levels": "6"}}),
    "osm:way/2": ("building", {"osm_id": 2, "building": "yes"}),
    "cityjson:b1": ("Building", {"function": "1000", "yearOfConstruction": 1975}),
}  # fmt: skip
WALLS = {"wall-of-demo": "ifc-demo", "wall-of-occupancy": "ifc-occupancy"}


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city holding every building of BUILDINGS, and a wall in each IFC building."""
    store = make_city(tmp_path_factory.mktemp("vocabulary"))
    with store.transaction() as writer:
        for index, (object_id, (cls, attributes)) in enumerate(BUILDINGS.items()):
            footprint = box(430_000 + 30 * index, 2_557_000, 430_020 + 30 * index, 2_557_020)
            writer.add_object(CityObject(object_id, cls, attributes=attributes, footprint=footprint,
                                         base_height=0.0, top_height=20.0,
                                         building_id=object_id))  # fmt: skip
        for wall, building in WALLS.items():
            attributes = {"psets": {"Pset_WallCommon": {}}}
            writer.add_object(
                CityObject(wall, "IfcWall", attributes=attributes, building_id=building)
            )
        writer.record_source("described", "", "", "synthetic", {})
    store.close()
    return store.city_dir


@pytest.mark.parametrize("attribute", ["use", "year", "levels"])
def test_tiles_and_the_values_api_derive_the_same_value(described: Path, attribute: str) -> None:
    from cim.store import CityStore

    with CityStore.open(described) as store:
        api = search.values(store, attribute, per_building=True, scope=Scope.everything())
    tiles = {}
    for object_id, (cls, attributes) in BUILDINGS.items():
        tiles[object_id] = feature_row(object_id, cls, "", object_id, None, 0.0, 20.0, attributes)
    for wall, building in WALLS.items():
        own = {"psets": {"Pset_WallCommon": {}}}
        tiles[wall] = feature_row(wall, "IfcWall", "", building, None, None, None, own,
                                  BUILDINGS[building][1])  # fmt: skip
    from_tiles = {i: row[attribute] for i, row in tiles.items() if attribute in row}
    assert api == from_tiles


def test_derived_values_from_each_source() -> None:
    derived = {
        object_id: (vocabulary.use_of(a), vocabulary.year_of(a), vocabulary.levels_of(a))
        for object_id, (_, a) in BUILDINGS.items()
    }
    assert derived == {
        "ifc-demo": ("office", 2012, 8),
        "ifc-occupancy": ("Residential", 1998, None),
        "gis:fields": ("retail", 1995, 5),
        "gis:chinese": ("住宅", 2003, 12),
        "osm:way/1": ("apartments", 1987, 6),
        "osm:way/2": (None, None, None),
        "cityjson:b1": ("1000", 1975, None),
    }


@pytest.mark.parametrize(
    ("attributes", "year"),
    [({"year": 2300}, None), ({"year": float("nan")}, None), ({"year": True}, None),
     ({"start_date": "19870"}, None), ({"start_date": "c. 1910s"}, 1910)],
)  # fmt: skip
def test_implausible_years_are_not_years(attributes: dict[str, Any], year: int | None) -> None:
    assert vocabulary.year_of(attributes) == year


def test_building_classes() -> None:
    assert vocabulary.BUILDING_CLASSES == ("IfcBuilding", "building", "Building")
    assert vocabulary.is_building("Building") and not vocabulary.is_building("IfcBuildingStorey")


@pytest.mark.parametrize(
    ("height", "use", "levels", "band"),
    [
        (24.0, "office", 6, "low_or_multi_storey"),
        (24.5, "office", 6, "high_rise"),
        (26.9, "residential", 9, "low_or_multi_storey"),
        (27.0, "apartments", 9, "low_or_multi_storey"),
        (27.5, "住宅", 10, "high_rise"),
        (26.0, None, None, "high_rise"),  # unknown use: the public thresholds
        (30.0, "library", 1, "low_or_multi_storey"),  # single-storey public building
        (30.0, "residential", 1, "high_rise"),
        (100.0, "office", 30, "high_rise"),
        (100.5, "office", 1, "super_high_rise"),
        (150.0, "residential", 45, "super_high_rise"),
    ],
)
def test_gb_50352_height_bands(
    height: float, use: str | None, levels: int | None, band: str
) -> None:
    assert vocabulary.height_band(height, use, levels).code == band


def test_class_names_from_the_code_list() -> None:
    names = vocabulary.class_names()
    assert (names["IfcWall"].zh, names["IfcSlab"].zh, names["IfcWindow"].en) == (
        "墙",
        "楼板",
        "Window",
    )
    assert {names[c].kind for c in ("IfcBuilding", "IfcBuildingStorey")} == {"spatial"}
