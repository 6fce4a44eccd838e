"""The city folder's files are named by cim.layout.CityLayout, and only there."""

from __future__ import annotations

import ast
from pathlib import Path

from cim.layout import CityLayout
from tests.conftest import add_boxes, make_city
from tiles.tileset import write_tileset

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("cim", "bim", "tiles", "simulation", "api")
# File names of a city folder that no module but cim.layout may spell out.
NAMES = {"city.gpkg", ".uploads", "tileset.json", "layer.json", "imagery.json", ".tiles-index-",
         "terrain/dem.tif", "imagery/ortho.tif", ".tiles.partial"}  # fmt: skip


def test_the_store_and_the_tiler_write_where_the_layout_says(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    layout = CityLayout(store.city_dir)
    assert store.path == layout.store and layout.store.is_file()
    add_boxes(store, 3)
    (layout.root / f"{CityLayout.TILES_INDEX_PREFIX}killed").mkdir()  # a killed run's index
    assert len(layout.stale_tile_indexes()) == 1
    summary = write_tileset(store)
    store.close()
    assert summary.tileset == layout.tileset and layout.tileset.is_file()
    assert not layout.tiles_staging.exists() and layout.stale_tile_indexes() == []
    assert layout.upload("job1") == store.city_dir / ".uploads" / "job1"


def test_no_module_but_the_layout_names_a_city_file() -> None:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "cim" / "layout.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
            }
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and node.value in NAMES
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == [], "use cim.layout.CityLayout"
