"""The fast kernel with the reference kernel behind it: the same geometry as the reference.

Every element meshed by the default path (fast kernel, reference where it fails or
differs) has the area, volume, bounds and closedness of the reference kernel's mesh, and
walls keep their openings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import pytest

import bim.geometry
from bim.errors import BimError
from bim.footprint import is_closed_and_oriented
from bim.geometry import (
    DEFAULT_KERNEL,
    GEOMETRY_PROCESS_ENV,
    OPEN,
    REFERENCE_KERNEL,
    ElementShape,
    differs,
    iterate_shapes,
    kind_of,
    measures,
    planned_products,
)
from bim.importer import ImportOptions, import_ifc
from cim.scope import Scope
from tests.conftest import FZK, OPEN_HOUSE, REVIT, TEKLA, USER_ORIGIN, make_city

Shapes = dict[str, ElementShape]


def _reference(
    model: ifcopenshell.file, products: Sequence[ifcopenshell.entity_instance]
) -> Shapes:
    return {s.guid: s for s in bim.geometry._run(model, products, REFERENCE_KERNEL, 1)}


def _closed(shape: ElementShape) -> bool:
    return is_closed_and_oriented(np.concatenate([faces for _, faces in shape.parts]))


def _assert_equivalent(ours: Shapes, reference: Shapes) -> None:
    assert ours.keys() == reference.keys()
    for guid, shape in ours.items():
        assert differs(shape, reference[guid]) is None, guid
        assert _closed(shape) == _closed(reference[guid]), guid


@pytest.mark.parametrize("name", [REVIT, FZK, OPEN_HOUSE])
def test_default_path_gives_the_reference_geometry(ifc_dir: Path, name: str) -> None:
    model = ifcopenshell.open(str(ifc_dir / name))
    ours = {s.guid: s for s in iterate_shapes(model, workers=2)}
    reference = _reference(model, planned_products(model))
    _assert_equivalent(ours, reference)
    areas = [sum(measures(s)[0] for s in shapes.values()) for shapes in (ours, reference)]
    assert areas[0] == pytest.approx(areas[1], rel=0.005)


def test_tekla_members_match_the_reference(ifc_dir: Path) -> None:
    """A slice of the carwash: every kind of member, the CSG tubes the fast kernel hands over."""
    model = ifcopenshell.open(str(ifc_dir / TEKLA))
    products = planned_products(model)
    kinds: dict[tuple[str, str], list[ifcopenshell.entity_instance]] = {}
    for product in products:
        kinds.setdefault(kind_of(product), []).append(product)
    chosen = [p for members in kinds.values() for p in members[:6]]
    ours = {s.guid: s for s in bim.geometry._work(model, chosen, _job(DEFAULT_KERNEL))}
    _assert_equivalent(ours, _reference(model, chosen))


def test_walls_keep_their_openings(ifc_dir: Path) -> None:
    model = ifcopenshell.open(str(ifc_dir / FZK))
    walls: list[ifcopenshell.entity_instance] = [
        w
        for w in model.by_type("IfcWall")
        if isinstance(w, ifcopenshell.entity_instance) and w.HasOpenings
    ]
    assert len(walls) >= 4
    ours = {s.guid: s for s in bim.geometry._work(model, walls, _job(DEFAULT_KERNEL))}
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("disable-opening-subtractions", True)
    solid = {}
    iterator = ifcopenshell.geom.iterator(settings, model, 1, include=walls)
    assert iterator.initialize()
    while True:
        shape = bim.geometry._to_element_shape(iterator.get())
        assert shape is not None
        solid[shape.guid] = abs(measures(shape)[1])
        if not iterator.next():
            break
    for wall in walls:
        assert abs(measures(ours[wall.GlobalId])[1]) < solid[wall.GlobalId] - 0.1  # m³ cut out


def test_what_the_first_kernel_cannot_mesh_comes_from_the_reference(
    ifc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cgal-simple leaves FZK walls with openings empty or out: the reference meshes them."""
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "0")
    model = ifcopenshell.open(str(ifc_dir / FZK))
    alone = {s.guid for s in iterate_shapes(model, "cgal-simple", fallback=None)}
    ours = {s.guid: s for s in iterate_shapes(model, "cgal-simple")}
    reference = _reference(model, planned_products(model))
    assert len(alone) < len(reference)
    _assert_equivalent(ours, reference)
    handed = {guid for guid, s in ours.items() if s.kernel == REFERENCE_KERNEL}
    assert handed == reference.keys() - alone
    assert all("cgal-simple gave no" in str(ours[guid].fallback) for guid in handed)


