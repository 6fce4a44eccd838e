"""Re-tiling after a change rewrites only the tiles the change touches, and says which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim.scope import Scope
from cim.store import CityStore
from cim.store_sqlite import WAL_FILES
from tests.conftest import make_city
from tests.oracles.tileset_check import check_tileset, feature_properties
from tests.signin import admin_client
from tests.tiles.blocks import add_blocks
from tests.tiles.tree import load, walk
from tiles.tileset import TilingOptions, write_tileset

OPTIONS = TilingOptions(max_features=40)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time of every content file."""
    return {f"content/{p.name}": (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (folder / "content").iterdir()}  # fmt: skip


def _path_to(document: dict[str, Any], folder: Path, object_id: str) -> list[dict[str, Any]]:
    """The leaf holding ``object_id`` and all its ancestors."""

    def search(tile: dict[str, Any], trail: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        trail = [*trail, tile]
        if tile["geometricError"] == 0 and "content" in tile:
            ids = {row["id"] for row in feature_properties(folder / tile["content"]["uri"])}
            return trail if object_id in ids else None
        for child in tile.get("children", []):
            found = search(child, trail)
            if found:
                return found
        return None

    found = search(document["root"], [])
    assert found is not None, f"{object_id} is in no leaf"
    return found


def test_changing_one_block_rewrites_its_leaf_and_ancestors_only(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_blocks(store, 600)
    first = write_tileset(store, OPTIONS)
    folder = first.tileset.parent
    before = _files(folder)
    assert first.written == len(before) and first.reused == 0
    again = write_tileset(store, OPTIONS)
    assert (again.written, again.reused, again.removed) == (0, len(before), 0)
    assert _files(folder) == before
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["changes"]["purge"] == []

    target = "blocks:123"
    obj = store.get_object(target, scope=Scope.everything())
    with store.transaction() as writer:
        writer.set_attributes(target, {**obj.attributes, "use": "hospital"})
    third = write_tileset(store, OPTIONS)
    document = load(folder)
    trail = {t["content"]["uri"] for t in _path_to(document, folder, target) if "content" in t}
    manifest = json.loads((folder / "manifest.json").read_text())
    written = set(manifest["changes"]["written"])
    assert written and written <= trail
    leaf = _path_to(document, folder, target)[-1]["content"]["uri"]
    assert leaf in written
    after = _files(folder)
    assert {uri for uri in after if after[uri] != before[uri]} == written
    assert third.written == len(written) and third.reused == len(before) - len(written)
    assert manifest["changes"]["purge"] == sorted(written)  # bounds unchanged: same tileset.json
    rows = feature_properties(folder / leaf)
    assert next(r for r in rows if r["id"] == target)["use"] == "hospital"
    assert check_tileset(folder / "tileset.json") == []
    store.close()


def test_removed_objects_remove_their_tiles(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_blocks(store, 300)
    add_blocks(store, 300, layer="east", seed=5, spacing=31.0)
    folder = write_tileset(store, OPTIONS).tileset.parent
    before = set(_files(folder))
    with store.transaction() as writer:
        writer.remove_source("east")
    summary = write_tileset(store, OPTIONS)
    manifest = json.loads((folder / "manifest.json").read_text())
    removed = set(manifest["changes"]["removed"])
    assert removed and removed == before - set(_files(folder))
    assert summary.removed == len(removed)
    assert "tileset.json" in manifest["changes"]["purge"]
    assert removed <= set(manifest["changes"]["purge"])
    leaf_ids = {row["id"] for t in walk(load(folder)["root"]) if t["geometricError"] == 0
                for row in feature_properties(folder / t["content"]["uri"])}  # fmt: skip
    assert len(leaf_ids) == 300 and all(i.startswith("blocks:") for i in leaf_ids)
    store.close()


def test_reimporting_one_building_rewrites_only_its_tiles(
    versions: dict[str, Any], tmp_path: Path
) -> None:
    city = tmp_path / "city"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--city", str(city), "--crs", "EPSG:4547"]).exit_code == 0
    other = write_demo_building(BuildingSpec("Annex", 431400.0, 2558300.0, storeys=3),
                                tmp_path / "annex.ifc")  # fmt: skip
    with CityStore.open(city) as store:
        import_ifc(store, [versions["v1"], other])
        add_blocks(store, 200)
    result = runner.invoke(app, ["tile", "--city", str(city), "--max-features", "60"])
    assert result.exit_code == 0, result.output
    folder = city / "tiles"
    before = _files(folder)
    with CityStore.open(city) as store:
        import_ifc(store, [versions["v2"]])
        annex = store.objects(cls="IfcBuilding", scope=Scope.everything())
        annex_id = next(b.id for b in annex if b.name == "Annex")
    result = runner.invoke(app, ["tile", "--city", str(city), "--max-features", "60"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    written = set(manifest["changes"]["written"])
    assert written
    assert f"{len(written)} drawn" in result.output
    document = load(folder)
    hall_trail = {t["content"]["uri"] for t in _path_to(document, folder, versions["wall"])
                  if "content" in t}  # fmt: skip
    assert written <= hall_trail | {
        t["content"]["uri"] for t in walk(document["root"]) if "content" in t
        and t["geometricError"] > 0}  # fmt: skip
    annex_leaves = {
        t["content"]["uri"] for t in walk(document["root"]) if t["geometricError"] == 0
        and "content" in t and any(r.get("building") == annex_id for r in feature_properties(
            folder / t["content"]["uri"]))}  # fmt: skip
    assert annex_leaves and not annex_leaves & written
    after = _files(folder)
    assert all(after[uri] == before[uri] for uri in annex_leaves)
    assert check_tileset(folder / "tileset.json") == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "obj"], "unknown tile format 'obj'"),
        (["--max-features", "0"], "--max-features"),
    ],
)
def test_tile_command_refuses_bad_options(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    store = make_city(tmp_path)
    add_blocks(store, 5)
    store.close()
    result = CliRunner().invoke(app, ["tile", "--city", str(tmp_path / "city"), *arguments])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "city" / "tiles").exists()


def test_served_etags_follow_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    from api.app import create_app
    from api.settings import get_settings

    store = make_city(tmp_path)
    add_blocks(store, 400)
    folder = write_tileset(store, OPTIONS).tileset.parent
    monkeypatch.setenv("CIMTWIN_CORS_ORIGINS", "http://elsewhere.example")
    get_settings.cache_clear()
    client = admin_client(create_app(store.city_dir))
    get_settings.cache_clear()
    uris = sorted(json.loads((folder / "manifest.json").read_text())["files"])
    etags = {uri: client.get(f"/tiles/{uri}").headers["etag"] for uri in uris}
    with store.transaction() as writer:
        writer.set_attributes("blocks:42", {"use": "school"})
    write_tileset(store, OPTIONS)
    manifest = client.get("/tiles/manifest.json")
    assert manifest.status_code == 200 and manifest.headers["content-type"] == "application/json"
    purge = set(manifest.json()["changes"]["purge"])
    assert purge
    for uri in uris:
        headers = {"If-None-Match": etags[uri], "Origin": "http://elsewhere.example"}
        answer = client.get(f"/tiles/{uri}", headers=headers)
        assert answer.status_code == (200 if uri in purge else 304), uri
        assert "access-control-allow-origin" in answer.headers
    store.close()


def test_what_a_killed_tiling_left_is_cleared(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_blocks(store, 20)
    (store.city_dir / ".tiles-index-stale").mkdir()
    (store.city_dir / ".tiles.partial" / "content").mkdir(parents=True)
    (store.city_dir / ".tiles.partial" / "content" / "half.glb").write_bytes(b"glTF")
    write_tileset(store, OPTIONS)
    assert sorted(p.name for p in store.city_dir.iterdir() if not p.name.endswith(WAL_FILES)) == [
        "city.gpkg",
        "tiles",
    ]
    store.close()


def test_a_new_tiler_redraws_every_tile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiles.content

    store = make_city(tmp_path)
    add_blocks(store, 200)
    options = TilingOptions(max_features=40, workers=1)
    first = write_tileset(store, options)
    monkeypatch.setattr(tiles.content, "CODE_FINGERPRINT", "another version of the tiler")
    again = write_tileset(store, options)
    assert again.reused == 0 and again.written == first.written == first.content_files
    store.close()
