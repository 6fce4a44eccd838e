"""Tiling real cities: valid 3D Tiles, valid glTF, every object once, atomic re-tiling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Transformer

import tiles.content
from cim.scope import Scope
from cim.store import CityStore
from cim.store_sqlite import WAL_FILES
from tests.conftest import (
    MAP_GK,
    PROJECT_ROOT,
    ImportedCity,
    add_boxes,
    copy_city,
    import_into_new_city,
    make_city,
)
from tests.oracles.tileset_check import check_tileset, feature_properties, read_glb
from tests.tiles.tree import coarse_contents, leaf_contents
from tiles.errors import NothingToTileError, TilesError
from tiles.tileset import DEFAULT_EXCLUDED, TilingOptions, TilingSummary, write_tileset

VIEWER_DIR = PROJECT_ROOT / "viewer"
VALIDATOR_SCRIPT = r"""
const path = require('path');
const fs = require('fs');
const viewerDir = process.argv[2];
const validator = require(path.join(viewerDir, 'node_modules', 'gltf-validator'));
(async () => {
  const result = {};
  for (const file of process.argv.slice(3)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)));
    result[file] = {
      numErrors: report.issues.numErrors,
      errors: report.issues.messages.filter((m) => m.severity === 0).slice(0, 5),
    };
  }
  process.stdout.write(JSON.stringify(result));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
