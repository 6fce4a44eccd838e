"""Checking a 3D Tiles 1.1 tileset and its glb content for the mistakes a writer can make.

:func:`check_tileset` walks the tile tree and returns human-readable problems (an empty
list means the tileset passed): the asset version, the root transform, bounding boxes,
geometric errors, refinement, that each child's box lies inside its parent's, that content
files exist, that each glb parses and its positions lie inside its tile's box, and that the
EXT_structural_metadata property tables (each defining every property of its class) and
EXT_mesh_features feature ids agree, and that every b3dm batch table holds the same properties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from tests.oracles.glb_check import (
    Box,
    check_b3dm,
    check_glb,
    feature_properties,
    is_number,
    is_numbers,
    read_glb,
)
from tiles.b3dm import read_b3dm
from tiles.errors import TilesError

__all__ = ["check_tileset", "feature_properties", "read_glb"]

_REFINE = ("ADD", "REPLACE")


@dataclass(frozen=True)
class _Parent:
    """What a child tile is checked against."""

    name: str
    error: float | None
    box: Box | None


def check_tileset(tileset_path: Path) -> list[str]:
    """Check a 3D Tiles 1.1 tileset and its glb content.

    Parameters
    ----------
    tileset_path:
        The ``tileset.json`` file; content URIs are resolved beside it.

    Returns
    -------
    list[str]
        One line per problem found; empty when the tileset is valid.
    """
    try:
        tileset = json.loads(tileset_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{tileset_path}: cannot read the tileset: {exc}"]
    if not isinstance(tileset, dict):
        return [f"{tileset_path}: the tileset is not a JSON object"]
    problems: list[str] = []
    asset = tileset.get("asset")
    version = asset.get("version") if isinstance(asset, dict) else None
    if version not in ("1.0", "1.1"):
        problems.append(f"asset.version is {version!r}, expected '1.0' or '1.1'")
    root = tileset.get("root")
    if not isinstance(root, dict):
        problems.append("the tileset has no root tile")
        return problems
    if not is_numbers(root.get("transform"), 16):
        problems.append("root: transform must be a list of 16 numbers")
    tileset_error, root_error = tileset.get("geometricError"), root.get("geometricError")
    if not is_number(tileset_error):
        problems.append("the tileset has no numeric geometricError")
    elif is_number(root_error) and tileset_error < root_error:
        problems.append(
            f"the tileset geometricError {tileset_error} is smaller than the root's {root_error}"
        )
    if root.get("refine") not in _REFINE:
        problems.append(f"root: refine is {root.get('refine')!r}, expected 'ADD' or 'REPLACE'")
    _check_tile(root, "root", None, tileset_path.parent, problems)
    problems += _check_schemas(root, tileset_path.parent, version)
    return problems


def _check_schemas(root: dict[str, Any], folder: Path, version: Any) -> list[str]:
    """Every glb must embed the same metadata schema and every b3dm batch table hold the
    same properties; a 1.0 tileset can't hold glb content."""
    schemas: dict[str, str] = {}
    batch_properties: dict[str, str] = {}
    stack = [root]
    while stack:
        tile = stack.pop()
        if not isinstance(tile, dict):
            continue
        stack += [c for c in tile.get("children", []) if isinstance(c, dict)]
        uri = tile.get("content", {}).get("uri") if isinstance(tile.get("content"), dict) else None
        if not isinstance(uri, str) or not (folder / unquote(uri)).is_file():
            continue
        try:
            if uri.endswith(".b3dm"):
                batch_table = read_b3dm((folder / unquote(uri)).read_bytes())[1]
                batch_properties[uri] = json.dumps(sorted(batch_table))
            elif uri.endswith(".glb"):
                document, _ = read_glb(folder / unquote(uri))
                metadata = document.get("extensions", {}).get("EXT_structural_metadata", {})
                schemas[uri] = json.dumps(metadata.get("schema"), sort_keys=True)
        except (ValueError, TilesError):
            continue  # reported by the content check
    problems = []
    if version == "1.0" and schemas:
        problems.append(f"a 3D Tiles 1.0 tileset holds glb content ({len(schemas)} files)")
    distinct = set(schemas.values())
    if len(distinct) > 1:
        problems.append(f"the glb files embed {len(distinct)} different metadata schemas")
    distinct = set(batch_properties.values())
    if len(distinct) > 1:
        problems.append(f"the b3dm batch tables hold {len(distinct)} different property sets")
    return problems


