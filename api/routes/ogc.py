"""OGC API - Features (Part 1: Core, GeoJSON; Part 2: CRS by reference) over the city store.

One collection per object class. Geometries are the objects' footprints, in CRS84 by
default or in the city CRS when asked (``crs``), with axes in that CRS's order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from api.deps import StoreDep
from cim.crs import parse_crs, transform_arrays
from cim.model import CityObject
from cim.store import CityStore

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


@router.get("")
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


@router.get("/conformance")
def conformance() -> dict[str, Any]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections")
def collections(request: Request, store: StoreDep) -> dict[str, Any]:
    """Every class of the city as a collection."""
    base = _base(request)
    return {
        "links": [{"href": f"{base}/ogc/collections", "rel": "self", "type": "application/json"}],
        "collections": [_collection(store, base, cls) for cls in store.counts_by_class()],
        "crs": [CRS84, _city_crs_uri(store)],
    }


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, store: StoreDep) -> dict[str, Any]:
    """One collection's description, extent and CRS."""
    _require(store, collection_id)
    return _collection(store, _base(request), collection_id)


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str,
    request: Request,
    store: StoreDep,
    limit: int = Query(10, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs"),
    bbox_crs: str = Query(CRS84, alias="bbox-crs"),
    crs: str = Query(CRS84, description="CRS of the response geometries"),
) -> JSONResponse:
    """Features of a collection, a page at a time, within a bounding box and matching
    ``property=value`` filters (any core field or scalar attribute, e.g. ``use=office``)."""
    _require(store, collection_id)
    target = _crs_code(store, crs)
    box = _box_in_city_crs(store, bbox, _crs_code(store, bbox_crs)) if bbox else None
    found = store.objects_in_box(collection_id, box)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMETERS}
    if filters:
        found = [o for o in found if _matches(o, filters)]
    page = found[offset : offset + limit]
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if offset + limit < len(found):
        next_url = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"href": str(next_url), "rel": "next", "type": GEOJSON})
    body = {
        "type": "FeatureCollection",
        "features": [_feature(store, obj, target) for obj in page],
        "numberMatched": len(found), "numberReturned": len(page),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links,
    }  # fmt: skip
    return _geojson(body, crs)


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(
    collection_id: str, feature_id: str, store: StoreDep, crs: str = Query(CRS84)
) -> JSONResponse:
    """One feature."""
    obj = store.get_object(feature_id)
    if obj.cls != collection_id:
        raise HTTPException(404, f"feature {feature_id!r} is not in collection {collection_id!r}")
    return _geojson(_feature(store, obj, _crs_code(store, crs)), crs)


def _matches(obj: CityObject, filters: dict[str, str]) -> bool:
    """Whether every ``property=value`` filter holds (values compared as text)."""
    properties = _properties(obj)
    return all(
        key in properties and str(properties[key]) == value for key, value in filters.items()
    )


def _geojson(body: dict[str, Any], crs: str) -> JSONResponse:
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _require(store: CityStore, collection_id: str) -> None:
    if collection_id not in store.counts_by_class():
        raise HTTPException(404, f"no collection {collection_id!r}")


def _city_crs_uri(store: CityStore) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{store.crs.split(':')[1]}"


def _crs_code(store: CityStore, uri: str) -> str:
    if uri in (CRS84, "CRS84"):
        return "OGC:CRS84"
    if uri == _city_crs_uri(store):
        return store.crs
    raise HTTPException(400, f"unsupported CRS {uri!r}: use {CRS84} or {_city_crs_uri(store)}")


def _north_first(code: str) -> bool:
    axes = parse_crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() == "north"


def _to_output(points: np.ndarray, store: CityStore, code: str) -> np.ndarray:
    if code == "OGC:CRS84":
        lon, lat = transform_arrays(store.crs, "EPSG:4326", points[:, 0], points[:, 1])
        return np.column_stack([lon, lat])
    return points[:, ::-1] if _north_first(code) else points


def _box_in_city_crs(store: CityStore, text: str, code: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise HTTPException(400, f"bbox {text!r}: expected minx,miny,maxx,maxy")
    corners = np.array([[values[0], values[1]], [values[2], values[1]],
                        [values[2], values[3]], [values[0], values[3]]])  # fmt: skip
    if code == "OGC:CRS84":
        x, y = transform_arrays("EPSG:4326", store.crs, corners[:, 0], corners[:, 1])
    else:
        corners = corners[:, ::-1] if _north_first(code) else corners
        x, y = corners[:, 0], corners[:, 1]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


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


def _collection(store: CityStore, base: str, cls: str) -> dict[str, Any]:
    boxes = [o.footprint.bounds for o in store.objects(cls=cls) if o.footprint is not None]
    extent = None
    if boxes:
        array = np.array(boxes)
        low = _to_output(array[:, :2].min(axis=0, keepdims=True), store, "OGC:CRS84")[0]
        high = _to_output(array[:, 2:].max(axis=0, keepdims=True), store, "OGC:CRS84")[0]
        extent = {"spatial": {"bbox": [[*low.tolist(), *high.tolist()]], "crs": CRS84}}
    return {
        "id": cls, "title": cls, "itemType": "feature",
        "crs": [CRS84, _city_crs_uri(store)], "storageCrs": _city_crs_uri(store),
        **({"extent": extent} if extent else {}),
        "links": [
            {"href": f"{base}/ogc/collections/{cls}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/ogc/collections/{cls}/items", "rel": "items", "type": GEOJSON},
        ],
    }  # fmt: skip
