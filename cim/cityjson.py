"""CityJSON 1.1 and 2.0 into the city model: objects, attributes and triangulated surfaces.

Each CityObject becomes an object with its type as class and its attributes; its
highest-LoD geometry (Solid, CompositeSolid, MultiSolid, MultiSurface, CompositeSurface)
is triangulated surface by surface (holes kept), one mesh part per semantic surface type.
Vertices are dequantised with the file's transform and reprojected into the city CRS.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_earcut
import numpy as np
import shapely

from cim.conflate import conflate
from cim.crs import area_of_use_warning, parse_crs, transform_arrays
from cim.errors import CimError
from cim.model import CityObject, FloatArray, Material, MeshPart
from cim.scope import Scope
from cim.store import CityStore
from cim.writer import CityWriter

SUPPORTED_VERSIONS = ("1.1", "2.0")
SURFACE_MATERIALS = {
    "RoofSurface": Material("RoofSurface", (0.72, 0.33, 0.26, 1.0)),
    "WallSurface": Material("WallSurface", (0.88, 0.85, 0.78, 1.0)),
    "GroundSurface": Material("GroundSurface", (0.55, 0.55, 0.55, 1.0)),
    "WaterSurface": Material("WaterSurface", (0.35, 0.55, 0.80, 0.9)),
}
TYPE_MATERIALS = {
    "Road": Material("Road", (0.45, 0.45, 0.47, 1.0)),
    "PlantCover": Material("PlantCover", (0.42, 0.62, 0.35, 1.0)),
    "WaterBody": Material("WaterBody", (0.35, 0.55, 0.80, 0.9)),
    "LandUse": Material("LandUse", (0.70, 0.72, 0.60, 1.0)),
}
DEFAULT_MATERIAL = Material("CityObject", (0.80, 0.80, 0.80, 1.0))
_EPSG = re.compile(r"EPSG(?:/0/|::?)(\d+)", re.I)


class CityJsonError(CimError):
    """A CityJSON file cannot be imported."""


@dataclass
class CityJsonReport:
    """What a CityJSON import did."""

    source: str
    version: str
    crs: str
    objects_by_type: dict[str, int] = field(default_factory=dict)
    triangles: int = 0
    without_geometry: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replaced_objects: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def import_cityjson(store: CityStore, path: Path, crs: str | None = None) -> CityJsonReport:
    """Import a CityJSON file into ``store`` in one transaction; re-import replaces it."""
    started = time.perf_counter()
    document = _read(path)
    version = str(document.get("version", ""))
    if version not in SUPPORTED_VERSIONS:
        raise CityJsonError(f"{path}: CityJSON version {version!r} (supported: 1.1, 2.0)")
    source_crs = _crs_of(document, crs, path)
    source_vertices = _source_vertices(document, path)
    for object_id, city_object in document["CityObjects"].items():
        _check_indices(object_id, city_object, len(source_vertices), path)
    vertices = _to_city(source_vertices, source_crs, store.crs)
    report = CityJsonReport(path.name, version, source_crs)
    warning = _landing_warning(source_vertices, source_crs, store.crs, path.name)
    if warning is not None:
        report.warnings.append(f"{warning}: check the city CRS, or the file's CRS (--crs)")
    with store.transaction() as _:
        writer = store.writer()
        report.replaced_objects = writer.remove_source(path.name)
        parents = _parents(document["CityObjects"])
        for object_id, city_object in document["CityObjects"].items():
            kind = str(city_object.get("type", "CityObject"))
            parts = _mesh_parts(city_object, vertices, kind)
            obj = CityObject(
                id=object_id, cls=kind, name=str(city_object.get("attributes", {}).get("name", "")),
                parent_id=parents.get(object_id), source=path.name,
                attributes=dict(city_object.get("attributes", {})),
            )  # fmt: skip
            try:
                _add(writer, obj, parts, report)
            except sqlite3.IntegrityError as exc:
                other = store.get_object(object_id, scope=Scope.everything()).source
                raise CityJsonError(
                    f"{path}: CityObject {object_id!r} is already in the city, from {other}:"
                    " ids must be unique across sources"
                ) from exc
            report.objects_by_type[kind] = report.objects_by_type.get(kind, 0) + 1
        conflate(store)
        report.seconds = round(time.perf_counter() - started, 3)
        writer.record_source(path.name, str(path), "", "cityjson", report.to_dict())
    return report


def _add(
    writer: CityWriter, obj: CityObject, parts: list[MeshPart], report: CityJsonReport
) -> None:
    """Store one CityObject and its surfaces, counted in ``report``."""
    if parts:
        points = np.concatenate([p.vertices for p in parts])
        obj.base_height, obj.top_height = float(points[:, 2].min()), float(points[:, 2].max())
        obj.footprint = _footprint(parts)
        writer.add_mesh(obj.id, parts)
        report.triangles += sum(len(p.faces) for p in parts)
    else:
        report.without_geometry.append(obj.id)
    writer.add_object(obj)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CityJsonError(f"{path}: no such file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CityJsonError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("type") != "CityJSON":
        raise CityJsonError(f'{path}: not a CityJSON file (no "type": "CityJSON")')
    if not document.get("CityObjects"):
        raise CityJsonError(f"{path}: the file has no CityObjects")
    if not isinstance(document["CityObjects"], dict):
        raise CityJsonError(f"{path}: CityObjects is not a JSON object of ids")
    return document


def _crs_of(document: dict[str, Any], given: str | None, path: Path) -> str:
    if given is not None:
        parse_crs(given)
        return given
    reference = str((document.get("metadata") or {}).get("referenceSystem") or "")
    match = _EPSG.search(reference)
    if match is None:
        raise CityJsonError(f"{path}: the metadata names no referenceSystem: give --crs")
    code = int(match.group(1))
    horizontal = {7415: 28992}.get(code, code)  # RD New + NAP: heights stay as they are
    return f"EPSG:{horizontal}"


def _source_vertices(document: dict[str, Any], path: Path) -> FloatArray:
    """The file's vertices, dequantised, in its own CRS."""
    try:
        raw = np.asarray(document.get("vertices", []), dtype=np.float64).reshape(-1, 3)
    except (TypeError, ValueError) as exc:
        raise CityJsonError(f"{path}: the vertices are not x, y, z numbers ({exc})") from exc
    transform = document.get("transform")
    if transform is None:
        return raw
    try:
        scale, translate = (
            np.asarray(transform[k], dtype=np.float64) for k in ("scale", "translate")
        )
        if scale.shape != (3,) or translate.shape != (3,):
            raise ValueError("not three numbers each")
    except (TypeError, ValueError, KeyError) as exc:
        raise CityJsonError(
            f"{path}: the transform needs a scale and a translate of three numbers each ({exc})"
        ) from exc
    return raw * scale + translate


