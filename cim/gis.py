"""GIS vector layers into the city model: reprojected, repaired, with stable ids.

Reads GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet and OSM PBF through GDAL
(pyogrio). Buildings get an LOD1 block from their height, else their number of levels
times the storey height, else a stated default; the report counts each case, and the
features whose value was empty, unreadable or out of bounds and fell through to the next
rule. The whole layer is handled in arrays: reprojection, repair, heights, extrusion,
grounding on the DEM and the inserts run once per layer, not once per feature.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely

from cim.conflate import BIM_BUILDING_CLASS, conflate
from cim.crs import area_of_use_warning, crs_text, parse_crs, transform_arrays
from cim.errors import CimError
from cim.extrude import extrude_footprints
from cim.gisfields import (
    HEIGHT_FIELDS,
    LEVEL_FIELDS,
    MAX_HEIGHT,
    MAX_LEVELS,
    ROOF_HEIGHT_FIELDS,
    FieldValues,
    Tags,
    attribute_dicts,
    field_values,
    missing_field,
    osm_tags,
    resolve_heights,
)
from cim.model import CityObject, FloatArray, Material
from cim.raster import footprint_bases
from cim.scope import Scope
from cim.store import CityStore
from cim.writer import CityWriter

__all__ = [
    "GisError",
    "VectorOptions",
    "VectorReport",
    "building_height",
    "import_frame",
    "import_vector",
]

GEOPARQUET_SUFFIXES = (".parquet", ".geoparquet")
CLASSES = ("building", "road", "landuse", "water", "parcel", "district", "green", "zone")
ROAD_WIDTH = 6.0
MAX_STOREY_HEIGHT = 20.0
MAX_LISTED = 100
CHUNK = 25_000  # features built, extruded and inserted at a time
GIS_BUILDING = Material("gis-building", (0.80, 0.78, 0.74, 1.0))
_TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
               "MultiPolygon", "GeometryCollection")  # fmt: skip
ObjectArray = npt.NDArray[np.object_]


class GisError(CimError):
    """A GIS file cannot be imported as asked."""


@dataclass(frozen=True)
class VectorOptions:
    """How to read one layer and what its features are."""

    layer: str | None = None
    cls: str = "building"
    where: str | None = None
    id_field: str | None = None
    height_field: str | None = None
    levels_field: str | None = None
    storey_height: float = 3.0
    default_height: float = 10.0
    crs: str | None = None


@dataclass
class VectorReport:
    """What a vector import did.

    ``fallbacks`` counts the features whose id, height or levels value was empty,
    unreadable or out of bounds (``"height: empty"``, ``"levels: out of bounds"``...), which
    then fell through to the next rule; ``out_of_bounds`` lists the first of the refused
    values. ``warnings`` says when the layer lands outside the city CRS's area of use.
    """

    source: str
    layer: str
    cls: str
    features_read: int = 0
    imported: int = 0
    repaired: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    heights: dict[str, int] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    out_of_bounds: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replaced_objects: int = 0
    conflated: int = 0
    grounded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def import_vector(store: CityStore, path: Path, options: VectorOptions) -> VectorReport:
    """Import one layer of ``path`` into ``store`` in one transaction; re-import replaces it."""
    started = time.perf_counter()
    _check_options(options)
    frame, layer = read_layer(path, options)
    return import_frame(store, frame, layer, path, options, started)


def import_frame(
    store: CityStore,
    frame: gpd.GeoDataFrame,
    layer: str,
    path: Path,
    options: VectorOptions,
    started: float | None = None,
) -> VectorReport:
    """Import a layer already read from ``path`` (by :func:`read_layer`, then prepared by a
    caller such as the zones import) into ``store`` in one transaction."""
    started = time.perf_counter() if started is None else started
    _check_options(options)
    report = VectorReport(f"{path.name}#{layer}", layer, options.cls, features_read=len(frame))
    building = options.cls == "building"
    tags = osm_tags(frame)
    chosen = {"--id-field": options.id_field, "--height-field": options.height_field,
              "--levels-field": options.levels_field}  # fmt: skip
    problem = missing_field(frame, tags, chosen)
    if problem:
        raise GisError(f"{path.name} layer {layer}: {problem}")
    warning = _landing_warning(frame, store.crs, f"layer {layer} of {path.name}")
    if warning is not None:
        report.warnings.append(f"{warning}: check the city CRS, or the layer's CRS (--crs)")
    frame = frame.to_crs(store.crs)
    ids = source_ids(frame, options.id_field, layer, tags, report)
    footprints, reasons, report.repaired = polygonal(frame.geometry.to_numpy(), options.cls)
    kept = np.flatnonzero(~shapely.is_missing(footprints))
    report.skipped = [{"id": ids[i], "reason": reasons[i]} for i in np.flatnonzero(reasons)]
    if len(kept) == 0:
        why = "; ".join(sorted({item["reason"] for item in report.skipped}))
        raise GisError(f"{path.name} layer {layer}: no feature could be imported ({why})")
    blocks = None
    if building:
        blocks = _blocks(store, frame, tags, kept, footprints[kept], ids, options, report)
    with store.transaction() as writer:
        if any(item["source"] == report.source for item in store.sources(scope=Scope.everything())):
            report.replaced_objects = writer.remove_source(report.source)
        for first in range(0, len(kept), CHUNK):  # bounded memory, whatever the layer's size
            rows = slice(first, first + CHUNK)
            _write_chunk(writer, frame, tags, kept[rows], ids, footprints, blocks, rows, report)
        if building and store.count_objects(cls=BIM_BUILDING_CLASS, scope=Scope.everything()):
            report.conflated = sum(len(v) for v in conflate(store).links.values())
        report.seconds = round(time.perf_counter() - started, 3)
        writer.record_source(report.source, str(path), "", "gis", report.to_dict())
    return report


def _write_chunk(
    writer: CityWriter,
    frame: gpd.GeoDataFrame,
    tags: Tags | None,
    rows: npt.NDArray[np.intp],
    ids: list[str],
    footprints: ObjectArray,
    blocks: _Blocks | None,
    block_rows: slice,
    report: VectorReport,
) -> None:
    """Build, extrude and insert the features at ``rows`` of ``frame`` (``block_rows`` of
    ``blocks``)."""
    chunk_ids = [ids[i] for i in rows.tolist()]
    objects = [
        CityObject(id=object_id, cls=report.cls, name=str(attrs.get("name") or ""),
                   source=report.source, attributes=attrs, footprint=footprint)
        for object_id, attrs, footprint in zip(
            chunk_ids, attribute_dicts(frame, rows, tags), footprints[rows], strict=True)
    ]  # fmt: skip
    if blocks is not None:
        blocks.apply(objects, block_rows)
    writer.add_objects(objects)
    if blocks is not None:
        writer.add_packed_meshes(extrude_footprints(
            chunk_ids, footprints[rows], blocks.bases[block_rows], blocks.tops[block_rows],
            GIS_BUILDING))  # fmt: skip
    report.imported += len(objects)


def _check_options(options: VectorOptions) -> None:
    """Refuse a class, storey height or default height that no import could use."""
    if options.cls not in CLASSES:
        raise GisError(f"--class {options.cls!r}: expected one of {', '.join(CLASSES)}")
    if not 0 < options.storey_height <= MAX_STOREY_HEIGHT:
        raise GisError(
            f"--storey-height {options.storey_height}: expected more than 0 and at most"
            f" {MAX_STOREY_HEIGHT:g} m"
        )
    if not 0 < options.default_height <= MAX_HEIGHT:
        raise GisError(
            f"--default-height {options.default_height}: expected more than 0 and at most"
            f" {MAX_HEIGHT:g} m"
        )


@dataclass(frozen=True)
class _Blocks:
    """Base, top, height source and roof height of each imported building, in arrays."""

    bases: FloatArray
    tops: FloatArray
    sources: npt.NDArray[np.str_]
    roofs: FloatArray

    def apply(self, objects: list[CityObject], rows: slice) -> None:
        """Set heights and height attributes on the objects of ``rows``."""
        columns = (self.bases, self.tops, self.sources, self.roofs)
        values = zip(*(column[rows].tolist() for column in columns), strict=True)
        for obj, (base, top, source, roof) in zip(objects, values, strict=True):
            obj.base_height, obj.top_height = base, top
            obj.attributes["height_source"] = source
            if math.isfinite(roof):
                obj.attributes["roof_height"] = roof


def _blocks(
    store: CityStore,
    frame: gpd.GeoDataFrame,
    tags: Tags | None,
    kept: npt.NDArray[np.intp],
    footprints: ObjectArray,
    ids: list[str],
    options: VectorOptions,
    report: VectorReport,
) -> _Blocks:
    """Each building's height by the rules, its base on the DEM (if any); counted in ``report``.

    ``kept`` are the rows of ``frame`` imported, ``footprints`` their footprints.
    """
    height = field_values(frame, tags, options.height_field, HEIGHT_FIELDS, kept, MAX_HEIGHT)
    levels = field_values(frame, tags, options.levels_field, LEVEL_FIELDS, kept, MAX_LEVELS)
    roof = field_values(frame, tags, None, ROOF_HEIGHT_FIELDS, kept, MAX_HEIGHT)
    heights, sources = resolve_heights(
        height.numbers, levels.numbers, options.storey_height, options.default_height
    )
    names, counts = np.unique(sources, return_counts=True)
    report.heights = {str(n): int(c) for n, c in zip(names, counts, strict=True)}
    kept_ids = [ids[i] for i in kept.tolist()]
    _count_fallbacks(report, "height", height, sources != "height", kept_ids)
    _count_fallbacks(report, "levels", levels, sources == "default", kept_ids)
    bases = footprint_bases(store.city_dir, store.crs, footprints)
    report.grounded = int((np.isfinite(bases) & (np.abs(bases) >= 1e-6)).sum())
    bases = np.where(np.isfinite(bases), bases, 0.0)
    return _Blocks(bases, bases + heights, sources, roof.numbers)


def _count_fallbacks(
    report: VectorReport,
    name: str,
    values: FieldValues,
    fell: npt.NDArray[np.bool_],
    ids: list[str],
) -> None:
    """Count the features whose ``name`` value fell through, by why; list refused values."""
    whys = {"empty": ~values.present, "unreadable": values.unreadable,
            "out of bounds": values.out_of_bounds}  # fmt: skip
    for why, mask in whys.items():
        count = int((mask & fell).sum())
        if count:
            report.fallbacks[f"{name}: {why}"] = count
    for index in np.flatnonzero(values.out_of_bounds)[: MAX_LISTED - len(report.out_of_bounds)]:
        value = values.raw[index]
        report.out_of_bounds.append({"id": ids[index], "field": name, "value": str(value)})


def read_layer(path: Path, options: VectorOptions) -> tuple[gpd.GeoDataFrame, str]:
    """Read one layer with its CRS; errors name the file and the problem."""
    if not path.is_file():
        raise GisError(f"{path}: no such file")
    if path.suffix.lower() in GEOPARQUET_SUFFIXES:
        return _read_geoparquet(path, options), path.stem.split(".")[0]
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise GisError(f"{path}: GDAL cannot read it as a vector file ({exc})") from exc
    layer = options.layer or _default_layer(layers, options.cls, path)
    if layer not in layers:
        raise GisError(f"{path}: no layer {layer!r} (layers: {', '.join(layers)})")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, where=options.where, use_arrow=True,
                                       fid_as_index=True, on_invalid="ignore")  # fmt: skip
    except Exception as exc:
        raise GisError(f"{path} layer {layer}: {exc}") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise GisError(f"{path} layer {layer}: no geometry column")
    if len(frame) == 0:
        raise GisError(f"{path} layer {layer}: the layer is empty")
    return _with_crs(frame, options, f"{path} layer {layer}"), layer


def _read_geoparquet(path: Path, options: VectorOptions) -> gpd.GeoDataFrame:
    """GeoParquet through pyarrow (the GDAL in pyogrio's wheels has no Parquet driver)."""
    if options.where is not None:
        raise GisError(f"{path}: --where is not supported for GeoParquet")
    try:
        frame = gpd.read_parquet(path)
    except Exception as exc:
        raise GisError(f"{path}: not a GeoParquet file ({exc})") from exc
    if len(frame) == 0:
        raise GisError(f"{path}: the layer is empty")
    return _with_crs(frame, options, str(path))


def _with_crs(frame: gpd.GeoDataFrame, options: VectorOptions, label: str) -> gpd.GeoDataFrame:
    """The frame in its own CRS, or in ``--crs`` when the file has none."""
    if frame.crs is not None:
        return frame
    if options.crs is None:
        raise GisError(f"{label}: no CRS in the file: give --crs")
    return frame.set_crs(parse_crs(options.crs))


def _default_layer(layers: list[str], cls: str, path: Path) -> str:
    if "multipolygons" in layers and path.suffix.lower() == ".pbf":
        return "multipolygons" if cls != "road" else "lines"
    if len(layers) == 1:
        return layers[0]
    raise GisError(f"{path} has several layers ({', '.join(layers)}): choose one with --layer")


def _landing_warning(frame: gpd.GeoDataFrame, city_crs: str, what: str) -> str | None:
    """Where the layer's features land when any falls outside the city CRS's area of use.

    Each feature is placed at the middle of its bounding box, which (unlike a centroid)
    stays inside the feature's extent even when the geometry is invalid.
    """
    bounds = shapely.bounds(frame.geometry.to_numpy())
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    if len(bounds) == 0:
        return None
    xy = (bounds[:, :2] + bounds[:, 2:]) / 2
    lon, lat = transform_arrays(crs_text(frame.crs), "EPSG:4326", xy[:, 0], xy[:, 1])
    return area_of_use_warning(city_crs, lon, lat, what)


def source_ids(
    frame: gpd.GeoDataFrame,
    id_field: str | None,
    layer: str,
    tags: Tags | None = None,
    report: VectorReport | None = None,
) -> list[str]:
    """Ids ``<layer>:<source id>`` that stay the same when the same data is imported again.

    With ``id_field``, a feature whose value is empty falls back to its OSM id, else its
    feature id (counted in ``report.fallbacks``); repeated ids are refused.
    """
    if {"osm_id", "osm_way_id"} <= set(frame.columns):
        ways, relations = frame["osm_way_id"].fillna(""), frame["osm_id"]
        keys = [f"way/{w}" if isinstance(w, str) and w else f"relation/{r}"
                for w, r in zip(ways, relations, strict=True)]  # fmt: skip
    else:
        keys = [str(i) for i in frame.index]
    if id_field is not None:
        chosen = field_values(frame, tags, id_field, (), np.arange(len(frame)))
        present = chosen.present & np.array([str(v).strip() != "" for v in chosen.raw])
        keys = [str(v) if ok else key
                for v, ok, key in zip(chosen.raw, present, keys, strict=True)]  # fmt: skip
        empty = int((~present).sum())
        if empty and report is not None:
            report.fallbacks["id: empty"] = empty
    repeated = pd.Index(keys)[pd.Index(keys).duplicated()]
    if len(repeated):
        named = f"--id-field {id_field!r}" if id_field is not None else "the feature ids"
        raise GisError(
            f"{named}: {len(repeated)} repeated values (e.g. {str(repeated[0])!r}); ids must"
            " be unique in a layer"
        )
    return [f"{layer}:{key}" for key in keys]


def polygonal(geometries: ObjectArray, cls: str) -> tuple[ObjectArray, list[str], int]:
    """Each geometry as a MultiPolygon (None when skipped), why each was skipped, repairs.

    Roads given as lines become surfaces ``ROAD_WIDTH`` wide; invalid polygons are repaired
    (their polygonal part kept); points, lines and non-finite coordinates are skipped.
    """
    count = len(geometries)
    geometries = np.array(geometries, dtype=object)
    reasons = [""] * count
    finite = np.isfinite(shapely.bounds(geometries)).all(axis=1)
    unreadable = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    for index in np.flatnonzero(unreadable | ~finite).tolist():
        reasons[index] = "no readable geometry" if unreadable[index] else (
            "coordinates that the city CRS cannot hold")  # fmt: skip
    geometries[unreadable | ~finite] = None
    kinds = shapely.get_type_id(geometries)
    if cls == "road":
        lines = np.isin(kinds, (1, 5))
        geometries[lines] = shapely.buffer(geometries[lines], ROAD_WIDTH / 2, cap_style="flat")
    broken = ~shapely.is_valid(geometries) & ~shapely.is_missing(geometries)
    geometries[broken] = shapely.make_valid(geometries[broken])
    kinds = shapely.get_type_id(geometries)
    parts, owner = shapely.get_parts(geometries, return_index=True)
    nested = np.isin(shapely.get_type_id(parts), (6, 7))
    if nested.any():
        inner, within = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        owner = np.concatenate([owner[~nested], owner[nested][within]])
        order = np.argsort(owner, kind="stable")
        parts, owner = parts[order], owner[order]
    polygons = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    result = np.full(count, None, dtype=object)
    if polygons.any():
        shapely.multipolygons(parts[polygons], indices=owner[polygons], out=result)
    for index in np.flatnonzero(shapely.is_missing(result) & ~shapely.is_missing(geometries)):
        reasons[index] = f"a {_TYPE_NAMES[kinds[index]]}, not a polygon"
    return result, reasons, int(broken.sum())


def building_height(attributes: dict[str, Any], options: VectorOptions) -> tuple[float, str]:
    """The height of one building and where it came from: height, levels or the default.

    The same rules as an import: a value that is empty, unreadable, not positive, not
    finite or beyond :data:`cim.gisfields.MAX_HEIGHT` (levels: ``MAX_LEVELS``) falls
    through to the next rule.
    """
    frame = pd.DataFrame([{k: v for k, v in attributes.items() if k != "osm_tags"}])
    tags = [dict(attributes.get("osm_tags", {}))]
    everything = np.arange(1)
    height = field_values(frame, tags, options.height_field, HEIGHT_FIELDS, everything, MAX_HEIGHT)
    levels = field_values(frame, tags, options.levels_field, LEVEL_FIELDS, everything, MAX_LEVELS)
    heights, sources = resolve_heights(
        height.numbers, levels.numbers, options.storey_height, options.default_height
    )
    return float(heights[0]), str(sources[0])
