"""Window-sill points on the faces of residential buildings, where the sunlight rule is read.

A face is one edge of a footprint's boundary (holes included: courtyards have faces too).
Points lie along it ``spacing`` apart (the first half a spacing from the corner), ``offset``
outside the wall, at ``sill_height`` above each floor.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: How far outside the wall a sill point stands (metres), clear of the wall's own edge.
OFFSET = 0.1
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Home:
    """A residential building to check: its footprint, ground, floors and storey height."""

    footprint: Polygon
    base: float
    floors: int
    storey_height: float


@dataclass(frozen=True)
class Face:
    """One face of a home: the home's index, the face's normal azimuth and length."""

    home: int
    normal: float  # degrees clockwise from the frame's north, pointing out of the building
    length: float
    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def compass(self) -> str:
        """The face's orientation as a compass point (``S``, ``SE``...)."""
        return COMPASS[round(self.normal / 45.0) % 8]


@dataclass(frozen=True)
class SillPoints:
    """Sill points: position ``(n, 3)``, the face and floor of each (floor 0: ground)."""

    xyz: FloatArray
    face: IntArray
    floor: IntArray

    @property
    def size(self) -> int:
        """The number of points."""
        return len(self.face)


def faces_of(homes: Sequence[Home]) -> list[Face]:
    """Every face of every home, outward normals, in home order."""
    faces: list[Face] = []
    for index, home in enumerate(homes):
        oriented = orient(home.footprint, sign=1.0)  # solid on the left of every ring
        for ring in (oriented.exterior, *oriented.interiors):
            coords = np.asarray(ring.coords, dtype=np.float64)[:, :2]
            for (x0, y0), (x1, y1) in itertools.pairwise(coords):
                length = float(np.hypot(x1 - x0, y1 - y0))
                if length <= 1e-6:
                    continue
                # Outward: the right of the ring's direction, (dy, -dx).
                normal = float(np.degrees(np.arctan2(y1 - y0, -(x1 - x0))) % 360.0)
                faces.append(
                    Face(index, normal, length, (float(x0), float(y0)), (float(x1), float(y1)))
                )
    return faces


def sill_points(
    homes: Sequence[Home],
    faces: Sequence[Face],
    *,
    sill_height: float = 0.9,
    spacing: float = 1.0,
    all_floors: bool = False,
    offset: float = OFFSET,
) -> SillPoints:
    """The sill points of ``faces`` (of ``homes``): the ground floor only, or every floor."""
    xyz: list[FloatArray] = []
    face_of: list[IntArray] = []
    floor_of: list[IntArray] = []
    for index, face in enumerate(faces):
        home = homes[face.home]
        count = max(1, int(face.length // spacing))
        along = (np.arange(count) + 0.5) / count
        start, end = np.array(face.start), np.array(face.end)
        normal = np.radians(face.normal)
        out = np.array([np.sin(normal), np.cos(normal)]) * offset
        plan = start + np.outer(along, end - start) + out
        floors = np.arange(home.floors if all_floors else 1)
        heights = home.base + floors * home.storey_height + sill_height
        xyz.append(np.column_stack([np.tile(plan, (len(floors), 1)), np.repeat(heights, count)]))
        face_of.append(np.full(count * len(floors), index, dtype=np.int64))
        floor_of.append(np.repeat(floors, count).astype(np.int64))
    if not xyz:
        return SillPoints(np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return SillPoints(np.concatenate(xyz), np.concatenate(face_of), np.concatenate(floor_of))
