"""The tileset's manifest: what each file holds, and what the last run changed.

``tiles/manifest.json`` records the quadtree square and frame origin (kept between runs
so unchanged tiles keep their addresses and bytes), one entry per content file (the hash
of its inputs, bounds, counts, bytes) and the changes of the run that wrote it: files
written, files removed, files kept, and ``purge``, the exact list of URLs a cache or CDN
in front of the tileset must drop.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cim.layout import CityLayout

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class Previous:
    """What the last run left, as far as the next one can reuse it."""

    folder: Path
    square: tuple[float, float, float] | None
    origin: tuple[float, float, float] | None
    files: dict[str, dict[str, Any]]
    tileset_text: str | None


def load_previous(folder: Path) -> Previous | None:
    """The last run's manifest in ``folder``, or None when there is none usable."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        tileset_text = (folder / CityLayout.TILESET).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return None
    square, origin = manifest.get("square"), manifest.get("origin")
    files = manifest.get("files")
    return Previous(
        folder,
        tuple(square) if isinstance(square, list) and len(square) == 3 else None,
        tuple(origin) if isinstance(origin, list) and len(origin) == 3 else None,
        files if isinstance(files, dict) else {},
        tileset_text,
    )


def build_manifest(
    square: tuple[float, float, float],
    origin: tuple[float, float, float],
    files: dict[str, dict[str, Any]],
    reused: set[str],
    tileset_text: str,
    previous: Previous | None,
) -> dict[str, Any]:
    """The manifest of a run that wrote ``files`` (those in ``reused`` were kept as they were)."""
    old_files = previous.files if previous else {}
    written = sorted(uri for uri in files if uri not in reused)
    removed = sorted(uri for uri in old_files if uri not in files)
    tileset_changed = previous is None or previous.tileset_text != tileset_text
    purge = ([CityLayout.TILESET] if tileset_changed else []) + [
        uri for uri in written if uri in old_files
    ]
    return {
        "version": MANIFEST_VERSION,
        "generator": "CIMTwin",
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "square": list(square),
        "origin": list(origin),
        "changes": {
            "written": written,
            "added": sorted(uri for uri in written if uri not in old_files),
            "removed": removed,
            "kept": len(reused),
            "tileset_changed": tileset_changed,
            "purge": sorted(purge + removed),
        },
        "files": files,
    }