"""


@dataclass
class TiledCity:
    """A city and the tileset written for it."""

    store: CityStore
    summary: TilingSummary

    @property
    def tileset(self) -> Path:
        return self.summary.tileset

    def glbs(self) -> list[Path]:
        return sorted((self.tileset.parent / "content").glob("*.glb"))


@pytest.fixture(
    scope="module",
    params=["gk-sample", "fzk", pytest.param("tekla", marks=pytest.mark.slow)],
)
def tiled(
    request: pytest.FixtureRequest, ifc_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> TiledCity:
    """A tiled city: the one-object GK sample, the FZK-Haus, the Tekla carwash."""
    if request.param == "gk-sample":
        city = import_into_new_city(tmp_path_factory.mktemp("gk"), ifc_dir / MAP_GK)
        request.addfinalizer(city.store.close)
    else:
        city = request.getfixturevalue(f"{request.param}_city")
    assert isinstance(city, ImportedCity)
    return TiledCity(city.store, write_tileset(city.store))


def _tiles(tile: dict[str, Any]) -> list[dict[str, Any]]:
    return [tile] + [t for child in tile.get("children", []) for t in _tiles(child)]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes but the manifest's (it records when and what the run changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != "manifest.json"}  # fmt: skip


def validate_glbs(files: list[Path], tmp_path: Path) -> dict[str, Any]:
    """Run the Khronos glTF validator (npm gltf-validator of the viewer) on ``files``."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: it is needed to run the glTF validator", pytrace=False)
    if not (VIEWER_DIR / "node_modules" / "gltf-validator").is_dir():
        pytest.fail(
            f"the npm package gltf-validator is missing under {VIEWER_DIR / 'node_modules'}:"
            " run `npm install` in the viewer folder",
            pytrace=False,
        )
    script = tmp_path / "validate_glb.cjs"
    script.write_text(VALIDATOR_SCRIPT, encoding="utf-8")
    completed = subprocess.run(
        [node, str(script), str(VIEWER_DIR), *map(str, files)],
        cwd=VIEWER_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"the validator failed: {completed.stderr}"
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_tileset_passes_the_checker(tiled: TiledCity) -> None:
    assert check_tileset(tiled.tileset) == []


def test_glbs_pass_the_khronos_validator(tiled: TiledCity, tmp_path: Path) -> None:
    files = tiled.glbs()
    assert files
    result = validate_glbs(files, tmp_path)
    assert sorted(result) == sorted(map(str, files))
    failing = {file: report for file, report in result.items() if report["numErrors"] != 0}
    assert not failing, json.dumps(failing, indent=1)


def test_every_meshed_object_is_a_leaf_feature_exactly_once(tiled: TiledCity) -> None:
    entries = list(tiled.store.mesh_index(scope=Scope.everything()))
    expected = {e.object_id for e in entries if e.cls not in DEFAULT_EXCLUDED}
    rows = [row for glb in leaf_contents(tiled.tileset.parent) for row in feature_properties(glb)]
    counts = Counter(row["id"] for row in rows)
    assert [key for key, n in counts.items() if n > 1] == []
    assert set(counts) == expected
    objects = {o.id: o for o in tiled.store.objects(scope=Scope.everything())}
    for row in rows:
        assert row["class"] == objects[row["id"]].cls
        assert row.get("name", "") == objects[row["id"]].name
        assert row.get("building", "") == (objects[row["id"]].building_id or "")
    excluded = Counter(e.cls for e in entries if e.cls in DEFAULT_EXCLUDED)
    assert tiled.summary.excluded == dict(excluded)
    coarse = [
        row for glb in coarse_contents(tiled.tileset.parent) for row in feature_properties(glb)
    ]
    assert tiled.summary.features == len(expected) + len(coarse)


def test_summary_and_manifest_match_the_files(tiled: TiledCity) -> None:
    document = json.loads(tiled.tileset.read_text())
    tiles_in_tree = _tiles(document["root"])
    glbs = tiled.glbs()
    assert tiled.summary.tiles == len(tiles_in_tree)
    assert tiled.summary.content_files == len(glbs)
    assert sorted(t["content"]["uri"] for t in tiles_in_tree if "content" in t) == sorted(
        f"content/{p.name}" for p in glbs
    )
    assert tiled.summary.bytes_written == sum(p.stat().st_size for p in glbs)
    manifest = json.loads((tiled.tileset.parent / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(f"content/{p.name}" for p in glbs)
    assert sum(f["triangles"] for f in manifest["files"].values()) == tiled.summary.triangles
    meshed = [
        e for e in tiled.store.mesh_index(scope=Scope.everything()) if e.cls not in DEFAULT_EXCLUDED
    ]
    leaves = {f"content/{p.name}" for p in leaf_contents(tiled.tileset.parent)}
    leaf_triangles = sum(f["triangles"] for uri, f in manifest["files"].items() if uri in leaves)
    assert leaf_triangles == sum(e.triangles for e in meshed)
    options = TilingOptions()
    for glb in glbs:
        features = feature_properties(glb)
        assert 0 < len(features) <= max(options.max_features, options.max_coarse_features)
        document, _ = read_glb(glb)
        assert document["asset"]["version"] == "2.0"
        materials = len(document["materials"])
        assert len(document["meshes"][0]["primitives"]) <= materials  # one draw call a material


def test_root_transform_is_an_ecef_frame_at_the_city(tiled: TiledCity) -> None:
    document = json.loads(tiled.tileset.read_text())
    matrix = np.asarray(document["root"]["transform"], dtype=np.float64).reshape(4, 4).T
    assert np.array_equal(matrix[3], [0.0, 0.0, 0.0, 1.0])
    translation, rotation = matrix[:3, 3], matrix[:3, :3]
    assert 6.36e6 <= np.linalg.norm(translation) <= 6.39e6
    assert np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    up = rotation[:, 2]
    radial = translation / np.linalg.norm(translation)
    assert np.degrees(np.arccos(np.clip(up @ radial, -1, 1))) < 0.25  # geodetic vs geocentric
    centre_local = np.asarray(document["root"]["boundingVolume"]["box"][:3])
    centre_ecef = matrix[:3, :3] @ centre_local + translation
    lon, lat, height = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True).transform(
        *centre_ecef
    )
    extent = tiled.store.extent(scope=Scope.everything())
    assert extent is not None
    to_geo = Transformer.from_crs(tiled.store.crs, "EPSG:4326", always_xy=True)
    city_lon, city_lat = to_geo.transform((extent[0] + extent[3]) / 2, (extent[1] + extent[4]) / 2)
    assert lon == pytest.approx(city_lon, abs=2e-4)
    assert lat == pytest.approx(city_lat, abs=2e-4)
    assert extent[2] - 1.0 <= height <= extent[5] + 1.0


def test_a_hierarchy_of_small_leaves_is_valid(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_boxes(store, 30)
    progress: list[tuple[int, int]] = []
    summary = write_tileset(
        store, TilingOptions(max_features=4), on_progress=lambda d, t: progress.append((d, t))
    )
    assert check_tileset(summary.tileset) == []
    document = json.loads(summary.tileset.read_text())
    depth = max(
        len(t["content"]["uri"].split("_")) for t in _tiles(document["root"]) if "content" in t
    )
    assert depth >= 3
    assert progress[-1][0] == progress[-1][1] == summary.tiles
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    rows = [row for glb in leaf_contents(summary.tileset.parent) for row in feature_properties(glb)]
    assert sorted(row["id"] for row in rows) == sorted(f"synthetic-{i}" for i in range(30))
    store.close()


def test_a_city_of_one_full_tile_is_tiled_without_importing_scipy(tmp_path: Path) -> None:
    """SciPy's k-d tree (a third of a second to import) loads only when a deviation is
    measured, which a city drawn as one full tile never needs."""
    store = make_city(tmp_path)
    add_boxes(store, 3)
    store.close()
    script = (
        "import sys; from pathlib import Path; from cim.store import CityStore\n"
        "from tiles.tileset import write_tileset\n"
        f"with CityStore.open(Path({str(tmp_path / 'city')!r})) as store:\n"
        "    print(write_tileset(store).tiles, 'scipy.spatial' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=PROJECT_ROOT, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )  # fmt: skip
    assert done.stdout.split() == ["1", "False"], done.stderr[-500:]


def test_retiling_replaces_the_folder_atomically(
    fzk_city: ImportedCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = copy_city(fzk_city.store, tmp_path / "city")
    options = TilingOptions(max_features=10)
    first = write_tileset(store, options)
    assert first.content_files > 3
    folder = store.city_dir / "tiles"
    before = _snapshot(folder)
    second = write_tileset(store, options)
    assert second.tileset == folder / "tileset.json"
    assert sorted(p.name for p in store.city_dir.iterdir() if not p.name.endswith(WAL_FILES)) == [
        "city.gpkg",
        "tiles",
    ]
    assert _snapshot(folder) == before  # tiling is deterministic
    assert check_tileset(second.tileset) == []

    real_build = tiles.content.build_glb
    calls: list[int] = []

    def failing_build(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full while writing a tile")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(tiles.content, "build_glb", failing_build)
    with pytest.raises(RuntimeError, match="disk full"):
        write_tileset(store, TilingOptions(max_features=5, workers=1))
    assert len(calls) == 3
    assert _snapshot(folder) == before
    assert sorted(p.name for p in store.city_dir.iterdir() if not p.name.endswith(WAL_FILES)) == [
        "city.gpkg",
        "tiles",
    ]
    assert check_tileset(folder / "tileset.json") == []
    monkeypatch.undo()
    write_tileset(store, TilingOptions(max_features=5))
    assert sorted(p.name for p in store.city_dir.iterdir() if not p.name.endswith(WAL_FILES)) == [
        "city.gpkg",
        "tiles",
    ]
    assert check_tileset(folder / "tileset.json") == []
    assert _snapshot(folder) != before
    store.close()


def test_empty_city_has_nothing_to_tile(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    with pytest.raises(NothingToTileError, match="no geometry to tile"):
        write_tileset(store)
    assert issubclass(NothingToTileError, TilesError)
    add_boxes(store, 3, cls="IfcSpace")
    with pytest.raises(NothingToTileError):
        write_tileset(store)
    assert not (store.city_dir / "tiles").exists()
    summary = write_tileset(store, TilingOptions(excluded_classes=()))
    assert summary.features == 3
    assert check_tileset(summary.tileset) == []
    store.close()


def test_uncompressed_glbs_pass_the_validator_which_then_reads_every_vertex(
    fzk_city: ImportedCity, tmp_path: Path
) -> None:
    """The validator cannot decode meshopt views: check the same tiles written without it."""
    store = copy_city(fzk_city.store, tmp_path / "city")
    summary = write_tileset(store, TilingOptions(max_features=20, compress=False))
    files = sorted((summary.tileset.parent / "content").glob("*.glb"))
    assert len(files) > 2
    for glb in files:
        document, _ = read_glb(glb)
        assert "EXT_meshopt_compression" not in document.get("extensionsUsed", [])
        assert "KHR_mesh_quantization" in document["extensionsUsed"]
    result = validate_glbs(files, tmp_path)
    failing = {file: report for file, report in result.items() if report["numErrors"] != 0}
    assert not failing, json.dumps(failing, indent=1)
    store.close()
