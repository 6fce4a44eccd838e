"""The stations a pollution field is interpolated from: positions, values, merged duplicates.

Real station lists hold the same station twice with slightly different coordinates; two
stations closer than a tolerance are merged into one at their mean position with their
mean value, and the merge is reported so a run can say what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from simulation.models.errors import ModelError


class StationsError(ModelError):
    """The stations cannot make a field (none, too few for the method, all alike...)."""


@dataclass(frozen=True)
class Stations:
    """Station positions (city CRS) and values, one per distinct place.

    ``names[i]`` names the station at ``x[i], y[i]``; ``merged`` lists the groups of names
    that were merged into one station because they stood closer than the tolerance.
    """

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    names: list[str]
    merged: list[list[str]]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def xy(self) -> np.ndarray:
        """The positions as an ``(n, 2)`` array."""
        return np.column_stack([self.x, self.y])


def stations(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    names: Sequence[str] | None = None,
    tolerance: float = 1.0,
) -> Stations:
    """Check station data and merge the stations closer than ``tolerance`` (CRS units).

    Raises
    ------
    StationsError
        When there is no station, lengths differ, or a position or value is not finite.
    """
    xs, ys, vs = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, values))
    labels = [str(i) for i in range(len(vs))] if names is None else [str(n) for n in names]
    if not len(vs):
        raise StationsError("no station has a value: a field needs at least one")
    if not len(xs) == len(ys) == len(vs) == len(labels):
        raise StationsError("station positions, values and names differ in number")
    for what, array in (("position", xs), ("position", ys), ("value", vs)):
        bad = np.flatnonzero(~np.isfinite(array))
        if len(bad):
            raise StationsError(f"station {labels[bad[0]]!r} has no finite {what}")
    groups = _groups(np.column_stack([xs, ys]), tolerance)
    merged = [[labels[i] for i in group] for group in groups if len(group) > 1]
    return Stations(
        x=np.array([xs[g].mean() for g in groups]),
        y=np.array([ys[g].mean() for g in groups]),
        values=np.array([vs[g].mean() for g in groups]),
        names=[" + ".join(labels[i] for i in group) for group in groups],
        merged=merged,
    )


def _groups(xy: np.ndarray, tolerance: float) -> list[list[int]]:
    """Indexes of the points linked by chains of distances within ``tolerance``, in order."""
    parent = list(range(len(xy)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in cKDTree(xy).query_pairs(tolerance):
        parent[root(max(i, j))] = root(min(i, j))
    groups: dict[int, list[int]] = {}
    for i in range(len(xy)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def require(points: Stations, minimum: int, method: str) -> None:
    """Raise a :class:`StationsError` when ``points`` has fewer than ``minimum`` stations."""
    if len(points) < minimum:
        raise StationsError(
            f"{method} needs at least {minimum} stations at distinct places; "
            f"{len(points)} reported a value"
        )