def _check_tile(
    tile: Any, name: str, parent: _Parent | None, folder: Path, problems: list[str]
) -> None:
    if not isinstance(tile, dict):
        problems.append(f"{name}: a tile must be a JSON object")
        return
    box = _box_of(tile, name, problems)
    raw_error = tile.get("geometricError")
    error: float | None = float(raw_error) if is_number(raw_error) else None
    if error is None or error < 0:
        problems.append(f"{name}: geometricError must be a number >= 0, found {raw_error!r}")
        error = None
    elif parent is not None and parent.error is not None and not error < parent.error:
        problems.append(
            f"{name}: geometricError {error} is not smaller than its parent's {parent.error}"
        )
    if "refine" in tile and tile["refine"] not in _REFINE:
        problems.append(f"{name}: refine is {tile['refine']!r}, expected 'ADD' or 'REPLACE'")
    transform = tile.get("transform")
    if transform is not None and not is_numbers(transform, 16):
        problems.append(f"{name}: transform must be a list of 16 numbers")
        transform = None
    if parent is not None and parent.box is not None and box is not None:
        corners = box.corners()
        if transform is not None:
            matrix = np.asarray(transform, dtype=np.float64).reshape(4, 4).T
            corners = corners @ matrix[:3, :3].T + matrix[:3, 3]
        outside = parent.box.outside(corners)
        if len(outside):
            problems.append(
                f"{name}: its box is not inside the box of {parent.name}"
                f" ({len(outside)} of 8 corners outside, e.g. {np.round(outside[0], 3).tolist()})"
            )
    contents = [tile["content"]] if "content" in tile else tile.get("contents", [])
    for index, content in enumerate(contents if isinstance(contents, list) else []):
        label = name if "content" in tile else f"{name}.contents[{index}]"
        _check_content(content, label, box, folder, problems)
    children = tile.get("children", [])
    if not isinstance(children, list):
        problems.append(f"{name}: children must be a list")
        return
    for index, child in enumerate(children):
        _check_tile(child, f"{name}.children[{index}]", _Parent(name, error, box), folder, problems)


def _box_of(tile: dict[str, Any], name: str, problems: list[str]) -> Box | None:
    volume = tile.get("boundingVolume")
    box = volume.get("box") if isinstance(volume, dict) else None
    if not is_numbers(box, 12):
        problems.append(f"{name}: boundingVolume.box must be a list of 12 numbers")
        return None
    values = np.asarray(box, dtype=np.float64)
    axes = values[3:].reshape(3, 3).T
    if abs(np.linalg.det(axes)) < 1e-12 * max(1.0, float(np.abs(axes).max()) ** 3):
        problems.append(f"{name}: boundingVolume.box has degenerate half axes")
        return None
    return Box(values[:3], axes)


def _check_content(
    content: Any, name: str, box: Box | None, folder: Path, problems: list[str]
) -> None:
    uri = content.get("uri") if isinstance(content, dict) else None
    if not isinstance(uri, str) or not uri:
        problems.append(f"{name}: content has no uri")
        return
    path = folder / unquote(uri)
    if not path.is_file():
        problems.append(f"{name}: content {uri} does not exist")
        return
    suffix = path.suffix.lower()
    if suffix in (".glb", ".b3dm"):
        try:
            found = check_b3dm(path, box) if suffix == ".b3dm" else check_glb(path, box)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            found = [f"malformed glTF JSON ({type(exc).__name__}: {exc})"]
        problems += [f"{name}: {uri}: {problem}" for problem in found]
