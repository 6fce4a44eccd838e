"""The tile tree of a city: a quadtree on a fixed square, levels of detail, REPLACE refinement.

Units (a BIM building with its elements, or one standalone object) are placed by the
centre of their box into a quadtree over a square that stays fixed between runs while the
city stays inside it, so that a change to one building changes the content of its own
tiles only. A tile is a leaf when its units hold at most ``max_features`` objects and
``max_triangles`` triangles; leaves draw every object in full. A single building too big
for a leaf is split by its elements into leaves under a tile that draws its LOD2 shell.

Every other tile draws a coarse version of its whole area and is replaced by its children
(REPLACE): the units at least a sixteenth of its side in size, biggest first, as many as
fit ``max_coarse_features``, ``max_triangles`` and a quarter of the units of its area (so
each level is a real simplification), as LOD2 shells on the level just above the leaves
and LOD1 blocks higher up. What a coarse tile leaves out is small: its geometric error
covers the largest unit it leaves out as well as the deviation of the LODs it draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cim.meshindex import FloatArray, IntArray, MeshIndex

Kind = Literal["full", "LOD1", "LOD2"]
#: A coarse tile draws units at least its side / SIZE_DIVISOR big: smaller ones are a
#: few pixels when the tile is seen whole.
SIZE_DIVISOR = 16.0
Square = tuple[float, float, float]  # min x, min y, side


@dataclass(frozen=True)
class Limits:
    """What one tile may hold."""

    max_features: int = 500
    max_coarse_features: int = 2_000
    coarse_share: float = 0.25  # of the units of its area a coarse tile draws at most
    max_triangles: int = 150_000
    max_depth: int = 16


@dataclass
class Tile:
    """A tile of the plan: what it draws, how, and its children."""

    address: str
    kind: Kind
    objects: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # full: indices
    units: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # LOD: units drawn
    dropped_size: float = 0.0  # the largest unit of its area it does not draw, metres
    children: list[Tile] = field(default_factory=list)

    def walk(self) -> list[Tile]:
        """This tile and all below it, parents first."""
        found = [self]
        for child in self.children:
            found += child.walk()
        return found


def root_square(index: MeshIndex, previous: Square | None = None) -> Square:
    """The quadtree's square: ``previous`` while every unit centre lies inside it."""
    centres = index.unit_centres()
    low, high = centres.min(axis=0), centres.max(axis=0)
    if previous is not None:
        x, y, side = previous
        if low[0] >= x and low[1] >= y and high[0] <= x + side and high[1] <= y + side:
            return previous
    side = float(max(high[0] - low[0], high[1] - low[1], 1.0)) * 1.001
    return (float(low[0]), float(low[1]), side)


def plan(index: MeshIndex, limits: Limits, square: Square) -> Tile:
    """The tile tree of every unit of ``index`` in ``square``."""
    objects_of_unit = np.argsort(index.unit_of, kind="stable")
    starts = np.searchsorted(index.unit_of[objects_of_unit], np.arange(index.unit_count + 1))
    costs = {kind: _coarse_triangles(index, kind) for kind in ("LOD1", "LOD2")}
    planner = _Planner(index, limits, objects_of_unit, starts, index.unit_sizes(), costs,
                       index.unit_centres())  # fmt: skip
    return planner.node(np.arange(index.unit_count), square, "0", 0)


