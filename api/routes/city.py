"""The city as a whole: what the viewer needs to start, and the server's health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CityDirDep, ScopeDep, StoreDep
from api.routes.objects import Position
from api.routes.terrain import terrain_and_imagery
from cim.crs import LocalFrame
from cim.layout import CityLayout
from tiles.tileset import TILES_DIR

router = APIRouter(prefix="/api", tags=["city"])


class Health(BaseModel):
    """Liveness, and whether the city's store and tiles exist."""

    status: str
    city: str = Field(description="name of the city folder")
    store: bool
    tiles: bool


class Imagery(BaseModel):
    """The city's orthophoto as an XYZ layer for CesiumJS."""

    model_config = ConfigDict(populate_by_name=True)

    url: str
    minimum_level: int = Field(alias="minimumLevel")
    maximum_level: int = Field(alias="maximumLevel")
    rectangle: list[float] = Field(description="[west, south, east, north] in degrees")


class City(BaseModel):
    """What the viewer needs to start: where the city is and what it serves."""

    name: str
    crs: str
    center: Position | None = Field(description="centre of the city at its lowest height")
    object_count: int
    objects_by_class: dict[str, int]
    sources: list[str]
    tileset: str | None = Field(description="URL of tileset.json, null before tiling")
    terrain: str | None = Field(description="URL of the terrain's layer.json, if any")
    imagery: Imagery | None


@router.get("/health", response_model=Health)
def health(city: CityDirDep) -> dict[str, Any]:
    """Liveness and whether the city store and tiles are present."""
    return {
        "status": "ok",
        "city": city.name,
        "store": CityLayout(city).store.is_file(),
        "tiles": CityLayout(city).tileset.is_file(),
    }


@router.get("/city", response_model=City)
def city_info(store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """Name, CRS, centre, object count and the tileset URL (null before tiling); the centre,
    counts and sources are those of the caller's jurisdiction."""
    extent = store.extent(scope=scope)
    centre = None
    if extent is not None:
        frame = LocalFrame(
            store.crs, ((extent[0] + extent[3]) / 2, (extent[1] + extent[4]) / 2, extent[2])
        )
        lon, lat, height = frame.geodetic_origin
        centre = {"lon": lon, "lat": lat, "height": height}
    counts = store.counts_by_class(scope=scope)
    tiled = CityLayout(store.city_dir).tileset.is_file()
    return {
        "name": store.name,
        "crs": store.crs,
        "center": centre,
        "object_count": sum(counts.values()),
        "objects_by_class": counts,
        "sources": [s["source"] for s in store.sources(scope=scope)],
        "tileset": f"/{TILES_DIR}/tileset.json" if tiled else None,
        **terrain_and_imagery(store.city_dir),
    }