def test_a_kind_that_differs_on_the_sample_goes_to_the_reference(
    ifc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ifcopenshell.open(str(ifc_dir / REVIT))
    products = planned_products(model)
    distorted = max({kind_of(p) for p in products}, key=lambda k: _count(products, k))
    real_run = bim.geometry._run

    def run(model: ifcopenshell.file, chosen: Sequence[ifcopenshell.entity_instance],
            kernel: str, threads: int) -> Iterator[ElementShape]:  # fmt: skip
        for shape in real_run(model, chosen, kernel, threads):
            if kernel == DEFAULT_KERNEL and kind_of(_entity(model, shape.step_id)) == distorted:
                shape = replace(shape, vertices=shape.vertices * 1.5)
            yield shape

    monkeypatch.setattr(bim.geometry, "_run", run)
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "1")
    shapes = list(iterate_shapes(model, workers=2))
    of_kind = [s for s in shapes if kind_of(_entity(model, s.step_id)) == distorted]
    assert len(of_kind) == _count(products, distorted) > 1
    assert all(s.kernel == REFERENCE_KERNEL for s in of_kind)
    assert sum("differs from opencascade: " in str(s.fallback) for s in of_kind) == 1
    others = [s for s in shapes if s not in of_kind]
    assert others and all(s.kernel == DEFAULT_KERNEL and s.fallback is None for s in others)


def test_an_open_solid_is_meshed_again_and_the_closed_mesh_kept(
    ifc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GEOMETRY_PROCESS_ENV, "0")
    model = ifcopenshell.open(str(ifc_dir / OPEN_HOUSE))
    reference = _reference(model, planned_products(model))
    victim = next(
        guid for guid, shape in reference.items()
        if _closed(shape) and len(shape.parts[0][1]) > 4
        and kind_of(_entity(model, shape.step_id))[1] in bim.geometry.SOLID_TYPES
    )  # fmt: skip
    real_run = bim.geometry._run

    def run(model: ifcopenshell.file, chosen: Sequence[ifcopenshell.entity_instance],
            kernel: str, threads: int) -> Iterator[ElementShape]:  # fmt: skip
        for shape in real_run(model, chosen, kernel, threads):
            if kernel == DEFAULT_KERNEL and shape.guid == victim:
                material, faces = shape.parts[0]
                shape = replace(shape, parts=[(material, faces[1:]), *shape.parts[1:]])
            yield shape

    monkeypatch.setattr(bim.geometry, "_run", run)
    monkeypatch.setattr(bim.geometry, "_sample", lambda products: [])
    shapes = {s.guid: s for s in iterate_shapes(model)}
    assert shapes[victim].kernel == REFERENCE_KERNEL and shapes[victim].fallback == OPEN
    assert _closed(shapes[victim])
    assert sum(s.fallback is not None for s in shapes.values()) == 1


def test_differs_tolerates_segmentation_but_not_a_change_of_size() -> None:
    box = _box(1.0)
    assert differs(box, _box(1.0)) is None
    assert differs(box, _box(1.001)) is None
    assert "area" in str(differs(box, _box(1.2)))
    shifted = replace(box, vertices=box.vertices + np.array([0.2, 0.0, 0.0]))
    assert "bounds" in str(differs(box, shifted))


def test_an_unknown_kernel_is_refused(ifc_dir: Path) -> None:
    model = ifcopenshell.open(str(ifc_dir / OPEN_HOUSE))
    with pytest.raises(BimError, match="unknown geometry kernel 'occ'"):
        list(iterate_shapes(model, "occ"))


def _entity(model: ifcopenshell.file, step_id: int) -> ifcopenshell.entity_instance:
    entity = model.by_id(step_id)
    assert isinstance(entity, ifcopenshell.entity_instance)
    return entity


def _job(kernel: str) -> bim.geometry._Job:
    return bim.geometry._Job(kernel, REFERENCE_KERNEL, 1)


def _count(products: Sequence[ifcopenshell.entity_instance], kind: tuple[str, str]) -> int:
    return sum(1 for p in products if kind_of(p) == kind and bim.geometry.has_body(p))


def _box(size: float) -> ElementShape:
    corners = np.array([[x, y, z] for x in (0, size) for y in (0, size) for z in (0, size)])
    faces = np.array(
        [[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
         [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]],
        dtype=np.uint32,
    )  # fmt: skip
    from cim.model import Material

    return ElementShape("box", 1, corners.astype(float), [(Material("m"), faces)])


def test_an_import_with_an_unknown_kernel_stores_nothing(ifc_dir: Path, tmp_path: Path) -> None:
    store = make_city(tmp_path)
    options = ImportOptions(user_origin=USER_ORIGIN, fallback_kernel="occt")
    with pytest.raises(BimError, match="unknown geometry kernel 'occt'"):
        import_ifc(store, ifc_dir / OPEN_HOUSE, options)
    assert store.sources(scope=Scope.everything()) == []
    store.close()
