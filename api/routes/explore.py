"""What the viewer asks besides single objects: search, per-object values, where an object is."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ScopeDep, StoreDep
from api.errors import NoGeometryError
from api.routes.objects import Position
from cim import search as finder
from cim.crs import transformer

router = APIRouter(prefix="/api", tags=["explore"])

MAX_IDS = 200_000
# Units of the derived numeric attributes (cim.search.values); other attributes have none
# known (a quantity's unit is the model's own, not recorded with its value).
UNITS = {"height": "m"}


class SearchHit(BaseModel):
    """An object found by a search, and which of its fields matched."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    cls: str = Field(alias="class")
    name: str
    building: str | None
    storey: str | None
    building_name: str | None = Field(description="the name of the object's building")
    storey_name: str | None = Field(description="the name of the object's storey")
    match: str = Field(description="id, name, pinyin (of a Chinese name) or address")
    address: str | None


class SearchResults(BaseModel):
    """The best matches of a search, best first."""

    query: str
    results: list[SearchHit]


class Values(BaseModel):
    """One value per object, with their range (numbers) or categories, to colour tiles by."""

    attribute: str
    kind: str = Field(description="number, category or empty")
    count: int
    owners: int = Field(description="objects holding a value of their own (e.g. buildings)")
    range: list[float] | None = Field(description="[min, max] of numbers")
    categories: list[list[Any]] = Field(description="[value, count], most common first")
    unit: str | None = Field(None, description="unit of the numbers (e.g. m), when known")
    values: dict[str, Any]


class Extent(BaseModel):
    """Where an object is: its box in longitude/latitude, its centre, heights and radius."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    cls: str = Field(alias="class")
    name: str
    building: str | None
    storey: str | None
    bbox: list[float] = Field(description="[min_lon, min_lat, max_lon, max_lat]")
    center: Position
    base_height: float
    top_height: float
    radius: float = Field(description="metres, at least 1")


@router.get("/search", response_model=SearchResults)
def search_objects(
    store: StoreDep,
    scope: ScopeDep,
    q: str = Query(
        ..., min_length=1, max_length=200, description="id, name (Chinese or pinyin) or address"
    ),
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    """Objects whose id, name or an address field contains ``q``, or whose Chinese name reads
    as ``q`` in pinyin: buildings first, then places, spaces and elements; each with the
    names of its building and storey."""
    hits = finder.search(store, q, limit, scope=scope)
    return {
        "query": q,
        "results": [
            {"id": h.id, "class": h.cls, "name": h.name, "building": h.building_id,
             "storey": h.storey_id, "building_name": h.building_name,
             "storey_name": h.storey_name, "match": h.match, "address": h.address}
            for h in hits
        ],
    }  # fmt: skip


class ValuesQuery(BaseModel):
    """Which attribute, for which objects (all when ``ids`` is absent)."""

    attribute: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="a key, Pset.Property, height, use, year, or simulation:<run id>:<values>",
    )
    ids: list[str] | None = Field(None, max_length=MAX_IDS)
    cls: str | None = Field(None, alias="class")
    per_building: bool = Field(False, description="objects in a building take its value")


@router.post("/objects/values", response_model=Values)
def object_values(query: ValuesQuery, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """One stored value per object id, with its range or categories, to colour the tiles by."""
    owners: set[str] = set()
    found = finder.values(
        store, query.attribute, query.ids, query.cls, query.per_building, owners, scope=scope
    )
    unit = UNITS.get(query.attribute) or finder.unit_of(store, query.attribute, scope)
    numbers = [v for v in found.values() if isinstance(v, int | float)]
    kind = "empty" if not found else "number" if len(numbers) == len(found) else "category"
    if kind == "category":
        found = {k: str(v) for k, v in found.items()}
    # Counted once per owner: a building, not each of its elements that take its value.
    counted = Counter(found[k] for k in owners)
    categories = counted.most_common() if kind == "category" else []
    return {
        "attribute": query.attribute,
        "kind": kind,
        "count": len(found),
        "owners": len(owners),
        "range": [min(numbers), max(numbers)] if kind == "number" else None,
        "categories": [[value, count] for value, count in categories],
        "unit": unit if kind == "number" else None,
        "values": found,
    }


@router.get("/objects/{object_id}/extent", response_model=Extent)
def object_extent(object_id: str, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """Where an object is: its footprint's box in longitude/latitude and its heights."""
    obj = store.get_object(object_id, scope=scope)
    if obj.footprint is None or obj.footprint.is_empty:
        raise NoGeometryError(f"object {object_id!r} has no geometry")
    minx, miny, maxx, maxy = obj.footprint.bounds
    to_lonlat = transformer(store.crs, "EPSG:4326")
    lons, lats = to_lonlat.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    base = obj.base_height if obj.base_height is not None else 0.0
    top = obj.top_height if obj.top_height is not None else base
    centre_lon, centre_lat = to_lonlat.transform((minx + maxx) / 2, (miny + maxy) / 2)
    if not np.isfinite([*lons, *lats, centre_lon, centre_lat]).all():
        raise NoGeometryError(f"object {object_id!r} lies where {store.crs} has no longitude")
    half_diagonal = ((maxx - minx) ** 2 + (maxy - miny) ** 2 + (top - base) ** 2) ** 0.5 / 2
    return {
        "id": obj.id,
        "class": obj.cls,
        "name": obj.name,
        "building": obj.building_id,
        "storey": obj.storey_id,
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "center": {"lon": centre_lon, "lat": centre_lat, "height": (base + top) / 2},
        "base_height": base,
        "top_height": top,
        "radius": max(half_diagonal, 1.0),
    }
