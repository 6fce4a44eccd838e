"""City-scale levels of detail of a building, derived from what its elements occupy.

LOD1 is the building footprint extruded from its lowest to its highest point. The
LOD2-like shell stacks one prism per storey (that storey's footprint between its lowest
and highest point), so setbacks and podiums show, without roof shapes.

Prisms are closed and wound outwards: caps from GEOS's constrained Delaunay triangulation
of the polygon (no vertex added, holes kept), walls from each ring's edges, the vertices
shared between them. No mesh library is imported: an import pays no start-up for it.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from cim.model import FloatArray, IndexArray, Material, MeshPart

LOD1_MATERIAL = Material("lod1", (0.82, 0.82, 0.80, 1.0))
LOD2_MATERIAL = Material("lod2", (0.86, 0.84, 0.80, 1.0))
SIMPLIFY_METRES = 0.05
MIN_AREA = 0.01  # m²

Mesh = tuple[FloatArray, IndexArray]


def block(footprint: shapely.Geometry | None, low: float, high: float) -> MeshPart | None:
    """The footprint extruded from ``low`` to ``high`` (LOD1), or None without area."""
    return _merge(prisms(footprint, low, high), LOD1_MATERIAL)


def stepped_shell(storeys: list[tuple[shapely.Geometry | None, float, float]]) -> MeshPart | None:
    """One prism per storey ``(footprint, low, high)``, merged (LOD2-like), or None."""
    meshes = [mesh for footprint, low, high in storeys for mesh in prisms(footprint, low, high)]
    return _merge(meshes, LOD2_MATERIAL)


def prisms(footprint: shapely.Geometry | None, low: float, high: float) -> list[Mesh]:
    """Closed prisms of every polygon of ``footprint`` (simplified) between two heights."""
    if footprint is None or footprint.is_empty or not high > low:
        return []
    cleaned = shapely.make_valid(footprint.simplify(SIMPLIFY_METRES)).buffer(0)
    polygons = [g for g in getattr(cleaned, "geoms", [cleaned]) if isinstance(g, Polygon)]
    return [_prism(p, low, high) for p in polygons if p.area >= MIN_AREA]


def _prism(polygon: Polygon, low: float, high: float) -> Mesh:
    polygon = orient(polygon, 1.0)  # exterior counter-clockwise, holes clockwise
    rings = [np.asarray(r.coords)[:-1] for r in (polygon.exterior, *polygon.interiors)]
    xy = np.concatenate(rings)
    count = len(xy)
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(xy)}
    starts = np.cumsum([0] + [len(r) for r in rings[:-1]])
    walls = []
    for start, ring in zip(starts, rings, strict=True):
        here = start + np.arange(len(ring))
        after = start + (np.arange(len(ring)) + 1) % len(ring)
        walls += [np.stack([here, after, after + count], axis=1),
                  np.stack([here, after + count, here + count], axis=1)]  # fmt: skip
    triangles = shapely.get_coordinates(
        list(shapely.constrained_delaunay_triangles(polygon).geoms)
    ).reshape(-1, 4, 2)[:, :3]
    corners = np.array([[index[(float(x), float(y))] for x, y in t] for t in triangles])
    edge_a, edge_b = triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    clockwise = edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0] < 0
    corners[clockwise] = corners[clockwise][:, ::-1]
    faces = np.concatenate([*walls, corners + count, corners[:, ::-1]]).astype(np.uint32)
    vertices = np.concatenate([np.column_stack([xy, np.full(count, low)]),
                               np.column_stack([xy, np.full(count, high)])])  # fmt: skip
    return vertices, faces


def _merge(meshes: list[Mesh], material: Material) -> MeshPart | None:
    if not meshes:
        return None
    offsets = np.cumsum([0] + [len(v) for v, _ in meshes[:-1]])
    vertices = np.concatenate([v for v, _ in meshes])
    faces = np.concatenate([f + offset for (_, f), offset in zip(meshes, offsets, strict=True)])
    return MeshPart(material, vertices, faces.astype(np.uint32))
