"""3D Tiles 1.0 output: b3dm content with batch tables, valid by the spec's layout rules."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import ImportedCity, copy_city
from tests.oracles.tileset_check import check_tileset
from tests.tiles.test_tileset import validate_glbs
from tests.tiles.tree import walk
from tiles.b3dm import read_b3dm, wrap_b3dm
from tiles.errors import TilesError
from tiles.properties import PROPERTIES
from tiles.tileset import DEFAULT_EXCLUDED, TilingOptions, write_tileset


@pytest.fixture(scope="module")
def b3dm_city(fzk_city: ImportedCity, tmp_path_factory: pytest.TempPathFactory) -> CityStore:
    store = copy_city(fzk_city.store, tmp_path_factory.mktemp("b3dm") / "city")
    write_tileset(store, TilingOptions(max_features=20, content_format="b3dm"))
    return store


def test_b3dm_tileset_is_valid_1_0(b3dm_city: CityStore) -> None:
    folder = b3dm_city.city_dir / "tiles"
    document = json.loads((folder / "tileset.json").read_text())
    assert document["asset"]["version"] == "1.0"
    uris = [t["content"]["uri"] for t in walk(document["root"]) if "content" in t]
    assert uris and all(uri.endswith(".b3dm") for uri in uris)
    assert check_tileset(folder / "tileset.json") == []


def test_batch_tables_hold_every_element_and_glbs_validate(
    b3dm_city: CityStore, tmp_path: Path
) -> None:
    folder = b3dm_city.city_dir / "tiles"
    document = json.loads((folder / "tileset.json").read_text())
    ids, glbs = [], []
    for tile in walk(document["root"]):
        if "content" not in tile:
            continue
        data = (folder / tile["content"]["uri"]).read_bytes()
        assert data[:4] == b"b3dm" and len(data) % 8 == 0
        feature_table, batch_table, glb = read_b3dm(data)
        assert len(batch_table["id"]) == feature_table["BATCH_LENGTH"]
        assert list(batch_table) == [name for name, _, _ in PROPERTIES]  # every file, all
        assert struct.unpack_from("<I", data, 8)[0] == len(data)
        glb_document = json.loads(glb[20 : 20 + struct.unpack_from("<I", glb, 12)[0]])
        attributes = glb_document["meshes"][0]["primitives"][0]["attributes"]
        assert "_BATCHID" in attributes and "_FEATURE_ID_0" not in attributes
        assert "EXT_structural_metadata" not in glb_document.get("extensionsUsed", [])
        if tile["geometricError"] == 0:
            ids += batch_table["id"]
        path = tmp_path / f"{len(glbs)}.glb"
        path.write_bytes(glb)
        glbs.append(path)
    expected = {
        e.object_id
        for e in b3dm_city.mesh_index(scope=Scope.everything())
        if e.cls not in DEFAULT_EXCLUDED
    }
    assert sorted(ids) == sorted(expected)
    report = validate_glbs(glbs, tmp_path)
    assert all(r["numErrors"] == 0 for r in report.values()), report


def test_b3dm_layout_errors_are_named() -> None:
    with pytest.raises(TilesError, match="8-byte boundary"):
        wrap_b3dm(b"x" * 12, 1, {"id": ["a"]})
    good = wrap_b3dm(b"\0" * 16, 1, {"id": ["a"]})
    assert read_b3dm(good)[1] == {"id": ["a"]}
    with pytest.raises(TilesError, match="not a b3dm"):
        read_b3dm(b"glTF" + good[4:])
    with pytest.raises(TilesError, match="the header says"):
        read_b3dm(good + b"\0" * 8)
    with pytest.raises(TilesError, match="too short"):
        read_b3dm(good[:20])
