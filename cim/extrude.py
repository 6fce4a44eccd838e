"""Prisms from footprints: the geometry of LOD1 blocks."""

from __future__ import annotations

import numpy as np
import shapely
import trimesh
from shapely.geometry import Polygon

from cim.model import Material, MeshPart

SIMPLIFY_METRES = 0.05
MIN_AREA = 0.01


def prisms(footprint: shapely.Geometry | None, low: float, high: float) -> list[trimesh.Trimesh]:
    """Closed prisms of every polygon of ``footprint`` between heights ``low`` and ``high``."""
    if footprint is None or footprint.is_empty or not high > low:
        return []
    cleaned = shapely.make_valid(footprint.simplify(SIMPLIFY_METRES)).buffer(0)
    polygons = [g for g in getattr(cleaned, "geoms", [cleaned]) if isinstance(g, Polygon)]
    meshes = []
    for polygon in polygons:
        if polygon.area < MIN_AREA:
            continue
        prism = trimesh.creation.extrude_polygon(polygon, high - low)
        prism.apply_translation((0.0, 0.0, low))
        meshes.append(prism)
    return meshes


def merge(meshes: list[trimesh.Trimesh], material: Material) -> MeshPart | None:
    """One mesh part of one material from several meshes, or None when there are none."""
    if not meshes:
        return None
    vertices = np.concatenate([m.vertices for m in meshes])
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    faces = np.concatenate([m.faces + offset for m, offset in zip(meshes, offsets, strict=True)])
    return MeshPart(material, vertices, faces)


def block(
    footprint: shapely.Geometry | None, low: float, high: float, material: Material
) -> MeshPart | None:
    """The footprint extruded from ``low`` to ``high``, or None when it has no area."""
    return merge(prisms(footprint, low, high), material)
