"""2D footprints of triangle meshes."""

from __future__ import annotations

import numpy as np
import shapely

from cim.model import FloatArray, IndexArray

MAX_TRIANGLES_FOR_UNION = 20_000
MIN_TRIANGLE_AREA = 1e-6


def footprint_of(points: FloatArray, faces: IndexArray) -> shapely.Geometry | None:
    """The union of the triangles projected on the ground plane, or None if it has no area.

    Meshes above :data:`MAX_TRIANGLES_FOR_UNION` triangles get their convex hull instead,
    so a footprint never costs more than a bounded union.
    """
    if len(faces) == 0:
        return None
    corners = points[faces][:, :, :2]
    if len(faces) > MAX_TRIANGLES_FOR_UNION:
        hull = shapely.MultiPoint(corners.reshape(-1, 2)).convex_hull
        return hull if hull.area > 0 else None
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    areas = 0.5 * np.abs(edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0])
    corners = corners[areas > MIN_TRIANGLE_AREA]
    if len(corners) == 0:
        return None
    rings = np.concatenate([corners, corners[:, :1]], axis=1)
    union = shapely.union_all(shapely.polygons(rings))
    return None if union.is_empty else union.simplify(0.005)
