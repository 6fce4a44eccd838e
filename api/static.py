"""Serving generated files (tiles, terrain, imagery) confined to a folder, with ETags; and
finding the viewer's built files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response

from api.errors import FileNotServedError

# The viewer's build (`npm run build` in viewer/) also lands here, inside the package, so that
# an installed wheel serves the viewer without npm.
PACKAGED_VIEWER = Path(__file__).resolve().parent / "viewer_dist"
# Longest file name and path asked for: what the generated folders ever hold, well inside
# what file systems take (255 bytes a name).
MAX_NAME_BYTES = 128
MAX_PATH_BYTES = 512


def viewer_folder(configured: Path) -> Path | None:
    """The folder to serve the viewer from: ``configured`` when built, else the packaged copy."""
    for folder in (configured, PACKAGED_VIEWER):
        if (folder / "index.html").is_file():
            return folder
    return None


def file_response(root: Path, path: str, media_type: str | None, request: Request) -> Response:
    """The file ``path`` under ``root``; 304 while the client's ETag matches.

    Raises
    ------
    FileNotServedError
        When the name is not one this folder could hold (unknown type, a NUL byte, too
        long, outside ``root``) or no such file exists.
    """
    shown = path if len(path) <= 80 else path[:77] + "..."
    if media_type is None or not _plausible(path):
        raise FileNotServedError(f"no file {shown!r} here")
    root = root.resolve()
    try:
        target = (root / path).resolve()
        found = target.is_relative_to(root) and target.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise FileNotServedError(f"no file {shown!r} here")
    etag = _etag(target)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(target, media_type=media_type, headers=headers)


def _plausible(path: str) -> bool:
    """Whether ``path`` can name a generated file: no NUL, names and path of sane length."""
    encoded = path.encode("utf-8", "surrogateescape")
    return (
        b"\0" not in encoded
        and len(encoded) <= MAX_PATH_BYTES
        and all(len(part) <= MAX_NAME_BYTES for part in encoded.split(b"/"))
    )


def _etag(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.blake2s(f"{stat.st_mtime_ns}:{stat.st_size}:{path}".encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'
