"""Serving generated files (tiles, terrain, imagery) confined to a folder, with ETags; and
finding the viewer's built files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, Response

# The viewer's build (`npm run build` in viewer/) also lands here, inside the package, so that
# an installed wheel serves the viewer without npm.
PACKAGED_VIEWER = Path(__file__).resolve().parent / "viewer_dist"


def viewer_folder(configured: Path) -> Path | None:
    """The folder to serve the viewer from: ``configured`` when built, else the packaged copy."""
    for folder in (configured, PACKAGED_VIEWER):
        if (folder / "index.html").is_file():
            return folder
    return None


def file_response(root: Path, path: str, media_type: str | None, request: Request) -> Response:
    """The file ``path`` under ``root``; 304 while the client's ETag matches, 404 otherwise."""
    root = root.resolve()
    target = (root / path).resolve()
    if media_type is None or not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no file {path!r} here")
    etag = _etag(target)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(target, media_type=media_type, headers=headers)


def _etag(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.blake2s(f"{stat.st_mtime_ns}:{stat.st_size}:{path}".encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'
