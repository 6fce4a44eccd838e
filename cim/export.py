"""Exporting the city model: CityJSON 2.0 (with meshes) and GeoPackage (a layer per class)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from cim.errors import CimError
from cim.model import CityObject, MeshPart
from cim.scope import Scope
from cim.store import CityStore

SCALE = 0.001
CITYJSON_TYPES = {
    "IfcBuilding": "Building", "IfcBuildingStorey": "BuildingStorey", "IfcSpace": "BuildingRoom",
    "building": "Building", "road": "Road", "landuse": "LandUse", "water": "WaterBody",
    "green": "PlantCover", "parcel": "LandUse", "district": "CityObjectGroup", "zone": "LandUse",
}  # fmt: skip
CONSTRUCTIVE = (
    "IfcWall", "IfcSlab", "IfcRoof", "IfcColumn", "IfcBeam", "IfcStair", "IfcRamp", "IfcFooting",
    "IfcPile", "IfcMember", "IfcPlate", "IfcCovering", "IfcCurtainWall", "IfcRailing", "IfcDoor",
    "IfcWindow", "IfcStairFlight",
)  # fmt: skip
NOT_EXPORTED = ("IfcSite", "IfcOpeningElement", "IfcAnnotation")


class ExportError(CimError):
    """The city cannot be exported as asked."""


def export_cityjson(store: CityStore, out: Path, *, scope: Scope) -> dict[str, int]:
    """Write the city as CityJSON 2.0: every object in ``scope``, its attributes and triangle
    surfaces."""
    objects = [o for o in store.objects(scope=scope) if o.cls not in NOT_EXPORTED]
    if not objects:
        raise ExportError(f"{store.city_dir} has no objects to export")
    extent = store.extent(scope=scope) or (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    translate = np.array(extent[:3])
    vertices: list[np.ndarray] = []
    count = 0
    city_objects: dict[str, Any] = {}
    exported = {o.id for o in objects}
    lod1, lod2 = store.lods("LOD1", scope=scope), store.lods("LOD2", scope=scope)
    for obj in objects:
        geometry = []
        meshes = store.meshes([obj.id], scope=scope).get(obj.id, [])
        for lod, parts in (("1", [lod1[obj.id]] if obj.id in lod1 else []),
                           ("2", [lod2[obj.id]] if obj.id in lod2 else []),
                           ("1" if obj.source.endswith(".gpkg") else "3", meshes)):  # fmt: skip
            if parts:
                boundaries, count = _surfaces(parts, translate, vertices, count)
                geometry.append({"type": "MultiSurface", "lod": lod, "boundaries": boundaries})
        city_objects[obj.id] = _city_object(obj, geometry, exported)
    _link_children(city_objects)
    document = {
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [SCALE] * 3, "translate": translate.tolist()},
        "metadata": {"referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{_code(store)}",
                     "title": store.name},
        "CityObjects": city_objects,
        "vertices": np.concatenate(vertices).tolist() if vertices else [],
    }  # fmt: skip
    _write_atomically(out, json.dumps(document, ensure_ascii=False, default=str))
    return {"objects": len(city_objects), "vertices": count}


def export_geopackage(store: CityStore, out: Path, *, scope: Scope) -> dict[str, int]:
    """Write one GeoPackage layer per class of the objects in ``scope``: footprint, heights,
    ids and attributes (JSON)."""
    counts = store.counts_by_class(scope=scope)
    if not counts:
        raise ExportError(f"{store.city_dir} has no objects to export")
    partial = out.with_name(f"{out.stem}.partial{out.suffix}")  # GDAL wants the .gpkg suffix
    partial.unlink(missing_ok=True)
    written = {}
    for cls in counts:
        rows = [_row(o) for o in store.objects(cls=cls, scope=scope) if o.footprint is not None]
        if not rows:
            continue
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=store.crs)
        frame.to_file(partial, layer=cls, driver="GPKG", engine="pyogrio")
        written[cls] = len(rows)
    if not written:
        raise ExportError(f"{store.city_dir} has no object with a footprint")
    partial.replace(out)
    return written


def _row(obj: CityObject) -> dict[str, Any]:
    return {
        "object_id": obj.id, "name": obj.name, "parent_id": obj.parent_id,
        "building_id": obj.building_id, "storey_id": obj.storey_id, "source": obj.source,
        "base_height": obj.base_height, "top_height": obj.top_height,
        "attributes": json.dumps(obj.attributes, ensure_ascii=False, default=str),
        "geometry": obj.footprint,
    }  # fmt: skip


def _surfaces(
    parts: list[MeshPart], translate: np.ndarray, vertices: list[np.ndarray], count: int
) -> tuple[list[list[list[int]]], int]:
    boundaries = []
    for part in parts:
        quantised = np.round((part.vertices - translate) / SCALE).astype(np.int64)
        vertices.append(quantised)
        boundaries += [[[int(i) + count for i in face]] for face in part.faces]
        count += len(quantised)
    return boundaries, count


def _city_object(
    obj: CityObject, geometry: list[dict[str, Any]], exported: set[str]
) -> dict[str, Any]:
    kind = CITYJSON_TYPES.get(obj.cls)
    if kind is None:
        kind = "BuildingConstructiveElement" if obj.cls.startswith(CONSTRUCTIVE) else (
            obj.cls if obj.cls[:1].isupper() and not obj.cls.startswith("Ifc") else
            "BuildingInstallation" if obj.building_id else "GenericCityObject")  # fmt: skip
    attributes = {k: v for k, v in obj.attributes.items() if k not in ("step_id",)}
    attributes |= {"class": obj.cls, "name": obj.name, "source": obj.source}
    city_object: dict[str, Any] = {"type": kind, "attributes": attributes}
    if geometry:
        city_object["geometry"] = geometry
    parent = obj.building_id if obj.building_id != obj.id else None
    if parent in exported:
        city_object["parents"] = [parent]
    return city_object


def _link_children(city_objects: dict[str, Any]) -> None:
    for object_id, city_object in city_objects.items():
        for parent in city_object.get("parents", []):
            city_objects[parent].setdefault("children", []).append(object_id)


def _code(store: CityStore) -> str:
    return store.crs.split(":", 1)[1] if store.crs.upper().startswith("EPSG:") else "0"


def _write_atomically(out: Path, text: str) -> None:
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
