"""A mesh part keeps only the vertices its faces use, renumbered in their order."""

from __future__ import annotations

import numpy as np
import pytest

from bim.ingest import _compact


@pytest.mark.parametrize("count", [3, 40, 700])
def test_compact_keeps_the_used_vertices_in_order(count: int) -> None:
    rng = np.random.default_rng(count)
    points = rng.random((count, 3))
    faces = rng.integers(0, count, (count // 3 + 1, 3)).astype(np.uint32)
    kept, renumbered = _compact(points, faces)
    used = sorted(set(faces.ravel().tolist()))
    assert np.array_equal(kept, points[used])
    assert renumbered.dtype == np.uint32
    assert np.array_equal(kept[renumbered], points[faces])
