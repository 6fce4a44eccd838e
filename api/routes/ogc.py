"""OGC API - Features (Part 1: Core, GeoJSON; Part 2: CRS by reference) over the city store.

One collection per object class. Geometries are the objects' footprints, in CRS84 by
default or in the city CRS when asked (``crs``), with axes in that CRS's order. Items are
found through the store's spatial index and paged by the store (``numberMatched`` is
counted there); collection extents come from the same index. Collections, extents, counts
and items are those of the caller's jurisdiction.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ScopeDep, StoreDep, caller_scope
from cim.crs import parse_crs, transform_arrays, transformer
from cim.errors import CrsError, ObjectNotFoundError, QueryError
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.store_rows import Box

router = APIRouter(prefix="/ogc", tags=["ogc-api-features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
RESERVED_PARAMETERS = ("limit", "offset", "bbox", "bbox-crs", "crs", "f", "datetime")
CORE_PROPERTIES = ("class", "name", "parent_id", "building_id", "storey_id", "source",
                   "base_height", "top_height")  # fmt: skip


@router.get("", dependencies=[Depends(caller_scope)])
def landing(request: Request, store: StoreDep) -> dict[str, Any]:
    """The landing page of the city's OGC API - Features."""
    base = _base(request)
    return {
        "title": f"{store.name}: OGC API - Features",
        "description": "City objects of CIMTwin as features, one collection per class.",
        "links": [
            {"href": f"{base}/ogc", "rel": "self", "type": "application/json"},
            {"href": f"{base}/openapi.json", "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0"},
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html"},
            {"href": f"{base}/ogc/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{base}/ogc/collections", "rel": "data", "type": "application/json"},
        ],
    }  # fmt: skip


@router.get("/conformance", dependencies=[Depends(caller_scope)])
def conformance() -> dict[str, Any]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections")
def collections(request: Request, store: StoreDep, scope: ScopeDep) -> dict[str, Any]:
    """Every class of the city (with objects in the caller's jurisdiction) as a collection."""
    base = _base(request)
    extents = store.class_extents(scope=scope)
    return {
        "links": [{"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"}],
        "collections": [
            _collection(store, base, cls, extents.get(cls))
            for cls in store.counts_by_class(scope=scope)
        ],
        "crs": [CRS84, _city_crs_uri(store)],
    }


@router.get("/collections/{collection_id}")
def collection(
    collection_id: str, request: Request, store: StoreDep, scope: ScopeDep
) -> dict[str, Any]:
    """One collection's description, extent and CRS."""
    _require(store, collection_id, scope)
    extent = store.class_extents(scope=scope).get(collection_id)
    return _collection(store, _base(request), collection_id, extent)


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str,
    request: Request,
    store: StoreDep,
    scope: ScopeDep,
    limit: int = Query(10, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    bbox: str | None = Query(
        None, description="minx,miny,maxx,maxy (or minx,miny,minz,maxx,maxy,maxz) in bbox-crs"
    ),
    bbox_crs: str = Query(CRS84, alias="bbox-crs"),
    crs: str = Query(CRS84, description="CRS of the response geometries"),
) -> JSONResponse:
    """Features of a collection, a page at a time, within a bounding box and matching
    ``property=value`` filters (any core field or scalar attribute, e.g. ``use=office``)."""
    _require(store, collection_id, scope)
    target = _crs_code(store, crs)
    box: Box | None = None
    if bbox is not None:
        box = _box_in_city_crs(store, _bbox_numbers(bbox), _crs_code(store, bbox_crs))
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMETERS}
    found: list[CityObject] = []
    matched = 0
    if box is not None or bbox is None:  # else the box lies outside the city CRS's area
        page = store.feature_page(collection_id, box, filters, limit, offset, scope=scope)
        found, matched = page.items, page.matched
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if offset + limit < matched:
        next_url = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"href": str(next_url), "rel": "next", "type": GEOJSON})
    body = {
        "type": "FeatureCollection",
        "features": [_feature(store, obj, target) for obj in found],
        "numberMatched": matched, "numberReturned": len(found),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links,
    }  # fmt: skip
    return _geojson(body, crs)


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(
    collection_id: str, feature_id: str, store: StoreDep, scope: ScopeDep, crs: str = Query(CRS84)
) -> JSONResponse:
    """One feature."""
    obj = store.get_object(feature_id, scope=scope)
    if obj.cls != collection_id:
        raise ObjectNotFoundError(f"feature {feature_id!r} is not in collection {collection_id!r}")
    return _geojson(_feature(store, obj, _crs_code(store, crs)), crs)


