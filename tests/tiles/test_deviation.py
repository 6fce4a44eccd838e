"""The LOD deviation measure: the vectorised surface sampler and the nearest-neighbour search,
checked against boxes whose one-sided Hausdorff distance is known analytically."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import tiles.deviation
from tests.conftest import PROJECT_ROOT, box_mesh
from tiles.deviation import SPACING, deviation, farthest_nearest, sample_surfaces

Mesh = tuple[np.ndarray, np.ndarray]


def box(low: tuple[float, float, float], high: tuple[float, float, float]) -> Mesh:
    part = box_mesh(low, high)
    return part.vertices, part.faces


def test_samples_lie_on_the_box_and_spread_evenly_by_area() -> None:
    points = sample_surfaces([box((0.0, 0.0, 0.0), (10.0, 8.0, 6.0))])
    area = 2 * (10 * 8 + 10 * 6 + 8 * 6)
    expected = area / SPACING**2
    assert len(points) == pytest.approx(expected + 8, rel=0.05)  # the samples and 8 corners
    assert np.all(points >= -1e-9) and np.all(points <= (10 + 1e-9, 8 + 1e-9, 6 + 1e-9))
    on_a_face = np.isclose(points, 0.0) | np.isclose(points, (10.0, 8.0, 6.0))
    assert np.all(on_a_face.any(axis=1))  # on the surface, not inside
    on_top = np.isclose(points[:, 2], 6.0).sum()
    assert on_top / len(points) == pytest.approx(10 * 8 / area, abs=0.03)


def test_one_pass_samples_every_mesh_and_caps_each_mesh_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small, large = box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)), box((5.0, 0.0, 0.0), (45.0, 40.0, 30.0))
    monkeypatch.setattr(tiles.deviation, "MAX_SAMPLES", 1000)
    points = sample_surfaces([small, large])
    in_small = np.all(points <= 1.0 + 1e-9, axis=1)
    assert in_small.sum() == pytest.approx(6 / SPACING**2 + 8, abs=8)  # not scaled down
    assert (~in_small).sum() == pytest.approx(1000 + 8, rel=0.05)  # scaled to the cap
    assert np.all(points[~in_small, 0] >= 5.0 - 1e-9)  # each mesh's samples on itself


def test_empty_meshes_give_no_samples() -> None:
    assert sample_surfaces([]).shape == (0, 3)
    assert sample_surfaces([(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))]).shape == (0, 3)


def test_a_cube_against_itself_drawn_as_other_triangles_is_within_the_spacing() -> None:
    cube = box((0.0, 0.0, 0.0), (4.0, 4.0, 4.0))
    vertices, faces = cube
    halves = [(vertices, faces[:6]), (vertices, faces[6:])]  # other meshes, other samples
    assert not np.array_equal(sample_surfaces(halves), sample_surfaces([cube]))
    assert deviation(cube, halves) < SPACING


def test_a_box_lod_over_a_smaller_box_misses_it_by_the_corner_gap() -> None:
    outer = box((-1.0, -1.0, 0.0), (11.0, 9.0, 7.0))
    inner = box((0.0, 0.0, 0.0), (10.0, 8.0, 6.0))
    # farthest: an upper corner of the block, (1, 1, 1) from the inner box's corner
    assert deviation(outer, [inner]) == pytest.approx(math.sqrt(3.0), abs=SPACING)
    # the other way the inner box lies on or 1 m inside the block's walls and roof
    assert deviation(inner, [outer]) == pytest.approx(1.0, abs=SPACING)


def test_nothing_to_compare_with_or_nothing_drawn() -> None:
    block = box((0.0, 0.0, 0.0), (3.0, 4.0, 12.0))
    assert deviation(block, []) == pytest.approx(13.0)  # the block's diagonal
    empty = (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    assert deviation(empty, [block]) == 0.0


def test_brute_force_and_k_d_tree_find_the_same_farthest_nearest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    reference = rng.random((900, 3)) * 20 + (430_000.0, 2_557_000.0, 10.0)  # projected metres
    queries = rng.random((700, 3)) * 30 + (430_000.0, 2_557_000.0, 10.0)
    brute = tiles.deviation._brute_force_farthest_nearest(queries, reference)
    monkeypatch.setattr(tiles.deviation, "BRUTE_FORCE_PAIRS", 0)
    assert brute == pytest.approx(farthest_nearest(queries, reference), abs=1e-9)
    gaps = queries[:, None, :] - reference[None, :, :]
    assert brute == pytest.approx(float(np.linalg.norm(gaps, axis=2).min(axis=1).max()))


def test_a_small_measure_does_not_import_scipy() -> None:
    script = (
        "import sys; from tests.conftest import box_mesh; from tiles.deviation import deviation\n"
        "a, b = box_mesh((0, 0, 0), (5, 4, 6)), box_mesh((0, 0, 0), (5, 4, 3))\n"
        "print(deviation((a.vertices, a.faces), [(b.vertices, b.faces)]),"
        " 'scipy.spatial' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=PROJECT_ROOT, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )  # fmt: skip
    measured, imported = done.stdout.split() or ["nan", "?"]
    assert imported == "False", done.stderr[-500:]
    assert float(measured) == pytest.approx(3.0, abs=SPACING)  # the roof 3 m above


def test_the_lods_of_one_model_share_its_samples_and_another_model_is_resampled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    sampler = tiles.deviation.sample_surfaces

    def counted(meshes: list[Mesh], spacing: float = SPACING) -> np.ndarray:
        calls.append(len(meshes))
        return sampler(meshes, spacing)

    monkeypatch.setattr(tiles.deviation, "sample_surfaces", counted)
    lod1, lod2 = box((0.0, 0.0, 0.0), (10.0, 8.0, 9.0)), box((0.0, 0.0, 0.0), (10.0, 8.0, 7.0))
    elements = [box((0.0, 0.0, 0.0), (10.0, 8.0, 3.0)), box((0.0, 0.0, 3.0), (10.0, 8.0, 6.0))]
    assert deviation(lod1, elements) == pytest.approx(3.0, abs=SPACING)
    assert deviation(lod2, [(v.copy(), f.copy()) for v, f in elements]) == pytest.approx(
        1.0, abs=SPACING
    )
    assert calls.count(2) == 1  # the two elements sampled once for both LODs
    lower = [(v * (1.0, 1.0, 0.5), f) for v, f in elements]  # the same arrays' shapes, moved
    assert deviation(lod2, lower) == pytest.approx(4.0, abs=SPACING)
    assert calls.count(2) == 2