def _to_city(raw: FloatArray, source_crs: str, city_crs: str) -> FloatArray:
    if len(raw) and parse_crs(source_crs) != parse_crs(city_crs):
        x, y = transform_arrays(source_crs, city_crs, raw[:, 0], raw[:, 1])
        raw = np.column_stack([x, y, raw[:, 2]])
    return raw


def _check_indices(object_id: str, city_object: Any, count: int, path: Path) -> None:
    """Refuse a geometry whose boundaries hold anything but indices of existing vertices."""
    if not isinstance(city_object, dict):
        raise CityJsonError(f"{path}: CityObject {object_id!r} is not a JSON object")
    for geometry in city_object.get("geometry", []):
        if not isinstance(geometry, dict) or "boundaries" not in geometry:
            continue
        for index in _leaves(geometry["boundaries"]):
            if isinstance(index, bool) or not isinstance(index, int):
                raise CityJsonError(
                    f"{path}: CityObject {object_id!r} has the vertex index {index!r},"
                    " not an integer"
                )
            if not 0 <= index < count:
                held = f"vertices 0 to {count - 1}" if count else "no vertices"
                raise CityJsonError(
                    f"{path}: CityObject {object_id!r} refers to vertex {index}; the file"
                    f" has {held}"
                )


def _leaves(boundaries: Any) -> Iterator[Any]:
    """Every value inside nested boundary lists, in order."""
    stack = [boundaries]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            yield item


