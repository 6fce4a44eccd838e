"""The city's 3D Tiles as static files, with content types, ETags and revalidation."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from api.deps import CityDirDep
from tiles.tileset import TILES_DIR

router = APIRouter(tags=["tiles"])

CONTENT_TYPES = {
    ".json": "application/json",
    ".glb": "model/gltf-binary",
    ".b3dm": "application/octet-stream",
    ".subtree": "application/octet-stream",
}


@router.get(f"/{TILES_DIR}/{{path:path}}")
def get_tile(path: str, request: Request, city: CityDirDep) -> Response:
    """A file of the tileset; answers 304 when the client's ETag still matches."""
    root = (city / TILES_DIR).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no tile file {path!r}")
    media_type = CONTENT_TYPES.get(target.suffix)
    if media_type is None:
        raise HTTPException(status_code=404, detail=f"{path!r} is not a tileset file")
    etag = _etag(target)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(target, media_type=media_type, headers=headers)


def _etag(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.blake2s(f"{stat.st_mtime_ns}:{stat.st_size}:{path}".encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'
