"""The LOD hierarchy: coarse tiles replaced by finer ones, errors that measure what they omit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial import cKDTree

from cim.crs import LocalFrame
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import ImportedCity, add_boxes, copy_city, make_city
from tests.oracles.glb_check import _node_matrix, _read_accessor, read_glb
from tests.oracles.tileset_check import check_tileset, feature_properties
from tests.tiles.blocks import add_blocks
from tests.tiles.tree import walk
from tiles.deviation import deviation
from tiles.tileset import TilingOptions, write_tileset


@dataclass
class Tree:
    """A written tileset and its store."""

    store: CityStore
    folder: Path
    document: dict[str, Any]

    def ids(self, tile: dict[str, Any]) -> set[str]:
        if "content" not in tile:
            return set()
        return {row["id"] for row in feature_properties(self.folder / tile["content"]["uri"])}

    def leaf_ids(self, tile: dict[str, Any]) -> set[str]:
        return set().union(*(self.ids(t) for t in walk(tile) if t["geometricError"] == 0))


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    """3 000 GIS blocks over about 1.6 km, 50 to a leaf."""
    store = make_city(tmp_path_factory.mktemp("blocks"))
    add_blocks(store, 3_000)
    summary = write_tileset(store, TilingOptions(max_features=50))
    yield Tree(store, summary.tileset.parent, json.loads(summary.tileset.read_text()))
    store.close()


def _sizes(store: CityStore) -> dict[str, float]:
    return {e.object_id: float(np.linalg.norm(np.subtract(e.bounds[3:], e.bounds[:3])))
            for e in store.mesh_index(scope=Scope.everything())}  # fmt: skip


def test_the_hierarchy_is_valid_and_replaces(blocks: Tree) -> None:
    assert check_tileset(blocks.folder / "tileset.json") == []
    tiles = list(walk(blocks.document["root"]))
    assert all(tile["refine"] == "REPLACE" for tile in tiles)
    depth = max(len(t["content"]["uri"].split("_")) for t in tiles if "content" in t)
    assert depth >= 4
    coarse = [t for t in tiles if t["geometricError"] > 0 and "content" in t]
    assert len(coarse) >= 10


def test_each_coarse_tile_omits_only_what_its_error_covers(blocks: Tree) -> None:
    sizes = _sizes(blocks.store)
    checked = 0
    for tile in walk(blocks.document["root"]):
        if tile["geometricError"] == 0:
            continue
        below = blocks.leaf_ids(tile)
        drawn = blocks.ids(tile)
        assert drawn <= below  # a coarse tile draws only objects of its own area
        assert len(drawn) <= max(1, len(below) // 4)  # and is a real simplification
        omitted = below - drawn
        largest = max(sizes[i] for i in omitted)
        assert tile["geometricError"] >= largest - 1e-6
        if drawn:  # everything drawn is at least as big as the error allows to omit
            assert min(sizes[i] for i in drawn) >= tile["geometricError"] / 16 - 1e-6
        checked += 1
    assert checked >= 10


def test_errors_grow_with_the_area_a_tile_covers(blocks: Tree) -> None:
    def side(tile: dict[str, Any]) -> float:
        half = np.asarray(tile["boundingVolume"]["box"][3:]).reshape(3, 3)
        return float(2 * max(half[0, 0], half[1, 1]))

    for tile in walk(blocks.document["root"]):
        for child in tile.get("children", []):
            assert child["geometricError"] < tile["geometricError"]
    root = blocks.document["root"]
    assert root["geometricError"] > 30.0  # the biggest blocks of 1.6 km are left to finer tiles
    assert side(root) > 1_000.0


def test_leaves_hold_every_block_once_with_its_attributes(blocks: Tree) -> None:
    rows = [row for t in walk(blocks.document["root"]) if t["geometricError"] == 0
            for row in feature_properties(blocks.folder / t["content"]["uri"])]  # fmt: skip
    assert len(rows) == len({row["id"] for row in rows}) == 3_000
    by_id = {row["id"]: row for row in rows}
    block = by_id["blocks:7"]
    assert block["class"] == "building"
    assert block["use"] == "office"
    assert block["year"] == 1957
    obj = blocks.store.get_object("blocks:7", scope=Scope.everything())
    assert block["height"] == pytest.approx(obj.top_height - obj.base_height, abs=1e-4)


def test_quantized_positions_land_within_a_step_of_the_model(blocks: Tree) -> None:
    frame_origin = json.loads((blocks.folder / "manifest.json").read_text())["origin"]
    frame = LocalFrame(blocks.store.crs, tuple(frame_origin))
    leaf = next(t for t in walk(blocks.document["root"]) if t["geometricError"] == 0)
    document, binary = read_glb(blocks.folder / leaf["content"]["uri"])
    assert "KHR_mesh_quantization" in document["extensionsRequired"]
    matrix = _node_matrix(document["nodes"][0])
    ids = [row["id"] for row in feature_properties(blocks.folder / leaf["content"]["uri"])]
    meshes = blocks.store.meshes(ids, scope=Scope.everything())
    model = frame.to_local(np.concatenate([p.vertices for parts in meshes.values() for p in parts]))
    step = np.asarray(document["nodes"][0]["scale"])
    for primitive in document["meshes"][0]["primitives"]:
        quantized = _read_accessor(document, binary, primitive["attributes"]["POSITION"])
        positions = quantized @ matrix[:3, :3].T + matrix[:3, 3]
        z_up = positions[:, [0, 2, 1]] * (1.0, -1.0, 1.0)
        distances, _ = cKDTree(model).query(z_up)
        assert distances.max() <= float(np.linalg.norm(step)) / 2 + 1e-6
        normals = _read_accessor(document, binary, primitive["attributes"]["NORMAL"]) / 127.0
        assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=0.02)


def test_a_bim_building_coarse_error_is_its_measured_lod_deviation(
    fzk_city: ImportedCity, tmp_path: Path
) -> None:
    store = copy_city(fzk_city.store, tmp_path / "city")
    extent = store.extent(scope=Scope.everything())
    assert extent is not None
    add_boxes(store, 40, origin=(extent[3] + 10.0, extent[1], extent[2]))  # standalone objects
    summary = write_tileset(store, TilingOptions(max_features=20))
    assert check_tileset(summary.tileset) == []
    document = json.loads(summary.tileset.read_text())
    building = store.objects(cls="IfcBuilding", scope=Scope.everything())[0]
    holders = [t for t in walk(document["root"]) if t["geometricError"] > 0 and "content" in t
               and building.id in {r["id"] for r in feature_properties(
                   summary.tileset.parent / t["content"]["uri"])}]  # fmt: skip
    assert holders, "no coarse tile draws the building"
    everything = Scope.everything()
    elements = [
        e.object_id
        for e in store.mesh_index(scope=everything)
        if e.cls not in TilingOptions().excluded_classes
        and e.object_id != building.id
        and store.get_object(e.object_id, scope=everything).building_id == building.id
    ]
    full = [
        (p.vertices, p.faces)
        for parts in store.meshes(elements, scope=Scope.everything()).values()
        for p in parts
    ]
    for lod in ("LOD1", "LOD2"):
        mesh = store.lods(lod, scope=Scope.everything())[building.id]
        measured = deviation((mesh.vertices, mesh.faces), full)
        assert 0.05 < measured < 15.0  # a house: its blocks miss the roof by metres, not more
    errors = [t["geometricError"] for t in holders]
    lod2_mesh = store.lods("LOD2", scope=everything)[building.id]
    lod2 = deviation((lod2_mesh.vertices, lod2_mesh.faces), full)
    assert min(errors) >= lod2 - 1e-6
    store.close()


def test_deviation_of_a_block_over_a_lower_roof() -> None:
    def prism(top: float) -> tuple[np.ndarray, np.ndarray]:
        from tests.conftest import box_mesh

        part = box_mesh((0.0, 0.0, 0.0), (10.0, 8.0, top))
        return part.vertices, part.faces

    assert deviation(prism(6.0), [prism(6.0)]) < 0.5  # the same surface, to the sampling
    assert deviation(prism(9.0), [prism(6.0)]) == pytest.approx(3.0, abs=0.4)
    assert deviation(prism(6.0), []) > 10.0  # nothing to compare with: the whole size
