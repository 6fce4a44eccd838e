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
    work, and cheaply (:func:`union_of_faces`). Other meshes union every triangle.

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
    triangles = shapely.polygons(rings)
    union = union_of_faces(triangles, faces[keep]) if closed else shapely.union_all(triangles)
    if union.is_empty:
        return None
    # Normal form first: the simplified outline then depends on the geometry alone, not on
    # the order of the triangles or of the union's rings (where the simplification starts).
    return shapely.normalize(union).simplify(SIMPLIFY_TOLERANCE)


def union_of_faces(triangles: np.ndarray, faces: IndexArray) -> shapely.Geometry:
    """The union of projected triangles that face one way, from a closed oriented mesh.

    Such triangles that share an edge lie on either side of it, so each set of them
    joined by edges (a surface patch) usually covers the plane once: a coverage, which
    GEOS dissolves by matching edges (``coverage_union``) at a fraction of the cost of a
    general union. A patch's dissolved outline is kept only when it is valid and has the
    area of its triangles, which a patch overlapping itself cannot have; the outlines of
    the patches (of a beam, its top flange and its lower flange) are then unioned, in a
    fixed order. A patch that fails the check sends the whole set to the general union.
    """
    whole = _coverage_union(triangles)
    if whole is not None:
        return whole
    patches = _patches(faces)
    outlines = []
    for patch in range(int(patches.max()) + 1):
        outline = _coverage_union(triangles[patches == patch])
        if outline is None:
            return shapely.union_all(triangles)
        outlines.append(shapely.normalize(outline))
    outlines.sort(key=lambda outline: outline.wkb)
    return shapely.union_all(outlines)


def _coverage_union(triangles: np.ndarray) -> shapely.Geometry | None:
    """The union of ``triangles`` if they form a coverage (no overlap, matching edges)."""
    try:
        union = shapely.coverage_union_all(triangles)
    except shapely.errors.GEOSException:
        return None
    total = float(shapely.area(triangles).sum())
    if not union.is_valid or abs(union.area - total) > 1e-9 * total:
        return None
    return union


def _patches(faces: IndexArray) -> np.ndarray:
    """A label per face: faces joined through shared edges, at any remove, share it."""
    count = len(faces)
    ends = np.sort(np.stack([faces, faces[:, [1, 2, 0]]], axis=2).reshape(-1, 2), axis=1)
    keys = ends[:, 0].astype(np.int64) << 32 | ends[:, 1]
    order = np.argsort(keys, kind="stable")
    shared = np.nonzero(keys[order][1:] == keys[order][:-1])[0]
    first, second = order[shared] // 3, order[shared + 1] // 3
    labels = np.arange(count)
    while True:  # hook each root to the lowest root it touches, then flatten the trees
        a, b = labels[first], labels[second]
        if np.array_equal(a, b):
            break
        np.minimum.at(labels, np.maximum(a, b), np.minimum(a, b))
        while not np.array_equal(labels[labels], labels):
            labels = labels[labels]
    return np.unique(labels, return_inverse=True)[1]


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
