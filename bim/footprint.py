"""2D footprints of triangle meshes."""

from __future__ import annotations

import numpy as np
import shapely

from cim.model import FloatArray, IndexArray

MAX_TRIANGLES_FOR_UNION = 20_000
MIN_TRIANGLE_AREA = 1e-6
SIMPLIFY_TOLERANCE = 0.005


def footprint_of(
    points: FloatArray, faces: IndexArray, closed: bool | None = None
) -> shapely.Geometry | None:
    """The union of the triangles projected on the ground plane, or None if it has no area.

    A closed mesh whose faces all wind the same way bounds a solid, and every vertical
    line through that solid crosses it upwards as often as downwards: the triangles
    facing up cover the footprint on their own, and so do those facing down. Only the
    smaller of the two sets is then unioned, which gives the same area for about half the
    work. Other meshes union every triangle.

    The union is simplified within :data:`SIMPLIFY_TOLERANCE`. Meshes above
    :data:`MAX_TRIANGLES_FOR_UNION` triangles get their convex hull instead, so a
    footprint never costs more than a bounded union. ``closed`` is
    :func:`is_closed_and_oriented` of ``faces`` when the caller knows it already.
    """
    if len(faces) == 0:
        return None
    corners = points[faces][:, :, :2]
    if len(faces) > MAX_TRIANGLES_FOR_UNION:
        hull = shapely.MultiPoint(corners.reshape(-1, 2)).convex_hull
        return hull if hull.area > 0 else None
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    signed = 0.5 * (edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0])
    keep = np.abs(signed) > MIN_TRIANGLE_AREA
    if closed is None:
        closed = is_closed_and_oriented(faces)
    if closed:
        up, down = keep & (signed > 0), keep & (signed < 0)
        keep = up if np.count_nonzero(up) <= np.count_nonzero(down) else down
    corners = corners[keep]
    if len(corners) == 0:
        return None
    rings = np.concatenate([corners, corners[:, :1]], axis=1)
    union = shapely.union_all(shapely.polygons(rings))
    if union.is_empty:
        return None
    # Normal form first: the simplified outline then depends on the geometry alone, not on
    # the order of the triangles or of the union's rings (where the simplification starts).
    return shapely.normalize(union).simplify(SIMPLIFY_TOLERANCE)


def is_closed_and_oriented(faces: IndexArray) -> bool:
    """Whether every edge is shared by exactly two triangles that run it in opposite directions.

    Such a mesh is closed (watertight by vertex index) and consistently wound, so it bounds
    a solid. A directed edge used twice (a duplicated or flipped face, or more than two
    faces on one edge) or an edge without its reverse (a border, a crack) fails the test.
    """
    if len(faces) == 0:
        return False
    tails = faces.astype(np.int64)
    heads = tails[:, [1, 2, 0]]
    edges = np.sort((tails << 32 | heads).ravel())
    if np.any(edges[1:] == edges[:-1]):
        return False
    reverse = (heads << 32 | tails).ravel()
    found = np.searchsorted(edges, reverse)
    found[found == len(edges)] = 0
    return bool(np.array_equal(edges[found], reverse))
