"""The jurisdictions layer of the store, scoped reads, and every object's assignment."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.gis import VectorOptions, import_vector
from cim.jurisdictions import JurisdictionNotFoundError, RawFeature, check
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.store_jurisdictions import Assignment
from tests.cim.jurisdiction_sets import (
    CITY,
    COUNTY,
    EAST,
    NORTH,
    PROVINCE,
    SOUTH,
    WEST,
    X0,
    Y0,
    feature,
    square,
    tree,
)
from tests.conftest import make_city


def store_set(store: CityStore, features: list[RawFeature]) -> Assignment:
    nodes = check(features).accepted()
    with store.transaction() as writer:
        return writer.replace_jurisdictions(nodes)


def object_codes(store: CityStore) -> dict[str, str | None]:
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT object_id, jurisdiction FROM city_objects"))
    finally:
        conn.close()


def block(object_id: str, x: float, y: float, **fields: object) -> CityObject:
    """A 20 m square object centred at (x, y) metres from the sets' origin."""
    shape = square(x - 10, y - 10, x + 10, y + 10)
    return CityObject(id=object_id, cls="building", source="test", footprint=shape, **fields)  # type: ignore[arg-type]


def add(store: CityStore, *objects: CityObject) -> Assignment | None:
    with store.transaction() as writer:
        writer.add_objects(list(objects))
    return writer.assignment


@pytest.fixture()
def city(tmp_path: Path) -> Iterator[CityStore]:
    with make_city(tmp_path) as store:
        yield store


def test_a_set_is_a_geopackage_layer_gdal_reads(city: CityStore) -> None:
    store_set(city, tree())
    layers = dict(pyogrio.list_layers(city.path).tolist())
    assert layers["jurisdictions"] == "MultiPolygon"
    frame = gpd.read_file(city.path, layer="jurisdictions")
    assert frame.crs.to_epsg() == 4547
    assert sorted(frame["code"]) == sorted(f.code for f in tree())
    assert dict(zip(frame["code"], frame["parent_code"], strict=True))[SOUTH] == WEST
    west = frame[frame["code"] == WEST].geometry.iloc[0]
    assert west.equals(square(100, 100, 900, 1700))


def test_reads_are_the_scope_s_subtree(city: CityStore) -> None:
    assert city.jurisdictions(scope=Scope.everything()) == []  # no set yet: no table, no error
    store_set(city, tree())
    everything = [n.code for n in city.jurisdictions(scope=Scope.everything())]
    assert everything == [PROVINCE, CITY, COUNTY, WEST, EAST, SOUTH, NORTH]
    assert [n.code for n in city.jurisdictions(scope=Scope.of(WEST))] == [WEST, SOUTH, NORTH]
    assert [n.code for n in city.jurisdictions(scope=Scope.of(EAST))] == [EAST]
    assert [n.code for n in city.jurisdictions(scope=Scope.of("440106009000"))] == []
    assert city.jurisdiction(SOUTH, scope=Scope.of(WEST)).name == "South village"
    with pytest.raises(JurisdictionNotFoundError):
        city.jurisdiction(EAST, scope=Scope.of(WEST))  # exists, but outside the caller's scope
    with pytest.raises(JurisdictionNotFoundError):
        city.jurisdiction(COUNTY, scope=Scope.of(WEST))  # the parent is outside too
    with pytest.raises(JurisdictionNotFoundError):
        city.jurisdiction("440106003000", scope=Scope.everything())


def test_objects_get_the_smallest_jurisdiction_when_a_set_is_stored(city: CityStore) -> None:
    add(
        city,
        block("south", 500, 500),
        block("north", 500, 1500),
        block("east", 1300, 800),
        block("city-only", 1800, 1800),
        block("outside", 4000, 4000),
        # no footprint: its building's code, else its parent's
        CityObject(id="door", cls="IfcDoor", source="test", building_id="north"),
        CityObject(id="storey", cls="IfcBuildingStorey", source="test", parent_id="east"),
        CityObject(id="orphan", cls="IfcProject", source="test"),
    )
    assert set(object_codes(city).values()) == {None}  # no set stored yet
    assignment = store_set(city, tree())
    assert object_codes(city) == {
        "south": SOUTH, "north": NORTH, "east": EAST, "city-only": CITY, "outside": None,
        "door": NORTH, "storey": EAST, "orphan": None,
    }  # fmt: skip
    assert assignment.counts == {SOUTH: 1, NORTH: 2, EAST: 2, CITY: 1}
    assert assignment.unassigned == 2
    assert city.jurisdiction_counts(scope=Scope.of(WEST)) == Assignment({SOUTH: 1, NORTH: 2}, 0)


