"""Mapped items, multi-body elements, revolved solids and clippings come out right."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import trimesh

from cim.scope import Scope
from tests.conftest import ImportedCity


def _body_items(entity: object) -> list[object]:
    representation = entity.Representation  # type: ignore[attr-defined]
    return [
        item
        for rep in representation.Representations
        if rep.RepresentationIdentifier == "Body"
        for item in rep.Items
    ]


def test_mapped_items_are_placed_per_instance(revit_city: ImportedCity) -> None:
    store, model = revit_city.store, revit_city.model
    by_map = defaultdict(list)
    for product in model.by_type("IfcColumn"):
        for item in _body_items(product):
            if item.is_a("IfcMappedItem"):
                by_map[item.MappingSource.id()].append(product.GlobalId)
    shared = max(by_map.values(), key=len)
    assert len(shared) > 2, "the Revit sample instances columns through IfcMappedItem"
    meshes = store.meshes(shared, scope=Scope.everything())
    assert set(meshes) == set(shared)  # every instance has its mesh
    counts = {sum(len(p.faces) for p in meshes[guid]) for guid in shared}
    centres = {tuple(np.round(np.mean([p.vertices.mean(axis=0) for p in meshes[g]], axis=0), 2))
               for g in shared}  # fmt: skip
    assert len(counts) == 1 and len(centres) == len(shared)  # same shape, own place


def test_multi_body_elements_keep_every_body(fzk_city: ImportedCity) -> None:
    store, model = fzk_city.store, fzk_city.model
    multi = [p for p in model.by_type("IfcProduct")
             if p.Representation and len(_body_items(p)) > 1
             and not p.is_a("IfcOpeningElement")]  # fmt: skip
    assert len(multi) > 5  # doors, windows, railings, the stair, the terrain
    meshes = store.meshes([p.GlobalId for p in multi], scope=Scope.everything())
    assert set(meshes) == {p.GlobalId for p in multi}
    for product in multi:  # each closed body contributes at least a tetrahedron
        triangles = sum(len(part.faces) for part in meshes[product.GlobalId])
        assert triangles >= 4 * len(_body_items(product)), product.GlobalId


def test_revolved_and_clipped_solids_are_closed(tekla_city: ImportedCity) -> None:
    store, model = tekla_city.store, tekla_city.model
    revolved = {
        product.GlobalId
        for product in model.by_type("IfcProduct")
        if product.Representation
        and any(i.is_a("IfcRevolvedAreaSolid") for i in model.traverse(product.Representation))
    }
    assert revolved
    for guid, parts in store.meshes(revolved, scope=Scope.everything()).items():
        vertices = np.concatenate([p.vertices for p in parts])
        offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
        faces = np.concatenate([p.faces + o for p, o in zip(parts, offsets, strict=True)])
        mesh = trimesh.Trimesh(vertices - vertices.mean(axis=0), faces)
        assert mesh.volume > 0, guid
