"""Statistics of the buildings in a district, a bounding box or a drawn polygon."""

from __future__ import annotations

from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ScopeDep, StoreDep
from cim.area import bbox_area, city_extent, geojson_area, parse_bbox
from cim.errors import AreaError
from cim.stats import district_stats

router = APIRouter(prefix="/api/stats", tags=["statistics"])


class HeightDistribution(BaseModel):
    """Building heights in metres (null without buildings)."""

    min: float | None
    mean: float | None
    median: float | None
    max: float | None


class HeightBand(BaseModel):
    """How many buildings fall in one GB 50352 height band, with what names the band."""

    model_config = ConfigDict(extra="allow")

    count: int


class Statistics(BaseModel):
    """Count, areas and heights of the buildings whose footprint centre lies in the area."""

    buildings: int
    by_class: dict[str, int]
    district_area: float = Field(description="m², the part of the area inside the city's extent")
    footprint_area: float = Field(description="m²")
    gross_floor_area: float = Field(description="m²")
    height: HeightDistribution
    height_bands: list[HeightBand]


@router.get("", response_model=Statistics)
def stats(
    store: StoreDep,
    scope: ScopeDep,
    district: str | None = Query(None, description="id of a district (or any polygon) object"),
    bbox: str | None = Query(None, description="min_lon,min_lat,max_lon,max_lat (CRS84)"),
) -> dict[str, Any]:
    """Count, footprint area, gross floor area and height distribution of the buildings
    (of the caller's whole jurisdiction without ``district`` or ``bbox``); only buildings
    in the caller's jurisdiction count."""
    if district is not None:
        area = store.get_object(district, scope=scope).footprint
        if area is None or area.is_empty:
            raise AreaError(f"object {district!r} has no polygon: it cannot be a district")
    elif bbox is not None:
        area = bbox_area(parse_bbox(bbox), city_extent(store, scope=scope))
    else:
        area = city_extent(store, scope=scope).box()
    return district_stats(store, area, scope=scope)


@router.post("", response_model=Statistics)
def stats_in_polygon(
    store: StoreDep,
    scope: ScopeDep,
    polygon: Annotated[
        dict[str, Any],
        Body(description="GeoJSON Polygon or MultiPolygon in CRS84, at most 10 000 vertices"),
    ],
) -> dict[str, Any]:
    """The same statistics inside a GeoJSON polygon (CRS84), clipped to the city's extent."""
    area: shapely.Geometry = geojson_area(polygon, city_extent(store, scope=scope))
    return district_stats(store, area, scope=scope)
