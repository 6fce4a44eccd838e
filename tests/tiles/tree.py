"""Walking a written tileset in tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def walk(tile: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A tile and every tile below it, parents first."""
    yield tile
    for child in tile.get("children", []):
        yield from walk(child)


def load(folder: Path) -> dict[str, Any]:
    """The tileset.json of a tileset folder."""
    document: dict[str, Any] = json.loads((folder / "tileset.json").read_text())
    return document


def leaf_contents(folder: Path) -> list[Path]:
    """The content files of the leaves (geometric error 0: every object in full)."""
    return sorted(folder / t["content"]["uri"] for t in walk(load(folder)["root"])
                  if "content" in t and t["geometricError"] == 0)  # fmt: skip


def coarse_contents(folder: Path) -> list[Path]:
    """The content files of the tiles that draw levels of detail."""
    return sorted(folder / t["content"]["uri"] for t in walk(load(folder)["root"])
                  if "content" in t and t["geometricError"] > 0)  # fmt: skip