def _landing_warning(raw: FloatArray, source_crs: str, city_crs: str, what: str) -> str | None:
    """Where the file lands when any of its vertices falls outside the city CRS's area."""
    if len(raw) == 0:
        return None
    sample = raw[:: max(1, len(raw) // 10_000)]
    lon, lat = transform_arrays(source_crs, "EPSG:4326", sample[:, 0], sample[:, 1])
    return area_of_use_warning(city_crs, lon, lat, what)


def _parents(objects: dict[str, Any]) -> dict[str, str]:
    parents = {}
    for object_id, city_object in objects.items():
        for parent in city_object.get("parents", []):
            parents[object_id] = parent
        for child in city_object.get("children", []):
            parents.setdefault(child, object_id)
    return parents


def _mesh_parts(city_object: dict[str, Any], vertices: FloatArray, kind: str) -> list[MeshPart]:
    geometries = [g for g in city_object.get("geometry", []) if "boundaries" in g]
    if not geometries:
        return []
    best = max(geometries, key=lambda g: str(g.get("lod", "0")))
    by_material: dict[Material, list[np.ndarray]] = {}
    for surface, semantic in _surfaces(best):
        material = SURFACE_MATERIALS.get(semantic or "", TYPE_MATERIALS.get(kind, DEFAULT_MATERIAL))
        triangles = _triangulate(surface, vertices)
        if len(triangles):
            by_material.setdefault(material, []).append(triangles)
    parts = []
    for material, chunks in by_material.items():
        corners = np.concatenate(chunks)
        used, inverse = np.unique(corners.ravel(), return_inverse=True)
        faces = inverse.reshape(-1, 3).astype(np.uint32)
        parts.append(MeshPart(material, vertices[used], faces))
    return parts


def _surfaces(geometry: dict[str, Any]) -> Iterator[tuple[list[list[int]], str | None]]:
    """Every surface (rings of vertex indices) with its semantic type."""
    semantics = geometry.get("semantics") or {}
    kinds = [s.get("type") for s in semantics.get("surfaces", [])]
    depth = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2, "MultiSolid": 3,
             "CompositeSolid": 3}.get(geometry.get("type", ""), 0)  # fmt: skip
    if depth == 0:
        return
    yield from _walk(geometry["boundaries"], semantics.get("values"), kinds, depth)


def _walk(
    boundaries: list[Any], values: Any, kinds: list[str | None], depth: int
) -> Iterator[tuple[list[list[int]], str | None]]:
    for index, item in enumerate(boundaries):
        value = values[index] if isinstance(values, list) and index < len(values) else None
        if depth == 1:
            kind = kinds[value] if isinstance(value, int) and value < len(kinds) else None
            yield item, kind
        else:
            yield from _walk(item, value, kinds, depth - 1)


def _triangulate(surface: list[list[int]], vertices: FloatArray) -> np.ndarray:
    """Triangles (as vertex indices) of one planar polygon with holes."""
    rings = [ring for ring in surface if len(ring) >= 3]
    if not rings:
        return np.empty((0, 3), dtype=np.int64)
    indices = np.concatenate([np.asarray(ring, dtype=np.int64) for ring in rings])
    points = vertices[indices]
    normal = _newell(vertices[np.asarray(rings[0])])
    axis = int(np.argmax(np.abs(normal)))
    flat = np.delete(points, axis, axis=1)
    ends = np.cumsum([len(ring) for ring in rings]).astype(np.uint32)
    local = mapbox_earcut.triangulate_float64(flat - flat.mean(axis=0), ends)
    return indices[np.asarray(local, dtype=np.int64)].reshape(-1, 3)


def _newell(ring: FloatArray) -> FloatArray:
    following = np.roll(ring, -1, axis=0)
    return np.array([
        np.sum((ring[:, 1] - following[:, 1]) * (ring[:, 2] + following[:, 2])),
        np.sum((ring[:, 2] - following[:, 2]) * (ring[:, 0] + following[:, 0])),
        np.sum((ring[:, 0] - following[:, 0]) * (ring[:, 1] + following[:, 1])),
    ])  # fmt: skip


def _footprint(parts: list[MeshPart]) -> shapely.Geometry | None:
    triangles = np.concatenate([p.vertices[p.faces][:, :, :2] for p in parts])
    rings = np.concatenate([triangles, triangles[:, :1]], axis=1)
    polygons = shapely.polygons(rings)
    polygons = polygons[shapely.area(polygons) > 1e-6]
    if len(polygons) == 0:
        return None
    return shapely.union_all(polygons).simplify(0.01)
