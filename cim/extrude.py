"""Prisms from footprints: the geometry of LOD1 blocks.

:func:`extrude_footprints` extrudes many footprints at once (numpy over every ring, one
earcut call per polygon for the caps) into :class:`cim.writer.PackedMeshes`; :func:`block`
extrudes one footprint through trimesh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import mapbox_earcut
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

from cim.model import FloatArray, Material, MeshPart
from cim.writer import PackedMeshes

if TYPE_CHECKING:
    import trimesh

SIMPLIFY_METRES = 0.05
MIN_AREA = 0.01
_TURN_TOLERANCE = 1e-6  # square metres: collinear within rounding


def prisms(footprint: shapely.Geometry | None, low: float, high: float) -> list[trimesh.Trimesh]:
    """Closed prisms of every polygon of ``footprint`` between heights ``low`` and ``high``."""
    if footprint is None or footprint.is_empty or not high > low:
        return []
    cleaned = shapely.make_valid(footprint.simplify(SIMPLIFY_METRES)).buffer(0)
    polygons = [g for g in getattr(cleaned, "geoms", [cleaned]) if isinstance(g, Polygon)]
    import trimesh  # only the one-footprint path needs it (slow to import)

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


def extrude_footprints(
    object_ids: Sequence[str],
    footprints: Sequence[Any] | npt.NDArray[np.object_],
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    material: Material,
) -> PackedMeshes:
    """Closed prisms of many footprints, each between its own ``low`` and ``high``.

    Each footprint is simplified by :data:`SIMPLIFY_METRES` and repaired like :func:`prisms`;
    polygons under :data:`MIN_AREA` are dropped (a footprint left with none gets no mesh).
    Walls face outwards, the roof up and the floor down, whatever the rings' orientation.
    """
    count = len(object_ids)
    bottoms = np.broadcast_to(np.asarray(low, dtype=np.float64), (count,))
    tops = np.broadcast_to(np.asarray(high, dtype=np.float64), (count,))
    geometries = np.empty(count, dtype=object)
    geometries[:] = list(footprints)
    geometries[~(tops > bottoms)] = None
    polygons, owner = _clean_polygons(geometries)
    rings, ring_polygon = shapely.get_rings(polygons, return_index=True)
    closed, closed_ring = shapely.get_coordinates(rings, return_index=True)
    ring_size = np.bincount(closed_ring, minlength=len(rings)) - 1  # open rings
    ring_start = np.concatenate([[0], np.cumsum(ring_size)])
    is_closing = np.zeros(len(closed), dtype=bool)
    is_closing[np.cumsum(ring_size + 1) - 1] = True
    xy, coord_ring = closed[~is_closing], closed_ring[~is_closing]
    coord_owner = owner[ring_polygon[coord_ring]]
    per_object = np.bincount(coord_owner, minlength=count)
    object_start = np.concatenate([[0], np.cumsum(per_object)])
    local = np.arange(len(xy)) - object_start[coord_owner]
    bottom = 2 * object_start[coord_owner] + local
    top = bottom + per_object[coord_owner]
    vertices = np.empty((2 * len(xy), 3))
    vertices[bottom, :2] = vertices[top, :2] = xy
    vertices[bottom, 2], vertices[top, 2] = bottoms[coord_owner], tops[coord_owner]
    walls = _walls(xy, coord_ring, ring_polygon, ring_start, bottom, top)
    caps = _caps(xy, polygons, ring_polygon, ring_start)
    roof, floor = top[caps], bottom[caps][:, ::-1]
    faces = np.concatenate([walls, roof, floor])
    face_owner = np.concatenate([coord_owner, coord_owner, coord_owner[caps[:, 0]],
                                 coord_owner[caps[:, 0]]])  # fmt: skip
    order = np.argsort(face_owner, kind="stable")
    faces, face_owner = faces[order], face_owner[order]
    faces = faces - 2 * object_start[face_owner][:, None]
    face_offsets = np.concatenate([[0], np.cumsum(np.bincount(face_owner, minlength=count))])
    return PackedMeshes(
        list(object_ids), material, vertices, faces.astype(np.uint32),
        (2 * object_start).astype(np.int64), face_offsets.astype(np.int64),
    )  # fmt: skip


def _clean_polygons(
    geometries: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """The simplified, valid polygons of every footprint and the footprint each comes from.

    Repaired before simplifying (GEOS simplifies a self-crossing ring into half of it) and
    after (a simplification may make a polygon cross itself).
    """
    parts, owner = shapely.get_parts(geometries, return_index=True)
    parts, owner = _repaired(parts, owner)
    parts = shapely.simplify(parts, SIMPLIFY_METRES, preserve_topology=False)
    parts, owner = _repaired(parts, owner)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_AREA)
    return parts[keep], owner[keep]


def _repaired(
    parts: npt.NDArray[np.object_], owner: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Invalid parts replaced by the pieces of their repair, still ordered by owner."""
    broken = ~shapely.is_valid(parts)
    if not broken.any():
        return parts, owner
    repaired, within = shapely.get_parts(shapely.make_valid(parts[broken]), return_index=True)
    nested = np.isin(shapely.get_type_id(repaired), (6, 7))
    if nested.any():
        inner, inner_within = shapely.get_parts(repaired[nested], return_index=True)
        repaired = np.concatenate([repaired[~nested], inner])
        within = np.concatenate([within[~nested], within[nested][inner_within]])
    parts = np.concatenate([parts[~broken], repaired])
    owner = np.concatenate([owner[~broken], owner[broken][within]])
    order = np.argsort(owner, kind="stable")
    return parts[order], owner[order]


