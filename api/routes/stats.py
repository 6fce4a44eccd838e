"""Statistics of the buildings in a district, a bounding box or a drawn polygon."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, Body, HTTPException, Query

from api.deps import StoreDep
from cim.crs import transform_arrays
from cim.stats import district_stats
from cim.store import CityStore

router = APIRouter(prefix="/api/stats", tags=["statistics"])


@router.get("")
def stats(
    store: StoreDep,
    district: str | None = Query(None, description="id of a district (or any polygon) object"),
    bbox: str | None = Query(None, description="lon,lat,lon,lat (CRS84)"),
) -> dict[str, Any]:
    """Count, footprint area, gross floor area and height distribution of the buildings."""
    if district is not None:
        area = store.get_object(district).footprint
        if area is None:
            raise HTTPException(422, f"object {district!r} has no polygon")
    elif bbox is not None:
        area = _from_crs84(store, shapely.box(*_numbers(bbox)))
    else:
        extent = store.extent()
        if extent is None:
            raise HTTPException(409, "the city has no geometry yet")
        area = shapely.box(extent[0], extent[1], extent[3], extent[4])
    return district_stats(store, area)


@router.post("")
def stats_in_polygon(
    store: StoreDep,
    polygon: Annotated[dict[str, Any], Body(description="GeoJSON polygon, CRS84")],
) -> dict[str, Any]:
    """The same statistics inside a GeoJSON polygon (CRS84)."""
    try:
        shape = shapely.geometry.shape(polygon)
    except Exception as exc:
        raise HTTPException(422, f"not a GeoJSON geometry: {exc}") from exc
    if shape.geom_type not in ("Polygon", "MultiPolygon") or not shape.is_valid:
        raise HTTPException(422, "expected a valid GeoJSON Polygon or MultiPolygon")
    return district_stats(store, _from_crs84(store, shape))


def _numbers(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise HTTPException(422, f"bbox {text!r}: expected lon,lat,lon,lat")
    return values


def _from_crs84(store: CityStore, shape: shapely.Geometry) -> shapely.Geometry:
    def move(points: np.ndarray) -> np.ndarray:
        return np.column_stack(transform_arrays("EPSG:4326", store.crs, points[:, 0], points[:, 1]))

    return shapely.transform(shapely.segmentize(shape, 0.0005), move)
