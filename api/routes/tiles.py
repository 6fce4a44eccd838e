"""The city's 3D Tiles as static files, with content types, ETags and revalidation."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.auth.deps import file_reader
from api.deps import CityDirDep
from api.static import file_response
from cim.layout import CityLayout
from tiles.tileset import TILES_DIR

# Files any signed-in caller may read (anyone, with CIMTWIN_ANONYMOUS_READ).
router = APIRouter(tags=["tiles"], dependencies=[Depends(file_reader)])

CONTENT_TYPES = {
    ".json": "application/json",
    ".glb": "model/gltf-binary",
    ".b3dm": "application/octet-stream",
    ".subtree": "application/octet-stream",
}


@router.get(f"/{TILES_DIR}/{{path:path}}")
def get_tile(path: str, request: Request, city: CityDirDep) -> Response:
    """A file of the tileset; answers 304 when the client's ETag still matches."""
    return file_response(
        CityLayout(city).tiles, path, CONTENT_TYPES.get(Path(path).suffix), request
    )
