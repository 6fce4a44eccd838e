"""Search as a planner uses it: buildings first, Chinese names found by pinyin, addresses
split over fields, each hit named by its building and storey."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import box

from cim import search
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city

EVERYTHING = Scope.everything()
# (id, class, name, building, storey, attributes)
OBJECTS = [
    ("bim-stadium", "IfcBuilding", "天河体育中心", "bim-stadium", None, {}),
    ("bim-stadium-f1", "IfcBuildingStorey", "首层", "bim-stadium", "bim-stadium-f1", {}),
    ("room-1", "IfcSpace", "Library reading room", "bim-stadium", "bim-stadium-f1", {}),
    ("wall-1", "IfcWall", "Library wall", "bim-stadium", "bim-stadium-f1", {}),
    ("wall-2", "IfcWall", "天河外墙", "bim-stadium", "bim-stadium-f1", {}),
    ("gis:library", "building", "Central Library", None, None,
     {"addr:street": "珠江东路", "addr:housenumber": "4号"}),
    ("gis:cq", "building", "重庆大厦", None, None, {"addr:street": "体育西路 8号"}),
    ("roads:1", "road", "天河路", None, None, {}),
]  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = make_city(tmp_path_factory.mktemp("search"))
    with store.transaction() as writer:
        for index, (object_id, cls, name, building, storey, attributes) in enumerate(OBJECTS):
            footprint = box(430_000 + 30 * index, 2_557_000, 430_020 + 30 * index, 2_557_020)
            writer.add_object(CityObject(object_id, cls, name, attributes=attributes,
                                         footprint=footprint, base_height=0.0, top_height=9.0,
                                         building_id=building, storey_id=storey))  # fmt: skip
        writer.record_source("search", "", "", "synthetic", {})
    store.close()
    return store.city_dir


def found(city: Path, text: str) -> list[search.Hit]:
    with CityStore.open(city) as store:
        return search.search(store, text, 20, scope=EVERYTHING)


def test_buildings_come_before_spaces_and_elements(city: Path) -> None:
    hits = found(city, "library")
    # the space's and the wall's names start with the text, the building's only holds it
    assert [h.id for h in hits] == ["gis:library", "room-1", "wall-1"]
    assert found(city, "wall-1")[0].id == "wall-1"  # an exact id is always first
    chinese = found(city, "天河")
    assert [h.id for h in chinese] == ["bim-stadium", "roads:1", "wall-2"]


@pytest.mark.parametrize(
    ("text", "first", "match"),
    [
        ("tianhetiyu", "bim-stadium", "pinyin"),
        ("Tian He Ti Yu", "bim-stadium", "pinyin"),
        ("thty", "bim-stadium", "pinyin"),
        ("tiyuzhongxin", "bim-stadium", "pinyin"),
        ("chongqing", "gis:cq", "pinyin"),  # 重 read chong in 重庆, not zhong
        ("tianhelu", "roads:1", "pinyin"),
    ],
)
def test_chinese_names_are_found_by_their_pinyin(
    city: Path, text: str, first: str, match: str
) -> None:
    hits = found(city, text)
    assert (hits[0].id, hits[0].match) == (first, match)


def test_pinyin_finds_places_not_parts_of_buildings_nor_syllable_fragments(city: Path) -> None:
    assert "wall-2" not in {h.id for h in found(city, "tianhe")}  # 天河外墙 is a wall
    assert {h.id for h in found(city, "tianhe")} == {"bim-stadium", "roads:1"}
    assert found(city, "ianhe") == []  # not at a syllable's start
    assert found(city, "tx") == []


def test_addresses_are_found_whole_or_split_over_fields(city: Path) -> None:
    hit = found(city, "珠江东路4号")[0]
    assert (hit.id, hit.match, hit.address) == ("gis:library", "address", "珠江东路 4号")
    by_street = found(city, "体育西路")[0]
    assert (by_street.id, by_street.address) == ("gis:cq", "体育西路 8号")


def test_hits_are_named_by_their_building_and_storey(city: Path) -> None:
    room = next(h for h in found(city, "reading room") if h.id == "room-1")
    assert (room.building_name, room.storey_name) == ("天河体育中心", "首层")
    storey = found(city, "首层")[0]
    assert (storey.building_name, storey.storey_name) == ("天河体育中心", None)
    assert found(city, "重庆大厦")[0].building_name is None


def test_pinyin_readings_mark_syllable_starts() -> None:
    assert search.pinyin_readings("天河路 101号") == (
        ("tianhelu101hao", (0, 4, 6, 8, 11)),
        ("thl101h", (0, 1, 2, 3, 6)),
    )
