"""City-scale levels of detail of a building, derived from what its elements occupy.

LOD1 is the building footprint extruded from its lowest to its highest point. The
LOD2-like shell stacks one prism per storey (that storey's footprint between its lowest
and highest point), so setbacks and podiums show, without roof shapes.
"""

from __future__ import annotations

import numpy as np
import shapely
import trimesh
from shapely.geometry import Polygon

from cim.model import Material, MeshPart

LOD1_MATERIAL = Material("lod1", (0.82, 0.82, 0.80, 1.0))
LOD2_MATERIAL = Material("lod2", (0.86, 0.84, 0.80, 1.0))
SIMPLIFY_METRES = 0.05


def block(footprint: shapely.Geometry | None, low: float, high: float) -> MeshPart | None:
    """The footprint extruded from ``low`` to ``high`` (LOD1), or None without area."""
    meshes = _prisms(footprint, low, high)
    return _merge(meshes, LOD1_MATERIAL)


def stepped_shell(storeys: list[tuple[shapely.Geometry | None, float, float]]) -> MeshPart | None:
    """One prism per storey ``(footprint, low, high)``, merged (LOD2-like), or None."""
    meshes = [mesh for footprint, low, high in storeys for mesh in _prisms(footprint, low, high)]
    return _merge(meshes, LOD2_MATERIAL)


def _prisms(footprint: shapely.Geometry | None, low: float, high: float) -> list[trimesh.Trimesh]:
    if footprint is None or footprint.is_empty or not high > low:
        return []
    cleaned = shapely.make_valid(footprint.simplify(SIMPLIFY_METRES)).buffer(0)
    polygons = [g for g in getattr(cleaned, "geoms", [cleaned]) if isinstance(g, Polygon)]
    meshes = []
    for polygon in polygons:
        if polygon.area < 0.01:
            continue
        prism = trimesh.creation.extrude_polygon(polygon, high - low)
        prism.apply_translation((0.0, 0.0, low))
        meshes.append(prism)
    return meshes


def _merge(meshes: list[trimesh.Trimesh], material: Material) -> MeshPart | None:
    if not meshes:
        return None
    vertices = np.concatenate([m.vertices for m in meshes])
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    faces = np.concatenate([m.faces + offset for m, offset in zip(meshes, offsets, strict=True)])
    return MeshPart(material, vertices, faces)