@dataclass
class _Planner:
    index: MeshIndex
    limits: Limits
    objects_of_unit: IntArray
    starts: IntArray
    sizes: FloatArray
    costs: dict[str, IntArray]
    centres: FloatArray

    def objects(self, units: IntArray) -> IntArray:
        parts = [self.objects_of_unit[self.starts[u] : self.starts[u + 1]] for u in units]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def node(self, units: IntArray, square: Square, address: str, depth: int) -> Tile:
        if self.fits(units) or depth >= self.limits.max_depth:
            return Tile(address, "full", objects=self.objects(units))
        counts = self.starts[units + 1] - self.starts[units]
        oversize = (counts > self.limits.max_features) | (
            self.index.unit_triangles[units] > self.limits.max_triangles
        )
        children = [self.split_building(int(unit), f"{address}_b{k}")
                    for k, unit in enumerate(units[oversize])]  # fmt: skip
        rest = units[~oversize]
        if len(rest) and self.fits(rest):
            children.append(Tile(f"{address}_r", "full", objects=self.objects(rest)))
        elif len(rest):
            groups = _quadrants(self.centres[rest], square)
            children += [
                self.node(rest[members], child_square, f"{address}_{quadrant}", depth + 1)
                for quadrant, (members, child_square) in groups.items()
            ]
        if len(children) == 1:  # one building, or all in one quadrant: no level of its own
            return children[0]
        height: Kind = "LOD2" if all(not c.children for c in children) else "LOD1"
        return self.coarse(units, address, height, children, square[2] / SIZE_DIVISOR)

    def fits(self, units: IntArray) -> bool:
        """Whether ``units`` fit one leaf."""
        objects = int((self.starts[units + 1] - self.starts[units]).sum())
        triangles = int(self.index.unit_triangles[units].sum())
        return objects <= self.limits.max_features and triangles <= self.limits.max_triangles

    def coarse(
        self, units: IntArray, address: str, kind: Kind, children: list[Tile], smallest: float = 0.0
    ) -> Tile:
        """The units of at least ``smallest`` metres that fit the coarse budget, biggest first."""
        order = units[np.argsort(-self.sizes[units], kind="stable")]
        order = order[self.sizes[order] >= smallest]
        costs = self.costs[kind][order]
        drawable = costs >= 0
        budget = np.cumsum(np.where(drawable, costs, 0)) <= self.limits.max_triangles
        share = max(1, int(len(units) * self.limits.coarse_share))
        most = min(self.limits.max_coarse_features, share)
        chosen = drawable & budget & (np.cumsum(drawable) <= most)
        left_out = np.setdiff1d(units, order[chosen])
        dropped = float(self.sizes[left_out].max()) if len(left_out) else 0.0
        return Tile(address, kind, units=order[chosen], dropped_size=dropped, children=children)

    def split_building(self, unit: int, address: str) -> Tile:
        """Leaves of one building's elements under a tile drawing its shell."""
        objects = self.objects(np.array([unit]))
        leaves = [Tile(f"{address}_e{i}", "full", objects=part)
                  for i, part in enumerate(self.element_groups(objects))]  # fmt: skip
        return self.coarse(np.array([unit]), address, "LOD2", leaves)

    def element_groups(self, objects: IntArray) -> list[IntArray]:
        """Split a building's objects by the median of their centres until each group fits."""
        triangles = int(self.index.triangles[objects].sum())
        if len(objects) <= 1 or (
            len(objects) <= self.limits.max_features and triangles <= self.limits.max_triangles
        ):
            return [objects]
        bounds = self.index.bounds[objects]
        centres = (bounds[:, :3] + bounds[:, 3:]) / 2
        axis = int(np.argmax(np.ptp(centres, axis=0)))
        order = objects[np.argsort(centres[:, axis], kind="stable")]
        half = len(order) // 2
        return self.element_groups(order[:half]) + self.element_groups(order[half:])


def _coarse_triangles(index: MeshIndex, kind: str) -> IntArray:
    """Triangles of each unit's coarse version of ``kind``; -1 when it has none.

    A standalone object is its own coarse version (a block of at most 1 000 triangles
    stands in for a bigger one); a BIM building has its stored LOD, or LOD1 for LOD2.
    """
    costs = np.minimum(index.unit_triangles, 1_000)
    for unit, building in index.unit_buildings.items():
        lods = index.unit_lod_triangles.get(building, {})
        costs[unit] = lods.get(kind, lods.get("LOD1", -1))
    return costs


def _quadrants(centres: FloatArray, square: Square) -> dict[int, tuple[IntArray, Square]]:
    """The members and square of each non-empty quadrant."""
    x, y, side = square
    half = side / 2
    east = centres[:, 0] >= x + half
    north = centres[:, 1] >= y + half
    quadrant = east.astype(np.int64) + 2 * north.astype(np.int64)
    groups: dict[int, tuple[IntArray, Square]] = {}
    for q in range(4):
        members = np.flatnonzero(quadrant == q)
        if len(members):
            groups[q] = (members, (x + half * (q % 2), y + half * (q // 2), half))
    return groups
