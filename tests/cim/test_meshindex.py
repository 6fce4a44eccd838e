"""The tiler's index: a BIM building's objects make one unit, other objects one each."""

from __future__ import annotations

from pathlib import Path

from cim.meshindex import MeshIndex
from cim.model import CityObject
from tests.conftest import box_mesh, make_city


def test_a_building_is_one_unit_named_by_its_first_object(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    buildings = ["tower", "podium", "tower", None, "podium", None]
    with store.transaction() as writer:
        for index, building in enumerate(buildings):
            writer.add_object(CityObject(id=f"wall-{index}", cls="IfcWall", source="synthetic",
                                         building_id=building))  # fmt: skip
            x = 430700.0 + 10.0 * index
            writer.add_mesh(f"wall-{index}", [box_mesh((x, 2557800.0, 0), (x + 5, 2557805.0, 3))])
    index, _ = MeshIndex.build(store, tmp_path / "index.sqlite", ())
    units = {}
    for unit in range(1, len(buildings) + 1):
        objects = index.unit_objects(unit)[0].tolist()
        if objects:
            units[unit] = (index.unit_building(unit), objects)
    count = index.unit_count()
    index.close()
    store.close()
    # object row ids follow the insertion order: tower 1 and 3, podium 2 and 5
    assert units == {1: ("tower", [1, 3]), 2: ("podium", [2, 5]), 4: (None, [4]), 6: (None, [6])}
    assert count == 4
