"""Property tables that define every property of their class, with noData for the gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cim.model import Material
from tests.oracles.glb_check import check_glb, feature_properties, read_glb
from tiles.glb import Surface, build_glb
from tiles.metadata import METADATA_CLASS, batch_table
from tiles.properties import PROPERTIES, REQUIRED

GIS_BLOCK = {"id": "osm:1", "class": "building", "use": "retail", "height": 12.5, "base": 3.0}
WALL = {"id": "w1", "class": "IfcWall", "name": "Wall", "storey": "s1", "year": 1990,
        "external": "true", "material": "Brick"}  # fmt: skip
ROWS: list[dict[str, Any]] = [GIS_BLOCK, WALL]


def _glb(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    corners = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]] * len(rows), dtype=np.float64)
    corners += np.arange(len(rows))[:, None, None]
    surface = Surface(Material("grey", (0.5, 0.5, 0.5, 1.0)), corners, np.arange(len(rows)))
    path = tmp_path / "tile.glb"
    path.write_bytes(build_glb([surface], rows))
    return path


def test_every_table_defines_every_property_of_its_class(tmp_path: Path) -> None:
    path = _glb(tmp_path, ROWS)
    assert check_glb(path, None) == []
    document, _ = read_glb(path)
    metadata = document["extensions"]["EXT_structural_metadata"]
    definitions = metadata["schema"]["classes"][METADATA_CLASS]["properties"]
    (table,) = metadata["propertyTables"]
    assert list(table["properties"]) == list(definitions) == [name for name, _, _ in PROPERTIES]
    for name, definition in definitions.items():
        assert ("noData" in definition) == (name not in REQUIRED), name
        assert definition.get("required", False) == (name in REQUIRED), name
    # the gaps read back as noData, and so as absent
    assert feature_properties(path) == ROWS


def test_string_offsets_take_the_smallest_type_that_fits(tmp_path: Path) -> None:
    document, _ = read_glb(_glb(tmp_path, ROWS))
    (table,) = document["extensions"]["EXT_structural_metadata"]["propertyTables"]
    strings = [p for p in table["properties"].values() if "stringOffsets" in p]
    assert len(strings) == 10 and all(p["stringOffsetType"] == "UINT8" for p in strings)
    rows: list[dict[str, Any]] = [{"id": f"id-{i}", "class": "c", "name": "n" * 100}
                                  for i in range(700)]  # fmt: skip
    rows[0]["fire_rating"] = "REI90"
    path = _glb(tmp_path, rows)
    assert check_glb(path, None) == []
    document, _ = read_glb(path)
    (table,) = document["extensions"]["EXT_structural_metadata"]["propertyTables"]
    types = {name: prop.get("stringOffsetType") for name, prop in table["properties"].items()}
    assert types["fire_rating"] == types["storey"] == "UINT16"  # 704 and 700 bytes
    assert types["name"] == "UINT32"  # 70 000 bytes
    assert feature_properties(path) == rows


def test_an_empty_string_is_no_value(tmp_path: Path) -> None:
    path = _glb(tmp_path, [{"id": "a", "class": "c", "name": ""}])
    assert check_glb(path, None) == [] and feature_properties(path) == [{"id": "a", "class": "c"}]
    assert batch_table([{"id": "a", "class": "c", "name": ""}])["name"] == [None]


def test_a_batch_table_holds_every_property_with_null_for_gaps() -> None:
    table = batch_table(ROWS)
    assert list(table) == [name for name, _, _ in PROPERTIES]
    assert table["use"] == ["retail", None] and table["year"] == [None, 1990]
    assert table["id"] == ["osm:1", "w1"]
