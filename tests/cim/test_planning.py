"""The planning figures of a building: authored IFC halls on parcels, the FZK-Haus and the
Revit sample of the shared data, OSM buildings of Helsinki, and a building on a real DEM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import box

from cim.crs import transformer
from cim.gis import VectorOptions, import_vector
from cim.model import CityObject
from cim.planning import planning_card, source_attributes, vertical_datum
from cim.planning_storeys import length_scale, storey_list
from cim.raster import import_dem
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import ImportedCity
from tests.viewer.planner_city import E, N, build_planner_city

EVERYTHING = Scope.everything()


def _card(store: CityStore, object_id: str) -> dict[str, Any]:
    return planning_card(store, object_id, scope=EVERYTHING)


def _named(store: CityStore, cls: str, name: str) -> CityObject:
    return next(o for o in store.objects(cls=cls, scope=EVERYTHING) if o.name == name)


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStore]:
    with CityStore.open(build_planner_city(tmp_path_factory.mktemp("planner"))) as store:
        yield store


def test_an_authored_hall_in_planning_terms(planner: CityStore) -> None:
    hall = _named(planner, "IfcBuilding", "North Hall")
    card = _card(planner, hall.id)
    assert card["kind"] == "bim-building"
    # two storeys of 3.5 m on a floor at 10 m: the roof slab's top at 17 m
    assert card["ground"] == {"height": 10.0, "method": "ground-floor"}
    assert card["height"]["value"] == pytest.approx(7.0)
    assert (card["storeys"]["above"], card["storeys"]["below"]) == (2, 0)
    assert [s["name"] for s in card["storeys"]["list"]] == ["Level 2", "Level 1"]
    assert [s["elevation"] for s in card["storeys"]["list"]] == [3.5, 0.0]
    # two floor slabs of 20 m x 12 m; the roof slab is no floor
    assert card["gross_floor_area"] == {"value": 480.0, "method": "slabs", "parts": 2,
                                        "estimate": False}  # fmt: skip
    assert card["footprint_area"] == pytest.approx(240.0)
    assert (card["use"], card["year"]) == ("office", 2020)
    assert card["plot"]["number"] == "TH-0001" and card["plot"]["area"] == pytest.approx(660.0)
    assert card["height_class"]["code"] == "low_or_multi_storey"


def test_the_position_is_given_in_the_city_crs_and_in_degrees(planner: CityStore) -> None:
    hall = _named(planner, "IfcBuilding", "North Hall")
    position = _card(planner, hall.id)["position"]
    assert (position["x"], position["y"]) == pytest.approx((E + 10, N + 6))
    lon, lat = transformer("EPSG:4547", "EPSG:4326").transform(E + 10, N + 6)
    assert (position["lon"], position["lat"]) == pytest.approx((lon, lat), abs=1e-6)
    assert position["crs"] == "EPSG:4547" and "CGCS2000" in position["crs_name"]


def test_the_south_hall_stands_on_no_plot(planner: CityStore) -> None:
    card = _card(planner, _named(planner, "IfcBuilding", "South Hall").id)
    assert card["plot"] is None
    assert card["storeys"]["above"] == 3 and card["gross_floor_area"]["value"] == 720.0


def test_an_element_gets_its_building_storey_and_level(planner: CityStore) -> None:
    storey = _named(planner, "IfcBuildingStorey", "Level 2")
    wall = next(w for w in planner.objects(cls="IfcWall", storey_id=storey.id, scope=EVERYTHING))
    card = _card(planner, wall.id)
    assert card["kind"] == "element"
    assert card["building"]["id"] == storey.building_id
    assert card["storey"] == {"id": storey.id, "class": "IfcBuildingStorey", "name": "Level 2"}
    assert card["base_level"] == pytest.approx(3.5)  # on the second floor
    assert len(card["storeys"]["list"]) in (2, 3)
    assert "step_id" not in card["source_attributes"]


def test_a_gis_block_estimates_its_floor_area(planner: CityStore) -> None:
    card = _card(planner, "blocks:b2")
    assert card["kind"] == "gis-building"
    assert card["height"] == {"value": 45.0, "top": 45.0, "method": "base", "source": "height",
                              "estimate": False}  # fmt: skip
    # 45 m and no storey count: 15 storeys of 3 m, estimated; 20 m x 20 m a floor
    assert card["storeys"]["above"] == 15 and card["storeys"]["estimate"]
    assert card["gross_floor_area"] == {"value": 6000.0, "method": "footprint-x-storeys",
                                        "parts": 15, "estimate": True}  # fmt: skip
    assert card["address"] == "天河路 103号"
    assert card["plot"]["number"] == "TH-0003"
    assert card["height_class"]["code"] == "high_rise"
    assert "height_source" not in card["source_attributes"]


def test_a_missing_object_is_not_found(planner: CityStore) -> None:
    from cim.errors import ObjectNotFoundError

    with pytest.raises(ObjectNotFoundError):
        _card(planner, "no-such-id")


def test_the_fzk_haus_floor_area_comes_from_its_quantities(fzk_city: ImportedCity) -> None:
    store = fzk_city.store
    building = store.objects(cls="IfcBuilding", scope=EVERYTHING)[0]
    card = _card(store, building.id)
    assert card["gross_floor_area"]["method"] == "qto-building"
    assert card["gross_floor_area"]["value"] == pytest.approx(241.5, abs=0.01)
    storeys = card["storeys"]
    assert (storeys["above"], storeys["below"]) == (2, 0)
    assert [s["name"] for s in storeys["list"]] == ["Dachgeschoss", "Erdgeschoss"]
    assert storeys["list"][0]["elevation"] == pytest.approx(2.7)
    # the ground floor's rooms stand at 110 m (IfcSite RefElevation); the ridge 6.3 m above
    assert card["ground"]["height"] == pytest.approx(110.0, abs=0.01)
    assert card["height"]["value"] == pytest.approx(6.32, abs=0.01)
    assert card["year"] == 2008 and card["position"]["crs"] == "EPSG:25832"


def test_revit_storeys_in_millimetres_and_no_floor_slab_upstairs(
    revit_city: ImportedCity,
) -> None:
    store = revit_city.store
    assert length_scale(store.sources(scope=EVERYTHING)[0]["report"]) == pytest.approx(0.001)
    card = _card(store, store.objects(cls="IfcBuilding", scope=EVERYTHING)[0].id)
    assert [s["elevation"] for s in card["storeys"]["list"]] == pytest.approx([3.14, 0.0])
    # footings are base slabs but Level 2 has no floor slab: the estimate, said so
    area = card["gross_floor_area"]
    assert area["method"] == "footprint-x-storeys" and area["estimate"]
    assert area["value"] == pytest.approx(2 * card["footprint_area"], rel=1e-3)


@pytest.fixture(scope="module")
def helsinki(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStore]:
    with CityStore.create(tmp_path_factory.mktemp("helsinki") / "city", "EPSG:3067") as store:
        options = VectorOptions(layer="buildings", id_field="osm_way_id")
        import_vector(store, shared_data / "vector" / "helsinki_center_osm.gpkg", options)
        yield store


def test_an_osm_building_is_read_from_its_tags(helsinki: CityStore) -> None:
    card = _card(helsinki, "buildings:419479428")  # Helsinki Cathedral
    assert card["address"] == "Unioninkatu 29, 00170 Helsinki"
    assert card["names"]["zh"] == "赫爾辛基座堂" and card["names"]["en"] == "Helsinki Cathedral"
    assert card["use"] == "cathedral"
    assert card["height"]["value"] == pytest.approx(13.0) and not card["height"]["estimate"]
    source = card["source_attributes"]
    assert source["architect"] == "Carl Ludvig Engel" and source["roof:shape"] == "hipped"
    assert not {"osm_tags", "height_source"} & set(source)


def test_an_osm_storey_count_gives_the_estimated_floor_area(helsinki: CityStore) -> None:
    card = _card(helsinki, "buildings:122595198")  # the central railway station
    assert card["storeys"]["above"] == 4 and card["storeys"]["method"] == "attribute"
    assert card["height"]["estimate"]  # its height comes from its levels
    area = card["gross_floor_area"]
    assert area["estimate"] and area["value"] == pytest.approx(4 * card["footprint_area"], 1e-3)
    assert card["year"] == 1919
    # GDAL's building_levels column is the building:levels tag: given once
    assert "building:levels" in card["source_attributes"]
    assert "building_levels" not in card["source_attributes"]


def test_a_building_on_a_real_dem_is_measured_from_the_ground(
    shared_data: Path, tmp_path: Path
) -> None:
    x, y = transformer("EPSG:4326", "EPSG:32614").transform(-97.33, 32.67)  # Fort Worth
    layer = tmp_path / "blocks.gpkg"
    gpd.GeoDataFrame({"ref": ["w1"], "height": [12.0]}, geometry=[box(x, y, x + 30, y + 20)],
                     crs="EPSG:32614").to_file(layer, layer="blocks")  # fmt: skip
    with CityStore.create(tmp_path / "city", "EPSG:32614") as store:
        import_vector(store, layer, VectorOptions(id_field="ref"))
        import_dem(store, shared_data / "raster" / "fortworth_dem_3arcsec.tif")
        card = _card(store, "blocks:w1")
        base = store.get_object("blocks:w1", scope=EVERYTHING).base_height
    assert card["ground"]["method"] == "dem" and base is not None
    assert 147 <= card["ground"]["height"] <= 298
    assert card["ground"]["height"] == pytest.approx(base, abs=1e-3)
    assert card["height"]["value"] == pytest.approx(12.0)
    assert card["height"]["top"] == pytest.approx(base + 12.0)


def test_storeys_below_the_ground_floor_are_underground() -> None:
    storeys = [
        CityObject("b2", "IfcBuildingStorey", "B2", attributes={"Elevation": -7000.0}),
        CityObject("b1", "IfcBuildingStorey", "B1", attributes={"Elevation": -3500.0}),
        CityObject("gf", "IfcBuildingStorey", "GF", attributes={"Elevation": -150.0}),
        CityObject("l1", "IfcBuildingStorey", "L1", attributes={"Elevation": 4000.0}),
    ]
    listed = storey_list(storeys, 0.001)
    assert (listed.above, listed.below, listed.ground) == (2, 2, "gf")
    assert [s.id for s in listed.storeys] == ["l1", "gf", "b1", "b2"]
    assert [s.elevation for s in listed.storeys] == pytest.approx([4.15, 0.0, -3.35, -6.85])


def test_absolute_elevations_and_a_named_basement() -> None:
    storeys = [
        CityObject("b1", "IfcBuildingStorey", "地下一层", attributes={"Elevation": 7.0}),
        CityObject("gf", "IfcBuildingStorey", "一层", attributes={"Elevation": 10.0}),
        CityObject("l2", "IfcBuildingStorey", "二层", attributes={"Elevation": 13.5}),
    ]
    listed = storey_list(storeys, 1.0)
    assert (listed.above, listed.below, listed.ground) == (2, 1, "gf")


def test_source_attributes_and_the_vertical_datum() -> None:
    raw = {"step_id": 7, "psets": {}, "height_source": "levels", "building_levels": 6.0,
           "osm_tags": {"building:levels": "6", "name:zh": "楼"}}  # fmt: skip
    assert source_attributes(raw) == {"building:levels": "6", "name:zh": "楼"}
    assert vertical_datum("EPSG:4547") is None
    assert vertical_datum("EPSG:4547+5737") is not None  # a height part is named
