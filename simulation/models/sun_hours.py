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

from collections.abc import Callable
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
TRIPLE_CHUNK = 1_000_000
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


@dataclass(frozen=True)
class Groups:
    """Points grouped for the search of obstacles: ``member[i]`` the group of point ``i``;
    ``corners`` ``(groups, k, 2)`` the corners of a convex region holding each group's
    points (a face's two ends, a block's four corners)."""

    member: IntArray
    corners: FloatArray


def shaded(
    points: FloatArray,
    edges: Edges,
    azimuth: FloatArray,
    elevation: FloatArray,
    groups: Groups | None = None,
    done: Callable[[float], None] | None = None,
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
    groups:
        Points that lie close together (the sill points of one face): the edges are
        searched and ruled out per group first (default: each point alone).
    done:
        Called with the share of the points done (0..1) after each chunk; it may raise
        to stop.
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
    if not (tangent > 0).any():
        return result
    if groups is None:
        groups = Groups(np.arange(len(points), dtype=np.int64), points[:, None, :2].copy())
    sun = _Sun(azimuth, tangent, float(tangent[tangent > 0].min()))
    lines = shapely.linestrings(np.stack([edges.a, edges.b], axis=1))
    tree = shapely.STRtree(lines)
    order = np.argsort(groups.member, kind="stable")
    counts = np.bincount(groups.member, minlength=len(groups.corners))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    lowest = np.full(len(groups.corners), np.inf)
    np.minimum.at(lowest, groups.member, points[:, 2])
    flat = result.reshape(-1)
    first_group = 0
    while first_group < len(groups.corners):
        last_group = int(np.searchsorted(offsets, offsets[first_group] + POINT_CHUNK, "right"))
        last_group = min(max(last_group - 1, first_group + 1), len(groups.corners))
        chosen = np.arange(first_group, last_group)
        group, edge = _group_pairs(chosen, groups.corners, lowest, edges, lines, tree, sun)
        size = counts[group]
        point = order[
            np.repeat(offsets[group], size)
            + np.arange(int(size.sum()))
            - np.repeat(np.cumsum(size) - size, size)
        ]
        for pairs, first, last in _pair_ranges(points, point, np.repeat(edge, size), edges, sun):
            _mark(flat, pairs, first, last, sun, steps)
        first_group = last_group
        if done is not None:
            done(float(offsets[last_group]) / max(len(points), 1))
    if reverse:
        result = result[:, ::-1].copy()
    return result


@dataclass(frozen=True)
class _Sun:
    azimuth: FloatArray  # unwrapped, increasing
    tangent: FloatArray  # tan(elevation)
    lowest: float  # the least positive tangent

    def ranges(self, low: FloatArray, high: FloatArray) -> list[tuple[IntArray, IntArray]]:
        """The step ranges ``[first, last)`` whose azimuth lies in ``[low, high]`` (degrees,
        any turn; ``high - low`` under a full turn): the range, and what comes round."""
        origin = self.azimuth[0]
        lo = origin + np.mod(low - origin, 360.0)
        hi = lo + (high - low)
        found = []
        for shift in (0.0, -360.0):
            first = np.searchsorted(self.azimuth, lo + shift, side="left").astype(np.int64)
            last = np.searchsorted(self.azimuth, hi + shift, side="right").astype(np.int64)
            found.append((first, last))
        return found

    def below(self, limit: FloatArray) -> tuple[IntArray, IntArray]:
        """For each tangent ``limit``, the step the sun first reaches it and the step after
        it last is at or above it: below it exactly before the first and from the second."""
        peak = int(np.argmax(self.tangent))
        rising, falling = self.tangent[: peak + 1], self.tangent[peak + 1 :]
        morning = np.searchsorted(np.maximum.accumulate(rising), limit, side="left")
        evening = peak + 1 + np.searchsorted(-np.minimum.accumulate(falling), -limit, side="right")
        return morning.astype(np.int64), evening.astype(np.int64)

    def least(self, first: IntArray, last: IntArray) -> FloatArray:
        """The least tan(elevation) over each range (inf when empty): the sun's elevation
        rises then falls, so it is at an end."""
        least = np.full(len(first), np.inf)
        nonempty = last > first
        least[nonempty] = np.minimum(
            self.tangent[first[nonempty]], self.tangent[last[nonempty] - 1]
        )
        return least


def _group_pairs(
    chosen: IntArray,
    corners: FloatArray,
    lowest: FloatArray,
    edges: Edges,
    lines: npt.NDArray[np.object_],
    tree: shapely.STRtree,
    sun: _Sun,
) -> tuple[IntArray, IntArray]:
    """The (group, edge) pairs of groups ``chosen`` where the edge may shade some point."""
    rise_max = float(edges.top.max() - lowest[chosen].min())
    reach = min(MAX_REACH, rise_max / sun.lowest)
    if reach <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    hulls = shapely.convex_hull(shapely.multipoints(corners[chosen]))
    local, edge = tree.query(hulls, predicate="dwithin", distance=reach)
    group = chosen[local]
    rise = edges.top[edge] - lowest[group]
    keep = rise > 0
    local, group, edge, rise = local[keep], group[keep], edge[keep], rise[keep]
    a, b = edges.a[edge], edges.b[edge]
    direction = b - a
    normal = np.degrees(np.arctan2(-direction[:, 1], direction[:, 0]))
    corner = corners[group]  # (pairs, k, 2)
    cross = direction[:, None, 0] * (corner[..., 1] - a[:, None, 1]) - direction[:, None, 1] * (
        corner[..., 0] - a[:, None, 0]
    )
    in_front = (cross < 0).any(axis=1)
    bearings = np.concatenate(
        [
            np.degrees(
                np.arctan2(end[:, None, 0] - corner[..., 0], end[:, None, 1] - corner[..., 1])
            )
            for end in (a, b)
        ],
        axis=1,
    )
    relative = _wrap(bearings - normal[:, None])
    low, high = relative.min(axis=1), relative.max(axis=1)
    whole = high - low >= 180.0  # a corner behind the edge: no bound from the bearings
    low, high = np.where(whole, -180.0, low), np.where(whole, 180.0, high)
    distance = shapely.distance(hulls[local], lines[edge])
    steep = rise / np.maximum(distance, 1e-9)
    useful = np.zeros(len(edge), dtype=np.bool_)
    for first, last in sun.ranges(normal + low, normal + np.minimum(high, low + 359.999)):
        useful |= steep > sun.least(first, last)
    useful &= in_front
    return group[useful], edge[useful]


@dataclass(frozen=True)
class _Pairs:
    point: IntArray
    normal: FloatArray  # azimuth (degrees) of the edge's normal seen from the point
    rho: FloatArray  # distance from the point to the edge's line
    rise: FloatArray  # edge top minus the point's height


def _pair_ranges(
    points: FloatArray, point: IntArray, edge: IntArray, edges: Edges, sun: _Sun
) -> list[tuple[_Pairs, IntArray, IntArray]]:
    """The (point, edge) pairs that may shade, each with its step range ``[first, last)``."""
    p = points[point]
    a, b = edges.a[edge], edges.b[edge]
    rise = edges.top[edge] - p[:, 2]
    direction = b - a
    length = np.hypot(direction[:, 0], direction[:, 1])
    # The solid lies on the left of a -> b: the point sees the edge from outside when it
    # is on the right (negative cross product), at distance rho from the edge's line.
    cross = direction[:, 0] * (p[:, 1] - a[:, 1]) - direction[:, 1] * (p[:, 0] - a[:, 0])
    rho = -cross / np.where(length > 0, length, 1.0)
    keep = (rho > 1e-9) & (rise > 0) & (length > 0)
    point, p, a, b, rise, rho = (v[keep] for v in (point, p, a, b, rise, rho))
    direction = b - a
    # The normal pointing from the point to the edge's line: the left of a -> b.
    normal = np.degrees(np.arctan2(-direction[:, 1], direction[:, 0]))
    bearing_a = np.degrees(np.arctan2(a[:, 0] - p[:, 0], a[:, 1] - p[:, 1]))
    bearing_b = np.degrees(np.arctan2(b[:, 0] - p[:, 0], b[:, 1] - p[:, 1]))
    rel_a, rel_b = _wrap(bearing_a - normal), _wrap(bearing_b - normal)
    low, high = np.minimum(rel_a, rel_b), np.maximum(rel_a, rel_b)
    # Nearest approach to the edge: the segment distance bounds the obstacle's angle.
    steep = rise / np.maximum(_segment_distance(p, a, b), 1e-9)
    # Only while the sun is lower than the edge's steepest angle: a prefix and a suffix
    # of the window (the elevation rises then falls).
    morning, evening = sun.below(rise / rho)
    found = []
    for first, last in sun.ranges(normal + low, normal + high):
        useful = steep > sun.least(first, last)
        pairs = _Pairs(point[useful], normal[useful], rho[useful], rise[useful])
        first, last = first[useful], last[useful]
        morning_u, evening_u = morning[useful], evening[useful]
        apart = morning_u < evening_u
        # Apart: [first, min(last, morning)) and [max(first, evening), last); else whole.
        found.append((pairs, first, np.where(apart, np.minimum(last, morning_u), last)))
        rest = apart & (np.maximum(first, evening_u) < last)
        found.append(
            (
                _Pairs(pairs.point[rest], pairs.normal[rest], pairs.rho[rest], pairs.rise[rest]),
                np.maximum(first, evening_u)[rest],
                last[rest],
            )
        )
    return found


def _mark(
    flat: BoolArray, pairs: _Pairs, first: IntArray, last: IntArray, sun: _Sun, steps: int
) -> None:
    """Set ``flat[point * steps + step]`` for every shaded (point, edge, step)."""
    lengths = np.maximum(last - first, 0)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pair = 0
    while pair < len(lengths):
        stop = int(np.searchsorted(bounds, bounds[pair] + TRIPLE_CHUNK, side="right")) - 1
        stop = max(stop, pair + 1)
        size = lengths[pair:stop]
        owner = np.repeat(np.arange(pair, stop), size)
        offset = np.arange(int(size.sum())) - np.repeat(bounds[pair:stop] - bounds[pair], size)
        step = first[owner] + offset
        cosine = np.cos(np.radians(sun.azimuth[step] - pairs.normal[owner]))
        tangent = sun.tangent[step]
        hit = (
            (tangent > 0) & (cosine > 0) & (pairs.rho[owner] * tangent < pairs.rise[owner] * cosine)
        )
        flat[pairs.point[owner[hit]] * steps + step[hit]] = True
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