def _walls(
    xy: FloatArray,
    coord_ring: npt.NDArray[np.int64],
    ring_polygon: npt.NDArray[np.int64],
    ring_start: npt.NDArray[np.int64],
    bottom: npt.NDArray[np.int64],
    top: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Two triangles per ring edge, wound outwards (exteriors and holes alike)."""
    following = np.arange(1, len(xy) + 1)
    ends = ring_start[1:] - 1
    following[ends] = ring_start[:-1]
    b0, b1, t0, t1 = bottom, bottom[following], top, top[following]
    walls = np.concatenate([np.column_stack([b0, b1, t1]), np.column_stack([b0, t1, t0])])
    # shoelace per ring: positive for counter-clockwise
    cross = xy[:, 0] * xy[following, 1] - xy[following, 0] * xy[:, 1]
    signed = np.bincount(coord_ring, weights=cross, minlength=len(ring_start) - 1)
    is_exterior = np.ones(len(ring_polygon), dtype=bool)
    is_exterior[1:] = ring_polygon[1:] != ring_polygon[:-1]
    backwards = np.where(is_exterior, signed < 0, signed > 0)[coord_ring]
    flip = np.concatenate([backwards, backwards])
    walls[flip] = walls[flip][:, ::-1]
    return walls


def _caps(
    xy: FloatArray,
    polygons: npt.NDArray[np.object_],
    ring_polygon: npt.NDArray[np.int64],
    ring_start: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Counter-clockwise triangles (indices into ``xy``) covering every polygon, holes kept.

    Convex polygons without holes (most footprints) are fans from their first vertex, all
    at once; the others go through earcut one by one.
    """
    rings_of = np.bincount(ring_polygon, minlength=len(polygons))
    first_ring = np.concatenate([[0], np.cumsum(rings_of)])
    single = rings_of == 1
    convex = np.zeros(len(polygons), dtype=bool)
    convex[single] = _convex(xy, ring_start)[first_ring[:-1][single]]
    chunks = [_fans(ring_start, first_ring[:-1][convex])]
    triangulate = mapbox_earcut.triangulate_float64
    for polygon in np.flatnonzero(~convex).tolist():
        p0, p1 = first_ring[polygon], first_ring[polygon + 1]
        start = ring_start[p0]
        ends = (ring_start[p0 + 1 : p1 + 1] - start).astype(np.uint32)
        points = xy[start : ring_start[p1]]
        chunks.append(triangulate(points - points[0], ends).astype(np.int64) + start)
    caps = np.concatenate(chunks).reshape(-1, 3)
    a, b, c = xy[caps[:, 0]], xy[caps[:, 1]], xy[caps[:, 2]]
    clockwise = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
        c[:, 0] - a[:, 0]
    ) < 0
    caps[clockwise] = caps[clockwise][:, ::-1]
    return caps


def _convex(xy: FloatArray, ring_start: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Whether each ring turns one way only (collinear vertices allowed)."""
    size = np.diff(ring_start)
    index = np.arange(len(xy))
    ring = np.repeat(np.arange(len(size)), size)
    following = np.where(index + 1 == ring_start[1:][ring], ring_start[:-1][ring], index + 1)
    previous = np.empty_like(following)
    previous[following] = index
    incoming, outgoing = xy - xy[previous], xy[following] - xy
    turn = incoming[:, 0] * outgoing[:, 1] - incoming[:, 1] * outgoing[:, 0]
    starts = ring_start[:-1]
    lowest = np.minimum.reduceat(turn, starts) if len(turn) else np.empty(0)
    highest = np.maximum.reduceat(turn, starts) if len(turn) else np.empty(0)
    return (lowest >= -_TURN_TOLERANCE) | (highest <= _TURN_TOLERANCE)


def _fans(ring_start: npt.NDArray[np.int64], rings: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Fan triangles from the first vertex of each of ``rings`` (convex, no holes)."""
    count = ring_start[rings + 1] - ring_start[rings] - 2
    fan_ring = np.repeat(rings, count)
    first = np.repeat(np.cumsum(count) - count, count)
    step = np.arange(len(fan_ring)) - first + 1
    start = ring_start[fan_ring]
    return np.column_stack([start, start + step, start + step + 1]).ravel()
