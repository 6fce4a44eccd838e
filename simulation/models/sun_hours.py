"""Which points see the sun at each step of a sun path, behind prism-shaped obstacles.

An obstacle is a vertical prism standing on the ground: a footprint and a top height. A
point at height ``z`` is shaded at a step when the horizontal ray from it towards the
sun's azimuth enters a footprint at a distance ``t`` with ``z + t tan(elevation) < top``.
A ray enters a footprint through an edge the point sees from outside (a "front" edge), so
only front edges count, and for one edge the answer follows in closed form from the
angle between the sun and the edge's normal: ``t = rho / cos(azimuth - normal)``,
``rho`` the point's distance to the edge's line.

The work is sparse: per point, the edges within the longest shadow of the window (from an
STRtree); per (point, edge), the steps whose azimuth falls between the bearings of the
edge's ends (a contiguous range, the azimuth being monotonic over the window), and none at
all when the edge cannot rise above the sun anywhere in that range. Only the surviving
(point, edge, step) triples are evaluated, in bounded chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Points queried against the edge tree at once, and (point, edge, step) triples at once.
POINT_CHUNK = 4096
TRIPLE_CHUNK = 4_000_000
#: A shadow longer than this (metres) is not followed (the sun a degree above the horizon).
MAX_REACH = 1000.0


@dataclass(frozen=True)
class Edges:
    """The footprint edges of obstacle prisms, oriented with the solid on their left.

    ``a`` and ``b`` are ``(n, 2)`` end points; ``top`` the height of the edge's prism;
    ``prism`` the index of the prism it belongs to.
    """

    a: FloatArray
    b: FloatArray
    top: FloatArray
    prism: IntArray

    @property
    def size(self) -> int:
        """The number of edges."""
        return len(self.top)


def prism_edges(footprints: list[Polygon], tops: list[float]) -> Edges:
    """The edges of prisms given by footprints (holes included) and top heights."""
    starts: list[FloatArray] = []
    ends: list[FloatArray] = []
    heights: list[FloatArray] = []
    owners: list[IntArray] = []
    for index, (footprint, top) in enumerate(zip(footprints, tops, strict=True)):
        oriented = orient(footprint, sign=1.0)
        for ring in (oriented.exterior, *oriented.interiors):
            coords = np.asarray(ring.coords, dtype=np.float64)[:, :2]
            if len(coords) < 4:
                continue
            starts.append(coords[:-1])
            ends.append(coords[1:])
            heights.append(np.full(len(coords) - 1, float(top)))
            owners.append(np.full(len(coords) - 1, index, dtype=np.int64))
    if not starts:
        empty = np.zeros((0, 2))
        return Edges(empty, empty, np.zeros(0), np.zeros(0, dtype=np.int64))
    return Edges(
        np.concatenate(starts),
        np.concatenate(ends),
        np.concatenate(heights),
        np.concatenate(owners),
    )


def shaded(
    points: FloatArray,
    edges: Edges,
    azimuth: FloatArray,
    elevation: FloatArray,
) -> BoolArray:
    """Whether each point is shaded by the obstacles at each step: ``(points, steps)``.

    Parameters
    ----------
    points:
        ``(n, 3)`` x, y (city CRS, metres) and height z.
    edges:
        The obstacles' edges (:func:`prism_edges`), in the same frame.
    azimuth, elevation:
        The sun at each step, degrees; azimuth clockwise from the frame's north (grid
        north: correct true azimuths for the meridian convergence first), monotonic
        over the window. Steps with the sun at or below the horizon are reported unshaded
        (they are not sunlit either way).
    """
    steps = len(azimuth)
    result = np.zeros((len(points), steps), dtype=np.bool_)
    if edges.size == 0 or len(points) == 0 or steps == 0:
        return result
    azimuth = np.asarray(np.unwrap(np.asarray(azimuth, dtype=np.float64), period=360.0))
    elevation = np.asarray(elevation, dtype=np.float64)
    reverse = steps > 1 and azimuth[-1] < azimuth[0]
    if reverse:  # southern hemisphere: the sun's azimuth falls; count steps backwards
        azimuth, elevation = azimuth[::-1], elevation[::-1]
    if steps > 1 and np.any(np.diff(azimuth) <= 0):
        raise ValueError("the sun's azimuth is not monotonic over the window")
    tangent = np.tan(np.radians(np.clip(elevation, -89.0, 89.0)))
    tree = shapely.STRtree(shapely.linestrings(np.stack([edges.a, edges.b], axis=1)))
    up = tangent[tangent > 0]
    if len(up) == 0:
        return result
    flat = result.reshape(-1)
    for start in range(0, len(points), POINT_CHUNK):
        chunk = points[start : start + POINT_CHUNK]
        reach = min(MAX_REACH, float(edges.top.max() - chunk[:, 2].min()) / float(up.min()))
        if reach <= 0:
            continue
        found = tree.query(shapely.points(chunk[:, :2]), predicate="dwithin", distance=reach)
        for index, first, last in _pair_ranges(chunk, found, edges, azimuth, tangent):
            _mark(flat, start, chunk, index, first, last, edges, azimuth, tangent, steps)
    if reverse:
        result = result[:, ::-1].copy()
    return result


@dataclass(frozen=True)
class _Pairs:
    point: IntArray  # index in the chunk
    edge: IntArray
    normal: FloatArray  # azimuth (degrees) of the edge's normal seen from the point
    rho: FloatArray  # distance from the point to the edge's line
    rise: FloatArray  # edge top minus the point's height


def _pair_ranges(
    chunk: FloatArray,
    found: IntArray,
    edges: Edges,
    azimuth: FloatArray,
    tangent: FloatArray,
) -> list[tuple[_Pairs, IntArray, IntArray]]:
    """The (point, edge) pairs that may shade, each with its step range ``[first, last)``."""
    point, edge = found[0], found[1]
    p = chunk[point]
    a, b = edges.a[edge], edges.b[edge]
    rise = edges.top[edge] - p[:, 2]
    direction = b - a
    length = np.hypot(direction[:, 0], direction[:, 1])
    # The solid lies on the left of a -> b: the point sees the edge from outside when it
    # is on the right (negative cross product), at distance rho from the edge's line.
    cross = direction[:, 0] * (p[:, 1] - a[:, 1]) - direction[:, 1] * (p[:, 0] - a[:, 0])
    rho = -cross / np.where(length > 0, length, 1.0)
    keep = (rho > 1e-9) & (rise > 0) & (length > 0)
    point, edge, p, a, b, rise, rho = (v[keep] for v in (point, edge, p, a, b, rise, rho))
    direction = b - a
    # The normal pointing from the point to the edge's line: the left of a -> b.
    normal = np.degrees(np.arctan2(-direction[:, 1], direction[:, 0]))
    bearing_a = np.degrees(np.arctan2(a[:, 0] - p[:, 0], a[:, 1] - p[:, 1]))
    bearing_b = np.degrees(np.arctan2(b[:, 0] - p[:, 0], b[:, 1] - p[:, 1]))
    rel_a, rel_b = _wrap(bearing_a - normal), _wrap(bearing_b - normal)
    low, high = np.minimum(rel_a, rel_b), np.maximum(rel_a, rel_b)
    # Into the frame of the sun's (unwrapped) azimuths: [azimuth[0], azimuth[0] + 360).
    origin = azimuth[0]
    lo = origin + np.mod(normal + low - origin, 360.0)
    hi = lo + (high - low)
    # Nearest approach to the edge: the segment distance bounds the obstacle's angle.
    steep = rise / np.maximum(_segment_distance(p, a, b), 1e-9)
    ranges = []
    for shift in (0.0, -360.0):  # the part of a range past a full turn comes round
        first = np.searchsorted(azimuth, lo + shift, side="left")
        last = np.searchsorted(azimuth, hi + shift, side="right")
        nonempty = last > first
        lowest_sun = np.full(len(first), np.inf)
        if nonempty.any():
            # The sun's elevation rises then falls: its least over a range is at an end.
            ends = np.minimum(tangent[first[nonempty]], tangent[last[nonempty] - 1])
            lowest_sun[nonempty] = ends
        useful = nonempty & (steep > np.maximum(lowest_sun, 0.0))
        pairs = _Pairs(point[useful], edge[useful], normal[useful], rho[useful], rise[useful])
        ranges.append((pairs, first[useful].astype(np.int64), last[useful].astype(np.int64)))
    return ranges


def _mark(
    flat: BoolArray,
    start: int,
    chunk: FloatArray,
    pairs: _Pairs,
    first: IntArray,
    last: IntArray,
    edges: Edges,
    azimuth: FloatArray,
    tangent: FloatArray,
    steps: int,
) -> None:
    """Set ``flat[(start + point) * steps + step]`` for every shaded (point, edge, step)."""
    lengths = last - first
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pair = 0
    while pair < len(lengths):
        stop = int(np.searchsorted(bounds, bounds[pair] + TRIPLE_CHUNK, side="right")) - 1
        stop = max(stop, pair + 1)
        size = lengths[pair:stop]
        owner = np.repeat(np.arange(pair, stop), size)
        offset = np.arange(int(size.sum())) - np.repeat(bounds[pair:stop] - bounds[pair], size)
        step = first[owner] + offset
        cosine = np.cos(np.radians(azimuth[step] - pairs.normal[owner]))
        sun = tangent[step]
        hit = (sun > 0) & (cosine > 0) & (pairs.rho[owner] * sun < pairs.rise[owner] * cosine)
        flat[(start + pairs.point[owner[hit]]) * steps + step[hit]] = True
        pair = stop


def _wrap(angle: FloatArray) -> FloatArray:
    """Angles (degrees) into [-180, 180)."""
    return np.mod(angle + 180.0, 360.0) - 180.0


def _segment_distance(p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """The distance from each point of ``p`` to the segment ``a``-``b`` (2-D)."""
    ab = b - a
    ap = p[:, :2] - a
    denominator = np.maximum((ab * ab).sum(axis=1), 1e-12)
    t = np.clip((ap * ab).sum(axis=1) / denominator, 0.0, 1.0)
    closest = a + ab * t[:, None]
    distance: FloatArray = np.hypot(*(p[:, :2] - closest).T)
    return distance


def facing(normal_azimuth: FloatArray, azimuth: FloatArray, elevation: FloatArray) -> BoolArray:
    """Whether the sun is up and in front of faces with the given normals: ``(faces, steps)``."""
    cosine = np.cos(np.radians(azimuth[None, :] - np.asarray(normal_azimuth)[:, None]))
    result: BoolArray = (cosine > 0) & (np.asarray(elevation)[None, :] > 0)
    return result


def spell_minutes(lit: BoolArray, step_minutes: float, min_spell_minutes: float) -> FloatArray:
    """Minutes of sun per row of ``lit`` ``(points, steps)``, counting only spells of at
    least ``min_spell_minutes`` (0: every step counts)."""
    lit = np.asarray(lit, dtype=np.bool_)
    if min_spell_minutes <= 0 or lit.shape[1] == 0:
        total: FloatArray = lit.sum(axis=1) * step_minutes
        return total
    padded = np.zeros((lit.shape[0], lit.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = lit
    change = np.diff(padded, axis=1)
    rows_on, cols_on = np.nonzero(change == 1)
    _, cols_off = np.nonzero(change == -1)  # row-major order pairs each start with its end
    spells = (cols_off - cols_on) * step_minutes
    counted = spells >= min_spell_minutes - 1e-9
    minutes = np.zeros(lit.shape[0])
    np.add.at(minutes, rows_on[counted], spells[counted])
    return minutes
