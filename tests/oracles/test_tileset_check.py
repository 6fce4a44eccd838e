"""The tileset checker: a valid tileset passes, and each kind of corruption is reported."""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import add_boxes, make_city
from tests.oracles.tileset_check import check_tileset, feature_properties, read_glb
from tests.tiles.tree import leaf_contents
from tiles.b3dm import read_b3dm, wrap_b3dm
from tiles.tileset import TilingOptions, write_tileset

BOXES = 12


@pytest.fixture(scope="module")
def tiny_tiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiled city of twelve boxes, three to a leaf: a root, inner tiles and leaves."""
    store = make_city(tmp_path_factory.mktemp("tiny"))
    add_boxes(store, BOXES)
    # uncompressed, so that tests can corrupt the bytes of a view directly
    summary = write_tileset(store, TilingOptions(max_features=3, compress=False))
    store.close()
    return summary.tileset.parent


@pytest.fixture()
def tiles_copy(tiny_tiles: Path, tmp_path: Path) -> Path:
    """A copy of the tiny tileset folder that a test may corrupt."""
    return Path(shutil.copytree(tiny_tiles, tmp_path / "tiles"))


def _load(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "tileset.json").read_text())
    return document


def _save(folder: Path, document: dict[str, Any]) -> None:
    (folder / "tileset.json").write_text(json.dumps(document))


def _walk(tile: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tile
    for child in tile.get("children", []):
        yield from _walk(child)


def _first_leaf(document: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in _walk(document["root"]) if "content" in t)


def _first_glb(folder: Path) -> Path:
    return folder / _first_leaf(_load(folder))["content"]["uri"]


def _pack(path: Path, document: dict[str, Any], binary: bytes | None) -> None:
    text = json.dumps(document).encode("utf-8")
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    if binary is not None:
        binary += b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<I4s", len(binary), b"BIN\0") + binary
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks)


def _edit_glb(folder: Path, edit: Callable[[dict[str, Any], bytearray], None]) -> None:
    path = _first_glb(folder)
    document, binary = read_glb(path)
    data = bytearray(binary)
    edit(document, data)
    _pack(path, document, bytes(data))


def _view_slice(document: dict[str, Any], index: int) -> slice:
    view = document["bufferViews"][index]
    start = view.get("byteOffset", 0)
    return slice(start, start + view["byteLength"])


def _feature_id_slice(document: dict[str, Any]) -> slice:
    primitive = document["meshes"][0]["primitives"][0]
    accessor = document["accessors"][primitive["attributes"]["_FEATURE_ID_0"]]
    return _view_slice(document, accessor["bufferView"])


def _assert_reported(problems: list[str], *phrases: str) -> None:
    assert problems, "the checker found nothing"
    for phrase in phrases:
        assert any(phrase in problem for problem in problems), (phrase, problems)


def test_the_tiny_tileset_is_valid(tiny_tiles: Path) -> None:
    document = _load(tiny_tiles)
    assert len(list(_walk(document["root"]))) >= 5
    assert document["root"].get("children")
    assert check_tileset(tiny_tiles / "tileset.json") == []


def test_feature_properties_and_read_glb(tiny_tiles: Path) -> None:
    rows = [row for glb in leaf_contents(tiny_tiles) for row in feature_properties(glb)]
    assert sorted(row["id"] for row in rows) == sorted(f"synthetic-{i}" for i in range(BOXES))
    for row in rows:
        index = int(row["id"].split("-")[1])
        assert row == {"id": f"synthetic-{index}", "class": "IfcWall", "name": f"box {index}"}
    document, binary = read_glb(_first_glb(tiny_tiles))
    assert document["asset"]["version"] == "2.0"
    assert len(binary) >= document["buffers"][0]["byteLength"]


def test_unreadable_tileset(tmp_path: Path) -> None:
    (tmp_path / "tileset.json").write_text("{ not json")
    _assert_reported(check_tileset(tmp_path / "tileset.json"), "cannot read the tileset")
    _assert_reported(check_tileset(tmp_path / "missing.json"), "cannot read the tileset")


def test_wrong_asset_version(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    document["asset"]["version"] = "2.0"
    _save(tiles_copy, document)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "asset.version is '2.0'")
    document["asset"]["version"] = "1.0"
    _save(tiles_copy, document)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "1.0 tileset holds glb content")


def test_root_without_transform_or_refine(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    document["root"]["transform"] = document["root"]["transform"][:12]
    del document["root"]["refine"]
    _save(tiles_copy, document)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "root: transform must be a list of 16 numbers",
        "root: refine is None",
    )


def test_tileset_error_below_the_root_error(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    document["geometricError"] = document["root"]["geometricError"] / 2
    _save(tiles_copy, document)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "smaller than the root's")


def test_child_box_outside_its_parent(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    child = document["root"]["children"][0]
    child["boundingVolume"]["box"][0] += 1000.0
    _save(tiles_copy, document)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "root.children[0]: its box is not inside the box of root",
    )


def test_child_box_slightly_larger_than_its_parent(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    child = document["root"]["children"][0]
    box = child["boundingVolume"]["box"]
    root_box = document["root"]["boundingVolume"]["box"]
    box[:3] = root_box[:3]
    box[3:] = (np.asarray(root_box[3:]) * 1.0).tolist()
    box[3] += 0.005  # within the 1 cm tolerance
    _save(tiles_copy, document)
    problems = check_tileset(tiles_copy / "tileset.json")
    assert not any("root.children[0]: its box" in p for p in problems), problems
    box[3] += 0.05  # 5.5 cm too long
    _save(tiles_copy, document)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "root.children[0]: its box")


def test_geometric_error_increasing(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    child = document["root"]["children"][1]
    child["geometricError"] = document["root"]["geometricError"] * 2
    _save(tiles_copy, document)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "root.children[1]: geometricError",
        "is not smaller than its parent's",
    )


def test_equal_geometric_error_is_reported(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    document["root"]["children"][0]["geometricError"] = document["root"]["geometricError"]
    _save(tiles_copy, document)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "is not smaller")


def test_negative_geometric_error_and_missing_box(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    leaf = _first_leaf(document)
    leaf["geometricError"] = -1
    del leaf["boundingVolume"]
    _save(tiles_copy, document)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "geometricError must be a number >= 0",
        "boundingVolume.box must be a list of 12 numbers",
    )


def test_missing_content_file(tiles_copy: Path) -> None:
    glb = _first_glb(tiles_copy)
    glb.unlink()
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        f"content content/{glb.name} does not exist",
    )


def test_content_outside_its_tile_box(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    leaf = _first_leaf(document)
    box = leaf["boundingVolume"]["box"]
    box[3:] = [0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5]
    _save(tiles_copy, document)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"), "POSITION min/max reach outside the tile's box"
    )


@pytest.mark.parametrize(
    ("payload", "phrase"),
    [
        (b"glTF", "too short for a glb header"),
        (b"NOPE" + b"\0" * 40, "not a glb"),
        (struct.pack("<4sII", b"glTF", 1, 12), "glb version 1"),
        (struct.pack("<4sII", b"glTF", 2, 99), "header says 99 bytes"),
    ],
)
def test_unreadable_glb(tiles_copy: Path, payload: bytes, phrase: str) -> None:
    _first_glb(tiles_copy).write_bytes(payload)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), phrase)


def test_glb_without_bin_chunk(tiles_copy: Path) -> None:
    path = _first_glb(tiles_copy)
    document, _ = read_glb(path)
    _pack(path, document, None)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "no BIN chunk")
    with pytest.raises(ValueError, match="no BIN chunk"):
        feature_properties(path)


def test_metadata_count_wrong(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], _: bytearray) -> None:
        document["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["count"] += 1

    _edit_glb(tiles_copy, edit)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "propertyTables[0].id: count is")


def test_metadata_class_and_properties_differ_from_the_schema(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], _: bytearray) -> None:
        metadata = document["extensions"]["EXT_structural_metadata"]
        properties = metadata["schema"]["classes"]["element"]["properties"]
        properties["name"]["required"] = True  # it keeps its noData
        properties["year"]["noData"] = "never"
        properties["flag"] = {"type": "BOOLEAN", "noData": False}
        del metadata["propertyTables"][0]["properties"]["storey"]  # optional, still required
        metadata["propertyTables"][0]["properties"]["colour"] = {"values": 0}
        metadata["propertyTables"].append(dict(metadata["propertyTables"][0], **{"class": "x"}))

    _edit_glb(tiles_copy, edit)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "propertyTables[0]: properties differ from class 'element' (missing"
        " ['flag', 'storey'], not in the class ['colour'])",
        "propertyTables[1]: class 'x' is not in the schema",
        "property 'name': a required property cannot have a noData value",
        "property 'year': noData 'never' does not match its type 'SCALAR'",
        "property 'flag': a BOOLEAN property cannot have a noData value",
        "different metadata schemas",
    )


def test_string_offsets_out_of_range_or_decreasing(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], binary: bytearray) -> None:
        table = document["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        table["properties"]["class"]["stringOffsets"] = len(document["bufferViews"]) + 4
        ids = table["properties"]["id"]
        dtype = {"UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4"}[ids["stringOffsetType"]]
        where = _view_slice(document, ids["stringOffsets"])
        binary[where] = np.frombuffer(bytes(binary[where]), dtype=dtype)[::-1].tobytes()

    _edit_glb(tiles_copy, edit)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "propertyTables[0].class: stringOffsets",
        "is not a bufferView",
        "propertyTables[0].id: stringOffsets decrease",
    )


def test_feature_id_out_of_range(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], binary: bytearray) -> None:
        where = _feature_id_slice(document)
        ids = np.frombuffer(bytes(binary[where]), dtype="<u4").copy()  # uint16, stride 4
        ids[0] = 60_000
        binary[where] = ids.tobytes()

    _edit_glb(tiles_copy, edit)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "_FEATURE_ID_0 values span 0..60000",
        "outside [0, ",
    )


def test_feature_id_not_an_integer(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], binary: bytearray) -> None:
        where = _feature_id_slice(document)
        ids = np.frombuffer(bytes(binary[where]), dtype="<u4").astype("<f4")
        ids[-1] = 0.5
        binary[where] = ids.tobytes()
        primitive = document["meshes"][0]["primitives"][0]
        document["accessors"][primitive["attributes"]["_FEATURE_ID_0"]]["componentType"] = 5126

    _edit_glb(tiles_copy, edit)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "values that are not integers")


def test_feature_ids_referring_to_a_missing_table(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], _: bytearray) -> None:
        primitive = document["meshes"][0]["primitives"][0]
        primitive["extensions"]["EXT_mesh_features"]["featureIds"][0]["propertyTable"] = 1
        document["extensionsUsed"] = []

    _edit_glb(tiles_copy, edit)
    _assert_reported(
        check_tileset(tiles_copy / "tileset.json"),
        "propertyTable 1 is not a property table of the glb",
        "EXT_structural_metadata is not listed in extensionsUsed",
        "EXT_mesh_features is not listed in extensionsUsed",
    )


def test_every_problem_is_reported_not_only_the_first(tiles_copy: Path) -> None:
    document = _load(tiles_copy)
    document["asset"]["version"] = "0.0"
    document["root"]["children"][0]["geometricError"] = 1e9
    _save(tiles_copy, document)
    _first_glb(tiles_copy).unlink()
    problems = check_tileset(tiles_copy / "tileset.json")
    assert len(problems) >= 3


def test_malformed_gltf_json_is_reported_not_raised(tiles_copy: Path) -> None:
    def edit(document: dict[str, Any], _: bytearray) -> None:
        document["meshes"] = [{"primitives": "oops"}]
        del document["extensions"]

    _edit_glb(tiles_copy, edit)
    _assert_reported(check_tileset(tiles_copy / "tileset.json"), "malformed glTF JSON")
    with pytest.raises(ValueError, match="no EXT_structural_metadata"):
        feature_properties(_first_glb(tiles_copy))


def test_corrupt_meshopt_streams_are_reported(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_boxes(store, 40)
    folder = write_tileset(store, TilingOptions(max_features=10)).tileset.parent
    store.close()
    assert check_tileset(folder / "tileset.json") == []

    def edit(document: dict[str, Any], binary: bytearray) -> None:
        views = [v for v in document["bufferViews"] if "extensions" in v]
        assert views, "nothing was compressed"
        extension = views[0]["extensions"]["EXT_meshopt_compression"]
        binary[extension["byteOffset"]] = 0x00  # the stream's header byte

    _edit_glb(folder, edit)
    _assert_reported(check_tileset(folder / "tileset.json"), "not a meshopt")


def test_b3dm_batch_tables_with_different_properties_are_reported(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_boxes(store, BOXES)
    summary = write_tileset(store, TilingOptions(max_features=3, content_format="b3dm"))
    store.close()
    folder = summary.tileset.parent
    assert check_tileset(summary.tileset) == []
    path = folder / _first_leaf(_load(folder))["content"]["uri"]
    feature_table, batch_table, glb = read_b3dm(path.read_bytes())
    del batch_table["storey"]
    path.write_bytes(wrap_b3dm(glb, feature_table["BATCH_LENGTH"], batch_table))
    _assert_reported(check_tileset(summary.tileset), "batch tables hold 2 different property sets")
