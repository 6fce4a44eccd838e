"""How far a coarse level of detail lies from the full model: the tiles' geometric error.

The deviation of an LOD is the one-sided Hausdorff distance from the LOD's surface to the
full model's surface: the farthest a point drawn by the LOD lies from anything the full
model draws (a block's flat top over a pitched roof, a storey prism over a setback).
Both surfaces are sampled about every :data:`SPACING` metres (fewer samples, spread
evenly by area, on very large models), and nearest neighbours are found with a k-d tree,
so the figure is exact to about the sample spacing.

SciPy is imported on the first measure (:func:`kd_tree`): importing ``scipy.spatial`` takes
about a third of a second, and a small model tiled as one tile never measures anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cim.model import FloatArray, IndexArray

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

SPACING = 0.5
MAX_SAMPLES = 400_000


def kd_tree() -> type[cKDTree]:
    """SciPy's k-d tree class, imported on first use."""
    from scipy.spatial import cKDTree

    return cKDTree


def sample_surface(vertices: FloatArray, faces: IndexArray, spacing: float = SPACING) -> FloatArray:
    """Points on the triangles about ``spacing`` apart, with every vertex; ``(n, 3)``."""
    if len(faces) == 0:
        return np.zeros((0, 3))
    corners = vertices[faces]
    areas = (
        np.linalg.norm(
            np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
        )
        / 2
    )
    wanted = areas / (spacing * spacing)
    total = float(wanted.sum())
    if total > MAX_SAMPLES:
        wanted *= MAX_SAMPLES / total
    rng = np.random.default_rng(0)
    counts = np.floor(wanted + rng.random(len(wanted))).astype(np.int64)
    triangle = np.repeat(np.arange(len(faces)), counts)
    u, v = rng.random(len(triangle)), rng.random(len(triangle))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    chosen = corners[triangle]
    points = chosen[:, 0] + u[:, None] * (chosen[:, 1] - chosen[:, 0])
    points += v[:, None] * (chosen[:, 2] - chosen[:, 0])
    return np.concatenate([vertices[np.unique(faces)], points])


def deviation(
    coarse: tuple[FloatArray, IndexArray], full: list[tuple[FloatArray, IndexArray]]
) -> float:
    """The farthest point of the ``coarse`` surface from the ``full`` surfaces, metres."""
    coarse_points = sample_surface(*coarse)
    full_points = [sample_surface(vertices, faces) for vertices, faces in full]
    reference = np.concatenate(full_points) if full_points else np.zeros((0, 3))
    if len(coarse_points) == 0:
        return 0.0
    if len(reference) == 0:
        low, high = coarse_points.min(axis=0), coarse_points.max(axis=0)
        return float(np.linalg.norm(high - low))
    distances, _ = kd_tree()(reference).query(coarse_points, workers=1)
    return float(distances.max())