def test_a_footprint_across_a_boundary_goes_by_a_point_inside_it(city: CityStore) -> None:
    # an L-shaped footprint mostly in the east town whose bounding box centre is in the west
    shape = square(850, 200, 1400, 260).union(square(1340, 200, 1400, 800))
    add(city, CityObject(id="ell", cls="building", source="test", footprint=shape))
    store_set(city, tree())
    assert object_codes(city)["ell"] == EAST


def test_replacing_the_set_reassigns_every_object(city: CityStore) -> None:
    add(city, block("a", 500, 500), block("b", 1300, 800))
    store_set(city, tree())
    # the new set moves the town boundary west and drops the villages and the province
    moved = [
        feature(CITY, square(-100, -100, 1900, 1900)),
        feature(COUNTY, square(100, 100, 1700, 1700)),
        feature(WEST, square(100, 100, 400, 1700)),
        feature(EAST, square(400, 100, 1700, 1700)),
    ]
    assignment = store_set(city, moved)
    assert object_codes(city) == {"a": EAST, "b": EAST}
    assert assignment.counts == {EAST: 2}
    assert [n.code for n in city.jurisdictions(scope=Scope.everything())] == [
        CITY,
        COUNTY,
        WEST,
        EAST,
    ]
    # a set that no longer covers them leaves them outside (NULL)
    store_set(city, [feature("450000000000", square(5000, 5000, 6000, 6000))])
    assert object_codes(city) == {"a": None, "b": None}
    store_set(city, moved)
    with city.transaction() as writer:  # an empty set removes them all
        assert writer.replace_jurisdictions([]) == Assignment({}, 2)
    assert city.jurisdictions(scope=Scope.everything()) == []
    assert object_codes(city) == {"a": None, "b": None}


def test_a_failed_replacement_keeps_the_old_set_and_codes(city: CityStore) -> None:
    add(city, block("a", 500, 500))
    store_set(city, tree())
    nodes = check([feature(EAST, square(0, 0, 2000, 2000))]).accepted()
    with pytest.raises(RuntimeError), city.transaction() as writer:
        writer.replace_jurisdictions(nodes)
        assert object_codes(city) == {"a": SOUTH}  # another connection: the commit's not done
        raise RuntimeError("the import fails after the replacement")
    assert len(city.jurisdictions(scope=Scope.everything())) == 7
    assert object_codes(city) == {"a": SOUTH}


def test_objects_written_after_the_set_are_assigned_by_every_writer(city: CityStore) -> None:
    store_set(city, tree())
    first = add(city, block("a", 500, 500), block("b", 4000, 4000))
    assert first == Assignment({SOUTH: 1}, 1)  # the counts of this import's objects only
    with city.transaction() as writer:
        writer.add_object(block("c", 1300, 1300))
        writer.add_object(CityObject(id="c-door", cls="IfcDoor", source="t", building_id="c"))
    assert writer.assignment == Assignment({EAST: 2}, 0)
    assert object_codes(city) == {"a": SOUTH, "b": None, "c": EAST, "c-door": EAST}


def test_a_gis_import_assigns_its_features(city: CityStore, tmp_path: Path) -> None:
    store_set(city, tree())
    layer = tmp_path / "blocks.gpkg"
    shapes = [
        square(450, 450, 480, 480),
        square(1200, 300, 1240, 340),
        Point(X0 - 150, Y0 - 150).buffer(5),
    ]
    frame = gpd.GeoDataFrame({"ref": ["s", "e", "x"]}, geometry=shapes, crs="EPSG:4547")
    frame.to_crs("EPSG:4326").to_file(layer, layer="blocks")  # the import reprojects it
    import_vector(city, layer, VectorOptions(layer="blocks", id_field="ref"))
    codes = object_codes(city)
    # the last lies in the province, outside the city
    assert [codes[f"blocks:{ref}"] for ref in "sex"] == [SOUTH, EAST, PROVINCE]


def test_an_ifc_import_assigns_every_element(city: CityStore, tmp_path: Path) -> None:
    store_set(city, tree())
    hall = write_demo_building(BuildingSpec("Hall", X0 + 1300, Y0 + 1300, storeys=2),
                               tmp_path / "hall.ifc")  # fmt: skip
    import_ifc(city, [hall])
    codes = object_codes(city)
    building = city.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    assert codes[building.id] == EAST
    elements = city.objects(building_id=building.id, scope=Scope.everything())
    assert len(elements) > 10 and {codes[e.id] for e in elements} == {EAST}
    assert set(codes.values()) == {EAST}  # the project, site and storeys too


def test_an_archived_version_keeps_its_jurisdiction(city: CityStore) -> None:
    store_set(city, tree())
    add(city, block("a", 500, 500))
    with city.transaction() as writer:
        writer.record_source("test", "", "", "synthetic", {})
    with city.transaction() as writer:
        writer.archive_source("test", "test-2")
    conn = sqlite3.connect(f"file:{city.path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT object_id, jurisdiction FROM object_history").fetchall()
    finally:
        conn.close()
    assert rows == [("a", SOUTH)]
