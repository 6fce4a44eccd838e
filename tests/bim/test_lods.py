"""LOD1 blocks and LOD2-like shells derived for each building."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from shapely.geometry import Polygon, box

from bim import lods
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.scope import Scope
from tests.conftest import make_city


def _volume(part: object) -> float:
    mesh = trimesh.Trimesh(part.vertices, part.faces)  # type: ignore[attr-defined]
    assert mesh.is_watertight
    return float(mesh.volume)


def test_block_is_the_extruded_footprint() -> None:
    l_shape = Polygon([(0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20)])
    part = lods.block(l_shape, 5.0, 17.0)
    assert part is not None
    assert _volume(part) == pytest.approx(l_shape.area * 12.0, rel=1e-6)
    assert part.vertices[:, 2].min() == 5.0 and part.vertices[:, 2].max() == 17.0


def test_shell_steps_back_with_the_storeys() -> None:
    podium, tower = box(0, 0, 40, 30), box(10, 10, 30, 20)
    part = lods.stepped_shell([(podium, 0.0, 4.0), (tower, 4.0, 40.0)])
    assert part is not None
    expected = podium.area * 4.0 + tower.area * 36.0
    mesh = trimesh.Trimesh(part.vertices, part.faces)
    assert mesh.volume == pytest.approx(expected, rel=1e-6)


def test_nothing_to_extrude() -> None:
    assert lods.block(None, 0.0, 3.0) is None
    assert lods.block(box(0, 0, 1, 1), 3.0, 3.0) is None
    assert lods.stepped_shell([]) is None


def test_import_stores_lods_for_each_building(tmp_path: Path) -> None:
    spec = BuildingSpec("Tower", 430760.0, 2557880.0, storeys=3, storey_height=3.5)
    store = make_city(tmp_path)
    import_ifc(store, write_demo_building(spec, tmp_path / "tower.ifc"))
    building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    block, shell = (
        store.lods("LOD1", scope=Scope.everything())[building.id],
        store.lods("LOD2", scope=Scope.everything())[building.id],
    )
    assert block.vertices[:, 2].min() == pytest.approx(building.base_height)
    assert block.vertices[:, 2].max() == pytest.approx(building.top_height)
    assert building.footprint is not None
    footprint_volume = building.footprint.area * (building.top_height - building.base_height)
    assert _volume(block) == pytest.approx(footprint_volume, rel=0.02)
    assert np.allclose(
        shell.vertices[:, :2].min(axis=0), block.vertices[:, :2].min(axis=0), atol=0.1
    )
    store.close()
