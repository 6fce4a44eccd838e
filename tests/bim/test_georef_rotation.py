"""A user origin's rotation turns the stored model about its origin."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bim.errors import GeoreferenceError
from bim.georef import UserOrigin, resolve
from bim.importer import ImportOptions, import_ifc
from bim.reader import open_ifc
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import LOCAL_CRS, LOCAL_ORIGIN, OPEN_HOUSE, make_city


def stored_vertices(store: CityStore) -> dict[str, np.ndarray]:
    """Every stored mesh's vertices by object id."""
    ids = [o.id for o in store.objects(scope=Scope.everything())]
    meshes = store.meshes(ids, scope=Scope.everything())
    return {i: np.concatenate([p.vertices for p in parts]) for i, parts in meshes.items() if parts}


def test_the_rotation_turns_the_model_axes_counter_clockwise(ifc_dir: Path) -> None:
    model = open_ifc(ifc_dir / OPEN_HOUSE)
    georef = resolve(model, UserOrigin(LOCAL_CRS, LOCAL_ORIGIN, 90.0))
    assert georef.to_dict()["rotation_deg"] == pytest.approx(90.0)
    x, y, z = georef.to_city(np.array([[2.0, 0.0, 1.0]]), LOCAL_CRS)[0]
    assert (x, y, z) == pytest.approx(
        (LOCAL_ORIGIN[0], LOCAL_ORIGIN[1] + 2.0, LOCAL_ORIGIN[2] + 1.0)
    )


def test_a_rotated_import_stores_the_model_turned_about_its_origin(
    ifc_dir: Path, tmp_path: Path
) -> None:
    straight = make_city(tmp_path, name="straight")
    turned = make_city(tmp_path, name="turned")
    import_ifc(straight, ifc_dir / OPEN_HOUSE, ImportOptions(UserOrigin(LOCAL_CRS, LOCAL_ORIGIN)))
    report = import_ifc(
        turned, ifc_dir / OPEN_HOUSE, ImportOptions(UserOrigin(LOCAL_CRS, LOCAL_ORIGIN, 30.0))
    )
    assert report.georeference["rotation_deg"] == pytest.approx(30.0)
    before, after = stored_vertices(straight), stored_vertices(turned)
    assert before.keys() == after.keys() and before
    cos, sin = math.cos(math.radians(30.0)), math.sin(math.radians(30.0))
    for object_id, points in before.items():
        dx, dy = points[:, 0] - LOCAL_ORIGIN[0], points[:, 1] - LOCAL_ORIGIN[1]
        expected = np.column_stack([
            LOCAL_ORIGIN[0] + dx * cos - dy * sin,
            LOCAL_ORIGIN[1] + dx * sin + dy * cos,
            points[:, 2],
        ])  # fmt: skip
        np.testing.assert_allclose(after[object_id], expected, atol=1e-6, err_msg=object_id)
    straight.close()
    turned.close()


def test_a_rotation_that_is_not_finite_is_refused(ifc_dir: Path) -> None:
    model = open_ifc(ifc_dir / OPEN_HOUSE)
    with pytest.raises(GeoreferenceError, match="rotation"):
        resolve(model, UserOrigin(LOCAL_CRS, LOCAL_ORIGIN, math.nan))
