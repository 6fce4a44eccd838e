"""City objects: one object with its property sets and spatial path, or a filtered page."""

from __future__ import annotations

import math
from typing import Any

import shapely
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import ScopeDep, StoreDep
from cim.area import bbox_area, city_extent, geojson_area
from cim.crs import transformer
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore

router = APIRouter(prefix="/api/objects", tags=["objects"])

MAX_LIMIT = 10_000
# The largest integer a JSON client holds exactly; SQLite's OFFSET takes up to 2**63 - 1.
MAX_OFFSET = 2**53 - 1


class ObjectSummary(BaseModel):
    """An object's id, class and name."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    cls: str = Field(alias="class")
    name: str


class ObjectInPage(ObjectSummary):
    """An object of a page, with the building and storey it belongs to."""

    building: str | None
    storey: str | None = None


class Position(BaseModel):
    """Longitude and latitude (degrees) and height (metres) of a point."""

    lon: float
    lat: float
    height: float


class ObjectDetail(ObjectSummary):
    """An object with its attributes, property sets and place in the spatial hierarchy."""

    parent_id: str | None
    building_id: str | None
    storey_id: str | None
    source: str | None
    attributes: dict[str, Any]
    psets: dict[str, Any]
    qtos: dict[str, Any]
    spatial_path: list[ObjectSummary] = Field(description="outermost container first")
    children: int = Field(description="number of objects directly under this one")
    position: Position | None = Field(description="centre of the footprint at the top")


class ObjectPage(BaseModel):
    """A page of objects, with the links to the next and previous pages."""

    total: int
    offset: int
    limit: int
    links: dict[str, str] = Field(description="``next`` and ``prev`` page URLs when they exist")
    objects: list[ObjectInPage]


class ObjectVersion(ObjectSummary):
    """An object as it was in an earlier version of its source."""

    version: int
    source: str | None
    attributes: dict[str, Any]


class ObjectHistory(BaseModel):
    """The earlier versions of an object, oldest first."""

    id: str
    versions: list[ObjectVersion]


@router.get("/{object_id}", response_model=ObjectDetail)
def get_object(object_id: str, store: StoreDep, scope: ScopeDep) -> ObjectDetail:
    """An object's attributes, property sets, spatial path and position (404 outside the
    caller's jurisdiction)."""
    obj = store.get_object(object_id, scope=scope)
    path = [*store.ancestors(object_id, scope=scope), obj]
    return ObjectDetail(
        **summary(obj).model_dump(),
        parent_id=obj.parent_id,
        building_id=obj.building_id,
        storey_id=obj.storey_id,
        source=obj.source,
        attributes={k: v for k, v in obj.attributes.items() if k not in ("psets", "qtos")},
        psets=obj.attributes.get("psets", {}),
        qtos=obj.attributes.get("qtos", {}),
        spatial_path=[summary(o) for o in path],
        children=store.count_objects(parent_id=object_id, scope=scope),
        position=position(store, obj),
    )


