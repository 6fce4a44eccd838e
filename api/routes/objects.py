"""City objects: one object with its property sets and spatial path, or a filtered page."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from api.deps import StoreDep
from cim.crs import transform_arrays, transformer
from cim.model import CityObject
from cim.store import CityStore

router = APIRouter(prefix="/api/objects", tags=["objects"])


@router.get("/{object_id}")
def get_object(object_id: str, store: StoreDep) -> dict[str, Any]:
    """An object's attributes, property sets, spatial path and position."""
    obj = store.get_object(object_id)
    path = [*store.ancestors(object_id), obj]
    return {
        **summary(obj),
        "parent_id": obj.parent_id,
        "building_id": obj.building_id,
        "storey_id": obj.storey_id,
        "source": obj.source,
        "attributes": {k: v for k, v in obj.attributes.items() if k not in ("psets", "qtos")},
        "psets": obj.attributes.get("psets", {}),
        "qtos": obj.attributes.get("qtos", {}),
        "spatial_path": [summary(o) for o in path],
        "children": len(store.objects(parent_id=object_id)),
        "position": position(store, obj),
    }


@router.get("")
def list_objects(
    store: StoreDep,
    request: Request,
    cls: str | None = Query(None, alias="class", description="only objects of this class"),
    building: str | None = Query(None, description="only objects in this building (its id)"),
    storey: str | None = Query(None, description="only objects on this storey (its id)"),
    parent: str | None = Query(None, description="only objects directly under this id"),
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Objects filtered by class, building, storey and parent, a page at a time."""
    filters = {"cls": cls, "parent_id": parent, "building_id": building, "storey_id": storey}
    total = store.count_objects(**filters)
    page = store.objects(**filters, limit=limit, offset=offset)
    links = {}
    if offset + limit < total:
        links["next"] = str(request.url.include_query_params(offset=offset + limit))
    if offset > 0:
        links["prev"] = str(request.url.include_query_params(offset=max(0, offset - limit)))
    return {"total": total, "offset": offset, "limit": limit, "links": links,
            "objects": [summary(o) | {"building": o.building_id, "storey": o.storey_id}
                        for o in page]}  # fmt: skip


class ObjectQuery(BaseModel):
    """A spatial and attribute query: a polygon (GeoJSON, CRS84), a class, attribute values."""

    polygon: dict[str, Any] | None = Field(None, description="GeoJSON Polygon/MultiPolygon")
    bbox: list[float] | None = Field(None, description="[lon, lat, lon, lat]")
    cls: str | None = Field(None, alias="class")
    attributes: dict[str, Any] = Field(default_factory=dict, description="equal values")
    limit: int = Field(100, ge=1, le=10_000)
    offset: int = Field(0, ge=0)


@router.post("/query")
def query_objects(query: ObjectQuery, store: StoreDep) -> dict[str, Any]:
    """Objects whose footprint meets a polygon or box, of a class, with given attribute values."""
    area = _query_area(store, query)
    classes = [query.cls] if query.cls else list(store.counts_by_class())
    found = []
    for cls in classes:
        for obj in store.objects_in_box(cls, area.bounds if area is not None else None):
            if area is not None and (obj.footprint is None or not obj.footprint.intersects(area)):
                continue
            if all(obj.attributes.get(k) == v for k, v in query.attributes.items()):
                found.append(obj)
    page = found[query.offset : query.offset + query.limit]
    return {"total": len(found), "offset": query.offset, "limit": query.limit,
            "objects": [summary(o) | {"building": o.building_id} for o in page]}  # fmt: skip


def _query_area(store: CityStore, query: ObjectQuery) -> shapely.Geometry | None:
    if query.polygon is not None:
        try:
            shape = shapely.geometry.shape(query.polygon)
        except Exception as exc:
            raise HTTPException(422, f"polygon: not a GeoJSON geometry ({exc})") from exc
        if shape.geom_type not in ("Polygon", "MultiPolygon") or not shape.is_valid:
            raise HTTPException(422, "polygon: expected a valid Polygon or MultiPolygon")
    elif query.bbox is not None:
        if len(query.bbox) != 4:
            raise HTTPException(422, "bbox: expected [lon, lat, lon, lat]")
        shape = shapely.box(*query.bbox)
    else:
        return None

    def to_city(points: np.ndarray) -> np.ndarray:
        return np.column_stack(transform_arrays("EPSG:4326", store.crs, points[:, 0], points[:, 1]))

    return shapely.transform(shapely.segmentize(shape, 0.0005), to_city)


@router.get("/{object_id}/history")
def object_history(object_id: str, store: StoreDep) -> dict[str, Any]:
    """Earlier versions of an object (from sources it was replaced in), oldest first."""
    versions = [
        {"version": entry["version"], **summary(entry["object"]),
         "source": entry["object"].source, "attributes": entry["object"].attributes}
        for entry in store.object_history(object_id)
    ]  # fmt: skip
    if not versions:
        store.get_object(object_id)  # 404 when the object never existed
    return {"id": object_id, "versions": versions}


def summary(obj: CityObject) -> dict[str, Any]:
    """The id, class and name of an object."""
    return {"id": obj.id, "class": obj.cls, "name": obj.name}


def position(store: CityStore, obj: CityObject) -> dict[str, float] | None:
    """Longitude, latitude and height of the object's centre top, or None without geometry."""
    if obj.footprint is None:
        return None
    centre = obj.footprint.centroid
    lon, lat = transformer(store.crs, "EPSG:4326").transform(centre.x, centre.y)
    height = obj.top_height if obj.top_height is not None else 0.0
    return {"lon": float(lon), "lat": float(lat), "height": float(height)}
