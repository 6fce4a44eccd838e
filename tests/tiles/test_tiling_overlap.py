"""The pool draws tiles while a building's LODs are measured, not after every measure."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import tiles.content
from cim.layout import CityLayout
from tests.conftest import ImportedCity, copy_city
from tiles.tileset import TilingOptions, write_tileset

WAIT_SECONDS = 20.0


def test_tiles_are_drawn_while_a_building_is_measured(
    fzk_city: ImportedCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = copy_city(fzk_city.store, tmp_path / "city")
    drawn = CityLayout(store.city_dir).tiles_staging / "content"
    seen = tmp_path / "seen"
    measure = tiles.content.measure_building

    def measure_once_a_tile_is_drawn(job: tuple[str, int]) -> tuple[str, dict[str, float]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(drawn.glob("*.glb")) and time.monotonic() < deadline:
            time.sleep(0.02)
        with seen.open("a") as out:  # in a pool worker: tell the test through a file
            out.write(f"{any(drawn.glob('*.glb'))}\n")
        return measure(job)

    # pickled by name into the forked pool workers, which inherit the patched module
    measure_once_a_tile_is_drawn.__module__ = measure.__module__
    measure_once_a_tile_is_drawn.__qualname__ = measure.__qualname__
    monkeypatch.setattr(tiles.content, "measure_building", measure_once_a_tile_is_drawn)
    summary = write_tileset(store, TilingOptions(max_features=20, workers=2))  # LODs above
    store.close()
    assert summary.written >= 1
    assert seen.read_text().split() == ["True"]  # one building, measured after a tile


def test_a_large_building_is_measured_beside_the_drawing_of_few_tiles() -> None:
    """Below 8 tiles the drawing stays in this process, unless a building of at least
    20 000 triangles must be measured: a worker then measures it while others draw."""
    from tiles.tileset import _workers

    cores = os.cpu_count() or 1
    assert _workers(TilingOptions(), jobs=3, large_measures=0) == 1
    assert _workers(TilingOptions(), jobs=3, large_measures=1) == cores
    assert _workers(TilingOptions(), jobs=40, large_measures=0) == cores
    assert _workers(TilingOptions(workers=1), jobs=3, large_measures=1) == 1


def test_the_index_knows_a_units_triangles(tekla_city: ImportedCity, tmp_path: Path) -> None:
    from cim.meshindex import MeshIndex
    from cim.scope import Scope

    index, _ = MeshIndex.build(tekla_city.store, tmp_path / "index.sqlite", ())
    try:
        units = [row[0] for row in index.conn.execute("SELECT unit FROM units")]
        counts = [index.unit_triangles(unit) for unit in units]
    finally:
        index.close()
    total = sum(entry.triangles for entry in tekla_city.store.mesh_index(scope=Scope.everything()))
    assert max(counts) >= 20_000 and sum(counts) == total