@router.get("", response_model=ObjectPage)
def list_objects(
    store: StoreDep,
    scope: ScopeDep,
    request: Request,
    cls: str | None = Query(None, alias="class", description="only objects of this class"),
    building: str | None = Query(None, description="only objects in this building (its id)"),
    storey: str | None = Query(None, description="only objects on this storey (its id)"),
    parent: str | None = Query(None, description="only objects directly under this id"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> ObjectPage:
    """Objects filtered by class, building, storey and parent, a page at a time."""
    filters = {"cls": cls, "parent_id": parent, "building_id": building, "storey_id": storey}
    total = store.count_objects(**filters, scope=scope)
    page = store.objects(**filters, limit=limit, offset=offset, scope=scope)
    links = {}
    if offset + limit < total:
        links["next"] = str(request.url.include_query_params(offset=offset + limit))
    if offset > 0:
        links["prev"] = str(request.url.include_query_params(offset=max(0, offset - limit)))
    return ObjectPage(
        total=total, offset=offset, limit=limit, links=links,
        objects=[ObjectInPage(**summary(o).model_dump(), building=o.building_id,
                              storey=o.storey_id) for o in page],
    )  # fmt: skip


class ObjectQuery(BaseModel):
    """A spatial and attribute query: a polygon (GeoJSON, CRS84), a class, attribute values."""

    model_config = ConfigDict(populate_by_name=True)

    polygon: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon or MultiPolygon in CRS84, at most 10 000 vertices"
    )
    bbox: list[float] | None = Field(None, description="[min_lon, min_lat, max_lon, max_lat]")
    cls: str | None = Field(None, alias="class")
    attributes: dict[str, Any] = Field(default_factory=dict, description="equal values")
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    @field_validator("attributes")
    @classmethod
    def _finite_values(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        for key, value in attributes.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"attribute {key!r}: a value must be a finite number")
        return attributes


class QueryPage(BaseModel):
    """A page of the objects a query found, and the query to post for the next page."""

    total: int
    offset: int
    limit: int
    next: ObjectQuery | None = Field(description="the body to post for the next page, if any")
    objects: list[ObjectInPage]


@router.post("/query", response_model=QueryPage)
def query_objects(query: ObjectQuery, store: StoreDep, scope: ScopeDep) -> QueryPage:
    """Objects whose footprint meets a polygon or box, of a class, with given attribute values.

    The area is checked (finite CRS84 coordinates, at most 10 000 vertices) and clipped to the
    city's extent; a query that finds more than ``limit`` objects answers a page at a time.
    """
    area = _query_area(store, query, scope)
    classes = [query.cls] if query.cls else list(store.counts_by_class(scope=scope))
    found = []
    if area is None or not area.is_empty:
        box = area.bounds if area is not None else None
        for cls in classes:
            for obj in store.objects_in_box(cls, box, scope=scope):
                if area is not None and (
                    obj.footprint is None or not obj.footprint.intersects(area)
                ):
                    continue
                if all(obj.attributes.get(k) == v for k, v in query.attributes.items()):
                    found.append(obj)
    page = found[query.offset : query.offset + query.limit]
    after = query.offset + query.limit
    return QueryPage(
        total=len(found), offset=query.offset, limit=query.limit,
        next=query.model_copy(update={"offset": after}) if after < len(found) else None,
        objects=[ObjectInPage(**summary(o).model_dump(), building=o.building_id, storey=o.storey_id)
                 for o in page],
    )  # fmt: skip


def _query_area(store: CityStore, query: ObjectQuery, scope: Scope) -> shapely.Geometry | None:
    if query.polygon is not None:
        return geojson_area(query.polygon, city_extent(store, scope=scope))
    if query.bbox is not None:
        return bbox_area(query.bbox, city_extent(store, scope=scope))
    return None


@router.get("/{object_id}/history", response_model=ObjectHistory)
def object_history(object_id: str, store: StoreDep, scope: ScopeDep) -> ObjectHistory:
    """Earlier versions of an object (from sources it was replaced in), oldest first."""
    versions = [
        ObjectVersion(**summary(entry["object"]).model_dump(), version=entry["version"],
                      source=entry["object"].source, attributes=entry["object"].attributes)
        for entry in store.object_history(object_id, scope=scope)
    ]  # fmt: skip
    if not versions:
        store.get_object(object_id, scope=scope)  # 404 when it never existed or is not seen
    return ObjectHistory(id=object_id, versions=versions)


def summary(obj: CityObject) -> ObjectSummary:
    """The id, class and name of an object."""
    return ObjectSummary.model_validate({"id": obj.id, "class": obj.cls, "name": obj.name})


def position(store: CityStore, obj: CityObject) -> Position | None:
    """Longitude, latitude and height of the object's centre top, or None without geometry."""
    if obj.footprint is None or obj.footprint.is_empty:
        return None
    centre = obj.footprint.centroid
    lon, lat = transformer(store.crs, "EPSG:4326").transform(centre.x, centre.y)
    height = obj.top_height if obj.top_height is not None else 0.0
    if not all(math.isfinite(v) for v in (lon, lat, height)):
        return None
    return Position(lon=float(lon), lat=float(lat), height=float(height))