def _geojson(body: dict[str, Any], crs: str) -> JSONResponse:
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _require(store: CityStore, collection_id: str, scope: Scope) -> None:
    if store.count_objects(cls=collection_id, scope=scope) == 0:
        raise ObjectNotFoundError(f"no collection {collection_id!r}")


def _city_crs_uri(store: CityStore) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{store.crs.split(':')[1]}"


def _crs_code(store: CityStore, uri: str) -> str:
    if uri in (CRS84, "CRS84"):
        return "OGC:CRS84"
    if uri == _city_crs_uri(store):
        return store.crs
    raise CrsError(f"unsupported CRS {uri!r}: use {CRS84} or {_city_crs_uri(store)}")


def _north_first(code: str) -> bool:
    axes = parse_crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() == "north"


def _to_output(points: np.ndarray, store: CityStore, code: str) -> np.ndarray:
    if code == "OGC:CRS84":
        lon, lat = transform_arrays(store.crs, "EPSG:4326", points[:, 0], points[:, 1])
        return np.column_stack([lon, lat])
    return points[:, ::-1] if _north_first(code) else points


def _bbox_numbers(text: str) -> list[float]:
    """The numbers of a ``bbox`` parameter: 4 or 6, finite, lower corner first."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6):
        raise QueryError(
            f"bbox {text!r}: expected 4 numbers minx,miny,maxx,maxy"
            " or 6 numbers minx,miny,minz,maxx,maxy,maxz"
        )
    if not all(math.isfinite(v) for v in values):
        raise QueryError(f"bbox {text!r}: every number must be finite")
    half = len(values) // 2
    if any(low > high for low, high in zip(values[:half], values[half:], strict=True)):
        raise QueryError(f"bbox {text!r}: each minimum must be at most its maximum")
    return values


def _box_in_city_crs(store: CityStore, values: list[float], code: str) -> Box | None:
    """The bbox in the city CRS (its plan part), or None when it misses the CRS's area."""
    half = len(values) // 2
    x0, y0, x1, y1 = values[0], values[1], values[half], values[half + 1]
    if code != "OGC:CRS84":
        if _north_first(code):
            x0, y0, x1, y1 = y0, x0, y1, x1
        return Box.checked(x0, y0, x1, y1)
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise QueryError(f"bbox {values}: longitudes must be within ±180, latitudes ±90")
    area = parse_crs(store.crs).area_of_use
    if area is not None:  # clip to where the city CRS is defined
        x0, y0 = max(x0, area.west), max(y0, area.south)
        x1, y1 = min(x1, area.east), min(y1, area.north)
        if x0 > x1 or y0 > y1:
            return None
    bounds = transformer("EPSG:4326", store.crs).transform_bounds(x0, y0, x1, y1, densify_pts=21)
    return Box.checked(*bounds)


def _feature(store: CityStore, obj: CityObject, code: str) -> dict[str, Any]:
    geometry = None
    if obj.footprint is not None:
        moved = shapely.transform(obj.footprint, lambda p: _to_output(p, store, code))
        geometry = shapely.geometry.mapping(moved)
    return {"type": "Feature", "id": obj.id, "geometry": geometry, "properties": _properties(obj)}


def _properties(obj: CityObject) -> dict[str, Any]:
    """The core fields and the scalar attributes of an object."""
    properties: dict[str, Any] = {key: getattr(obj, {"class": "cls"}.get(key, key))
                                  for key in CORE_PROPERTIES}  # fmt: skip
    for key, value in obj.attributes.items():
        if isinstance(value, str | int | float | bool) and key not in properties:
            properties[key] = value
    return properties


def _collection(store: CityStore, base: str, cls: str, box: Box | None) -> dict[str, Any]:
    extent = None
    if box is not None:  # the box's edges, densified, so that the extent holds it
        to_lon_lat = transformer(store.crs, "EPSG:4326")
        bounds = to_lon_lat.transform_bounds(*box.as_tuple(), densify_pts=21)
        extent = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    return {
        "id": cls, "title": cls, "itemType": "feature",
        "crs": [CRS84, _city_crs_uri(store)], "storageCrs": _city_crs_uri(store),
        **({"extent": extent} if extent else {}),
        "links": [
            {"href": f"{base}/ogc/collections/{cls}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/ogc/collections/{cls}/items", "rel": "items", "type": GEOJSON},
        ],
    }  # fmt: skip
