"""City-scale levels of detail of a building, derived from what its elements occupy.

LOD1 is the building footprint extruded from its lowest to its highest point. The
LOD2-like shell stacks one prism per storey (that storey's footprint between its lowest
and highest point), so setbacks and podiums show, without roof shapes.
"""

from __future__ import annotations

import shapely

from cim.extrude import merge, prisms
from cim.model import Material, MeshPart

LOD1_MATERIAL = Material("lod1", (0.82, 0.82, 0.80, 1.0))
LOD2_MATERIAL = Material("lod2", (0.86, 0.84, 0.80, 1.0))


def block(footprint: shapely.Geometry | None, low: float, high: float) -> MeshPart | None:
    """The footprint extruded from ``low`` to ``high`` (LOD1), or None without area."""
    return merge(prisms(footprint, low, high), LOD1_MATERIAL)


def stepped_shell(storeys: list[tuple[shapely.Geometry | None, float, float]]) -> MeshPart | None:
    """One prism per storey ``(footprint, low, high)``, merged (LOD2-like), or None."""
    meshes = [mesh for footprint, low, high in storeys for mesh in prisms(footprint, low, high)]
    return merge(meshes, LOD2_MATERIAL)
