"""The tile tree of a city: a quadtree on a fixed square, levels of detail, REPLACE refinement.

Units (a BIM building with its elements, or one standalone object) are placed by the
centre of their box into a quadtree over a square that stays fixed between runs while the
city stays inside it, so that a change to one building changes the content of its own
tiles only. Every quadtree cell is a range of Morton codes in the on-disk
:class:`cim.meshindex.MeshIndex`, so planning asks the index and never holds the city.

A tile is a leaf when its units hold at most ``max_features`` objects and
``max_triangles`` triangles; leaves draw every object in full. A building too big for any
leaf is split by its elements into leaves under a tile that draws its LOD2 shell.

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

from cim.meshindex import CODE_LEVELS, FloatArray, IntArray, MeshIndex, RegionStats, Square

Kind = Literal["full", "LOD1", "LOD2"]
#: A coarse tile draws units at least its side / SIZE_DIVISOR big: smaller ones are a
#: few pixels when the tile is seen whole.
SIZE_DIVISOR = 16.0


@dataclass(frozen=True)
class Limits:
    """What one tile may hold."""

    max_features: int = 500
    max_coarse_features: int = 2_000
    coarse_share: float = 0.25  # of the units of its area a coarse tile draws at most
    max_triangles: int = 150_000
    max_depth: int = 16

    @property
    def leaf(self) -> tuple[int, int]:
        """Objects and triangles a unit may have to fit a leaf."""
        return self.max_features, self.max_triangles


@dataclass(frozen=True)
class Cell:
    """A quadtree cell: Morton codes ``[low, high)``, with or without the big units."""

    low: int
    high: int
    small_only: bool


@dataclass
class Tile:
    """A tile of the plan: what it draws, how, and its children."""

    address: str
    kind: Kind
    cell: Cell | None = None  # full: every object of the cell's units
    objects: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # full: row ids
    units: list[tuple[int, str | None]] = field(default_factory=list)  # coarse: (unit, building)
    dropped_size: float = 0.0  # the largest unit of its area it does not draw, metres
    children: list[Tile] = field(default_factory=list)

    def walk(self) -> list[Tile]:
        """This tile and all below it, parents first."""
        found = [self]
        for child in self.children:
            found += child.walk()
        return found


def root_square(
    extent: tuple[float, float, float, float], previous: Square | None = None
) -> Square:
    """The quadtree's square over unit centres: ``previous`` while they all lie inside it."""
    low_x, low_y, high_x, high_y = extent
    if previous is not None:
        x, y, side = previous
        if low_x >= x and low_y >= y and high_x < x + side and high_y < y + side:
            return previous
    side = float(max(high_x - low_x, high_y - low_y, 1.0)) * 1.001
    return (float(low_x), float(low_y), side)


def plan(index: MeshIndex, limits: Limits, square: Square) -> Tile:
    """The tile tree of every unit of ``index`` (coded on ``square``)."""
    return _Planner(index, limits).node(Cell(0, 1 << (2 * CODE_LEVELS), False), square[2], "0", 0)


@dataclass
class _Planner:
    index: MeshIndex
    limits: Limits

    def node(
        self, cell: Cell, side: float, address: str, depth: int, known: RegionStats | None = None
    ) -> Tile:
        stats = known or self.index.stats(cell.low, cell.high, cell.small_only, self.limits.leaf)
        if self.fits(stats) or depth >= min(self.limits.max_depth, CODE_LEVELS):
            return Tile(address, "full", cell=cell)
        big = [] if cell.small_only else self.index.big_units(cell.low, cell.high, self.limits.leaf)
        children = [self.split_building(unit, f"{address}_b{k}") for k, unit in enumerate(big)]
        rest = Cell(cell.low, cell.high, True)
        rest_stats = (
            stats  # without big units, the rest is the whole cell
            if cell.small_only or not big
            else self.index.stats(rest.low, rest.high, True, self.limits.leaf)
        )
        if rest_stats.units and big and self.fits(rest_stats):
            children.append(Tile(f"{address}_r", "full", cell=rest))
        elif rest_stats.units:
            quarter = (cell.high - cell.low) // 4
            quarters = self.index.quarter_stats(cell.low, cell.high, True, self.limits.leaf)
            for digit, child_stats in enumerate(quarters):
                low = cell.low + digit * quarter
                child = Cell(low, low + quarter, True)
                if child_stats.units:
                    children.append(self.node(child, side / 2, f"{address}_{digit}", depth + 1,
                                              child_stats))  # fmt: skip
        if len(children) == 1:  # one building, or all in one quadrant: no level of its own
            return children[0]
        kind: Kind = "LOD2" if all(not c.children for c in children) else "LOD1"
        return self.coarse(cell, stats.units, address, kind, children, side / SIZE_DIVISOR)

    def fits(self, stats: RegionStats) -> bool:
        fits_objects = stats.objects <= self.limits.max_features
        return fits_objects and stats.triangles <= self.limits.max_triangles

    def coarse(
        self, cell: Cell, units: int, address: str, kind: Kind, children: list[Tile],
        smallest: float,
    ) -> Tile:  # fmt: skip
        """The units of at least ``smallest`` metres that fit the coarse budget, biggest first."""
        most = min(self.limits.max_coarse_features, max(1, int(units * self.limits.coarse_share)))
        candidates = self.index.biggest(cell.low, cell.high, smallest, most + 1, kind,
                                        cell.small_only, self.limits.leaf)  # fmt: skip
        chosen: list[tuple[int, str | None]] = []
        dropped = self.index.largest_below(cell.low, cell.high, smallest, cell.small_only,
                                           self.limits.leaf)  # fmt: skip
        triangles = 0
        for unit, size, cost, building in candidates:
            if cost >= 0 and len(chosen) < most and triangles + cost <= self.limits.max_triangles:
                chosen.append((unit, building))
                triangles += cost
            else:
                dropped = max(dropped, size)
        return Tile(address, kind, units=chosen, dropped_size=dropped, children=children)

    def split_building(self, unit: int, address: str) -> Tile:
        """Leaves of one building's elements under a tile drawing its shell."""
        fids, bounds, triangles = self.index.unit_objects(unit)
        groups = self.element_groups(fids, bounds, triangles)
        leaves = [Tile(f"{address}_e{i}", "full", objects=part) for i, part in enumerate(groups)]
        building = self.index.unit_building(unit)
        cost = self.index.unit_cost(unit, "LOD2")
        if cost >= 0:
            return Tile(address, "LOD2", units=[(unit, building)], children=leaves)
        return Tile(address, "LOD2", dropped_size=self.index.unit_size(unit), children=leaves)

    def element_groups(
        self, fids: IntArray, bounds: FloatArray, triangles: IntArray
    ) -> list[IntArray]:
        """Split a building's objects by the median of their centres until each group fits."""
        fits = len(fids) <= self.limits.max_features
        if len(fids) <= 1 or (fits and int(triangles.sum()) <= self.limits.max_triangles):
            return [fids]
        centres = (bounds[:, :3] + bounds[:, 3:]) / 2
        axis = int(np.argmax(np.ptp(centres, axis=0)))
        order = np.argsort(centres[:, axis], kind="stable")
        half = len(order) // 2
        first, second = order[:half], order[half:]
        return self.element_groups(fids[first], bounds[first], triangles[first]) + (
            self.element_groups(fids[second], bounds[second], triangles[second])
        )
