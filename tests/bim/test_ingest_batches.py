"""Objects and meshes written in batches: an id the city already has fails the import."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import pytest

from bim.importer import ImportOptions, import_ifc
from cim.errors import CimError
from cim.model import CityObject
from cim.scope import Scope
from tests.conftest import LOCAL_ORIGIN, OPEN_HOUSE, USER_ORIGIN, box_mesh, make_city


@pytest.mark.parametrize("with_mesh", [True, False])
def test_an_element_whose_id_the_city_has_fails_the_import(
    ifc_dir: Path, tmp_path: Path, with_mesh: bool
) -> None:
    store = make_city(tmp_path)
    wall = ifcopenshell.open(str(ifc_dir / OPEN_HOUSE)).by_type("IfcWall")[0]
    x, y, z = LOCAL_ORIGIN
    with store.transaction() as writer:
        writer.add_object(CityObject(id=wall.GlobalId, cls="IfcWall", name="", source="other"))
        if with_mesh:
            writer.add_mesh(wall.GlobalId, [box_mesh((x, y, z), (x + 1, y + 1, z + 1))])
        writer.record_source("other", "", "", "synthetic", {"objects": 1})
    before = store.meshes([wall.GlobalId], scope=Scope.everything())

    message = f"object {wall.GlobalId} \\({wall.is_a()}\\) already exists, from source other"
    with pytest.raises(CimError, match=message):
        import_ifc(store, ifc_dir / OPEN_HOUSE, ImportOptions(user_origin=USER_ORIGIN))

    assert [o.source for o in store.objects(scope=Scope.everything())] == ["other"]
    after = store.meshes([wall.GlobalId], scope=Scope.everything())
    assert {k: [p.vertices.tobytes() for p in v] for k, v in after.items()} == {
        k: [p.vertices.tobytes() for p in v] for k, v in before.items()
    }
    assert [s["source"] for s in store.sources(scope=Scope.everything())] == ["other"]
    store.close()
