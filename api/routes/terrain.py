"""Terrain (heightmap-1.0) and imagery (XYZ PNG) tiles of the city, with ETags.

CesiumJS requests only the terrain tiles ``layer.json`` lists as available; a missing
imagery tile is a 404, which Cesium's imagery layers tolerate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.auth.deps import file_reader
from api.deps import CityDirDep
from api.static import file_response
from cim.layout import CityLayout

# Files any signed-in caller may read (anyone, with CIMTWIN_ANONYMOUS_READ).
router = APIRouter(tags=["terrain"], dependencies=[Depends(file_reader)])

CONTENT_TYPES = {".json": "application/json", ".terrain": "application/octet-stream"}
MAX_ZOOM = 30  # deeper than any web-mercator pyramid goes
Zoom = Annotated[int, PathParam(ge=0, le=MAX_ZOOM)]
Column = Annotated[int, PathParam(ge=0, lt=2**MAX_ZOOM)]


@router.get("/terrain/{path:path}")
def get_terrain(path: str, request: Request, city: CityDirDep) -> Response:
    """``layer.json`` or a ``{z}/{x}/{y}.terrain`` heightmap tile."""
    return file_response(
        CityLayout(city).terrain, path, CONTENT_TYPES.get(Path(path).suffix), request
    )


@router.get("/imagery/{z}/{x}/{y}.png")
def get_imagery(z: Zoom, x: Column, y: Column, request: Request, city: CityDirDep) -> Response:
    """A 256x256 web-mercator XYZ tile of the orthophoto (404 outside it)."""
    return file_response(CityLayout(city).imagery, f"{z}/{x}/{y}.png", "image/png", request)


def terrain_and_imagery(city_dir: Path) -> dict[str, Any]:
    """The terrain URL and imagery layer for ``/api/city`` (None for what is missing)."""
    terrain = "/terrain/layer.json" if CityLayout(city_dir).terrain_layer.is_file() else None
    imagery = None
    meta = CityLayout(city_dir).imagery_meta
    if meta.is_file():
        data = json.loads(meta.read_text())
        imagery = {"url": "/imagery/{z}/{x}/{y}.png", "minimumLevel": data["min_zoom"],
                   "maximumLevel": data["max_zoom"], "rectangle": data["rectangle"]}  # fmt: skip
    return {"terrain": terrain, "imagery": imagery}
