"""How far a coarse level of detail lies from the full model: the tiles' geometric error.

The deviation of an LOD is the one-sided Hausdorff distance from the LOD's surface to the
full model's surface: the farthest a point drawn by the LOD lies from anything the full
model draws (a block's flat top over a pitched roof, a storey prism over a setback).
Both surfaces are sampled about every :data:`SPACING` metres (fewer samples, spread
evenly by area, on a very large mesh), all meshes of a model in one vectorised pass
(:func:`sample_surfaces`), so the figure is exact to about the sample spacing. The last
model's samples (and k-d tree) are kept: a building's LOD1 and LOD2 are measured against
the same elements.

Nearest neighbours are found by brute force in chunks when there are few pairs of points
(:data:`BRUTE_FORCE_PAIRS`), else with SciPy's k-d tree. SciPy is imported on the first
large measure (:func:`kd_tree`): importing ``scipy.spatial`` takes about a third of a
second, and a small model never needs it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cim.model import FloatArray, IndexArray

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

SPACING = 0.5
MAX_SAMPLES = 400_000  # per mesh
BRUTE_FORCE_PAIRS = 5_000_000  # below this many (sample, sample) pairs, no k-d tree
_CHUNK_PAIRS = 250_000  # pairs compared at once by the brute force

Mesh = tuple[FloatArray, IndexArray]


def kd_tree() -> type[cKDTree]:
    """SciPy's k-d tree class, imported on first use."""
    from scipy.spatial import cKDTree

    return cKDTree


def sample_surfaces(meshes: Sequence[Mesh], spacing: float = SPACING) -> FloatArray:
    """Points on all the meshes' triangles about ``spacing`` apart, with every used vertex.

    One vectorised pass over every triangle of every mesh: each triangle gets
    ``area / spacing**2`` samples (its fractional part drawn at random; scaled down on a
    mesh that would get more than :data:`MAX_SAMPLES`), placed at uniform random
    barycentric coordinates. The draw is seeded: the same meshes give the same points.

    Returns
    -------
    FloatArray
        ``(n, 3)`` points.
    """
    vertex_blocks = [np.asarray(v, dtype=np.float64).reshape(-1, 3) for v, _ in meshes]
    face_blocks = [np.asarray(f, dtype=np.int64).reshape(-1, 3) for _, f in meshes]
    face_counts = np.array([len(f) for f in face_blocks], dtype=np.int64)
    if face_counts.sum() == 0:
        return np.zeros((0, 3))
    starts = np.cumsum([0] + [len(v) for v in vertex_blocks[:-1]])
    vertices = np.concatenate(vertex_blocks)
    faces = np.concatenate(face_blocks) + np.repeat(starts, face_counts)[:, None]
    corners = vertices[faces]
    edge_a, edge_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    areas = np.linalg.norm(np.cross(edge_a, edge_b), axis=1) / 2
    wanted = areas / (spacing * spacing)
    mesh_of_face = np.repeat(np.arange(len(face_blocks)), face_counts)
    per_mesh = np.bincount(mesh_of_face, weights=wanted, minlength=len(face_blocks))
    scale = np.minimum(1.0, MAX_SAMPLES / np.maximum(per_mesh, 1e-300))
    wanted *= scale[mesh_of_face]
    rng = np.random.default_rng(0)
    counts = np.floor(wanted + rng.random(len(wanted))).astype(np.int64)
    triangle = np.repeat(np.arange(len(faces)), counts)
    u, v = rng.random(len(triangle)), rng.random(len(triangle))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    points = corners[triangle, 0] + u[:, None] * edge_a[triangle] + v[:, None] * edge_b[triangle]
    return np.concatenate([vertices[np.unique(faces)], points])


def sample_surface(vertices: FloatArray, faces: IndexArray, spacing: float = SPACING) -> FloatArray:
    """Points on one mesh's triangles about ``spacing`` apart, with every vertex; ``(n, 3)``."""
    return sample_surfaces([(vertices, faces)], spacing)


@dataclass
class _Reference:
    """A full model's surface samples, with their k-d tree once one is built."""

    points: FloatArray
    tree: cKDTree | None = None


_last_reference: dict[bytes, _Reference] = {}  # the last model sampled: its LODs share it


def _reference(full: Sequence[Mesh]) -> _Reference:
    """The samples of ``full``, reused when the same meshes are measured again."""
    hasher = hashlib.blake2b(digest_size=16)
    for vertices, faces in full:
        for array in (np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)):
            hasher.update(repr(array.shape).encode())
            hasher.update(np.ascontiguousarray(array).tobytes())
    key = hasher.digest()
    found = _last_reference.get(key)
    if found is None:  # another thread may replace it meanwhile: this one keeps its own
        found = _Reference(sample_surfaces(full))
        _last_reference.clear()
        _last_reference[key] = found
    return found


def farthest_nearest(queries: FloatArray, reference: FloatArray) -> float:
    """The largest distance from a query point to its nearest reference point, metres.

    Both sets must be non-empty. Exact: chunked brute force for few pairs, else a k-d tree.
    """
    return _farthest_nearest(queries, _Reference(reference))


def _farthest_nearest(queries: FloatArray, reference: _Reference) -> float:
    small = len(queries) * len(reference.points) <= BRUTE_FORCE_PAIRS
    if small and reference.tree is None and "scipy.spatial" not in sys.modules:
        return _brute_force_farthest_nearest(queries, reference.points)
    if reference.tree is None:
        reference.tree = kd_tree()(reference.points)
    distances, _ = reference.tree.query(queries, workers=1)
    return float(distances.max())


def _brute_force_farthest_nearest(queries: FloatArray, reference: FloatArray) -> float:
    centre = reference.mean(axis=0)
    reference, queries = reference - centre, queries - centre
    step = max(1, _CHUNK_PAIRS // len(reference))
    farthest = 0.0
    for start in range(0, len(queries), step):
        gaps = queries[start : start + step, None, :] - reference[None, :, :]
        nearest = np.einsum("ijk,ijk->ij", gaps, gaps).min(axis=1)
        farthest = max(farthest, float(nearest.max()))
    return float(np.sqrt(farthest))


def deviation(coarse: Mesh, full: Sequence[Mesh]) -> float:
    """The farthest point of the ``coarse`` surface from the ``full`` surfaces, metres."""
    coarse_points = sample_surface(*coarse)
    if len(coarse_points) == 0:
        return 0.0
    reference = _reference(full)
    if len(reference.points) == 0:
        low, high = coarse_points.min(axis=0), coarse_points.max(axis=0)
        return float(np.linalg.norm(high - low))
    return _farthest_nearest(coarse_points, reference)
