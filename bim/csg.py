"""Triangulating CSG primitives that the IfcOpenShell kernel leaves empty.

IfcOpenShell 0.8 and 0.9 map IfcBlock and IfcSphere but not IfcRightCircularCone or
IfcRightCircularCylinder (their mappings are stubs), so a body made of them yields no
shape whatever the iterator settings. This module tessellates the primitives of an
IfcCsgSolid tree (unions only) in the element's world placement, in metres.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ifcopenshell
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np

from bim.geometry import ElementShape
from bim.semantics import BODY_IDENTIFIERS
from cim.model import FloatArray, Material

if TYPE_CHECKING:
    import trimesh

CSG_MATERIAL = Material("csg-primitive", (0.75, 0.75, 0.75, 1.0))
SEGMENTS = 32


def tessellate_csg(entity: ifcopenshell.entity_instance) -> ElementShape | None:
    """Triangulate the CSG body of ``entity``, or None when it has none this module handles."""
    if entity.Representation is None or entity.ObjectPlacement is None:
        return None
    model = entity.file
    unit = float(ifcopenshell.util.unit.calculate_unit_scale(model))
    placement = ifcopenshell.util.placement.get_local_placement(entity.ObjectPlacement)
    meshes = [
        mesh
        for representation in entity.Representation.Representations
        if (representation.RepresentationIdentifier or "Body") in BODY_IDENTIFIERS
        for item in representation.Items
        for mesh in _item_meshes(item)
    ]
    if not meshes:
        return None
    import trimesh  # slow to import: only when a file has CSG primitives

    merged: Any = trimesh.util.concatenate(meshes)
    vertices = np.asarray(merged.vertices, dtype=np.float64)
    homogeneous = np.column_stack([vertices, np.ones(len(vertices))]) @ placement.T
    world = homogeneous[:, :3] * unit
    faces = np.asarray(merged.faces, dtype=np.uint32)
    return ElementShape(entity.GlobalId, entity.id(), world, [(CSG_MATERIAL, faces)])


def _item_meshes(item: ifcopenshell.entity_instance) -> Iterator[trimesh.Trimesh]:
    if item.is_a("IfcCsgSolid"):
        yield from _item_meshes(item.TreeRootExpression)
    elif item.is_a("IfcBooleanResult") and item.Operator == "UNION":
        yield from _item_meshes(item.FirstOperand)
        yield from _item_meshes(item.SecondOperand)
    elif item.is_a("IfcCsgPrimitive3D"):
        mesh = _primitive(item)
        if mesh is not None:
            mesh.apply_transform(_axis_matrix(item.Position))
            yield mesh


def _primitive(item: ifcopenshell.entity_instance) -> trimesh.Trimesh | None:
    """The primitive in its own frame (IFC's conventions: base on z = 0, along +z)."""
    import trimesh

    if item.is_a("IfcRightCircularCone") and item.Height > 0 and item.BottomRadius > 0:
        return trimesh.creation.cone(item.BottomRadius, item.Height, sections=SEGMENTS)
    if item.is_a("IfcRightCircularCylinder") and item.Height > 0 and item.Radius > 0:
        cylinder = trimesh.creation.cylinder(item.Radius, item.Height, sections=SEGMENTS)
        cylinder.apply_translation((0.0, 0.0, item.Height / 2))
        return cylinder
    if item.is_a("IfcBlock"):
        size = (item.XLength, item.YLength, item.ZLength)
        return trimesh.creation.box(size, _translation(np.asarray(size) / 2))
    if item.is_a("IfcSphere") and item.Radius > 0:
        return trimesh.creation.icosphere(subdivisions=3, radius=item.Radius)
    if item.is_a("IfcRectangularPyramid"):
        x, y, h = item.XLength, item.YLength, item.Height
        corners = [[0, 0, 0], [x, 0, 0], [x, y, 0], [0, y, 0], [x / 2, y / 2, h]]
        faces = [[0, 2, 1], [0, 3, 2], [0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]
        return trimesh.Trimesh(corners, faces, process=False)
    return None


def _translation(offset: FloatArray) -> FloatArray:
    matrix = np.eye(4)
    matrix[:3, 3] = offset
    return matrix


def _axis_matrix(position: ifcopenshell.entity_instance) -> FloatArray:
    return np.asarray(ifcopenshell.util.placement.get_axis2placement(position), dtype=np.float64)
