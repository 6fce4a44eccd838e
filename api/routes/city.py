"""The city as a whole: what the viewer needs to start, and the server's health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CityDirDep, StoreDep
from api.routes.terrain import terrain_and_imagery
from cim.crs import LocalFrame
from cim.layout import CityLayout
from tiles.tileset import TILES_DIR

router = APIRouter(prefix="/api", tags=["city"])


@router.get("/health")
def health(city: CityDirDep) -> dict[str, Any]:
    """Liveness and whether the city store and tiles are present."""
    return {
        "status": "ok",
        "city": city.name,
        "store": CityLayout(city).store.is_file(),
        "tiles": CityLayout(city).tileset.is_file(),
    }


@router.get("/city")
def city_info(store: StoreDep) -> dict[str, Any]:
    """Name, CRS, centre, object count and the tileset URL (null before tiling)."""
    extent = store.extent()
    centre = None
    if extent is not None:
        frame = LocalFrame(
            store.crs, ((extent[0] + extent[3]) / 2, (extent[1] + extent[4]) / 2, extent[2])
        )
        lon, lat, height = frame.geodetic_origin
        centre = {"lon": lon, "lat": lat, "height": height}
    counts = store.counts_by_class()
    tiled = CityLayout(store.city_dir).tileset.is_file()
    return {
        "name": store.name,
        "crs": store.crs,
        "center": centre,
        "object_count": sum(counts.values()),
        "objects_by_class": counts,
        "sources": [s["source"] for s in store.sources()],
        "tileset": f"/{TILES_DIR}/tileset.json" if tiled else None,
        **terrain_and_imagery(store.city_dir),
    }
