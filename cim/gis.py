"""GIS vector layers into the city model: reprojected, repaired, with stable ids.

Reads GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet and OSM PBF through GDAL
(pyogrio). Buildings get an LOD1 block from their height, else their number of levels
times the storey height, else a stated default; the report counts each case.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import MultiPolygon, Polygon

from cim.conflate import conflate
from cim.crs import parse_crs
from cim.errors import CimError
from cim.extrude import block
from cim.model import CityObject, Material
from cim.raster import ground_buildings
from cim.store import CityStore

GEOPARQUET_SUFFIXES = (".parquet", ".geoparquet")
CLASSES = ("building", "road", "landuse", "water", "parcel", "district", "green")
HEIGHT_FIELDS = ("height", "building:height")
ROOF_HEIGHT_FIELDS = ("roof_height", "roof:height")
LEVEL_FIELDS = ("building_levels", "building:levels", "levels", "floors")
ROAD_WIDTH = 6.0
GIS_BUILDING = Material("gis-building", (0.80, 0.78, 0.74, 1.0))
_OSM_TAG = re.compile(r'"([^"]+)"=>"([^"]*)"')
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(m|metre|meter|metres|meters|ft|')?\s*$", re.I)


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
    """What a vector import did."""

    source: str
    layer: str
    cls: str
    features_read: int = 0
    imported: int = 0
    repaired: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    heights: dict[str, int] = field(default_factory=dict)
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
    if options.cls not in CLASSES:
        raise GisError(f"--class {options.cls!r}: expected one of {', '.join(CLASSES)}")
    frame, layer = read_layer(path, options)
    report = VectorReport(f"{path.name}#{layer}", layer, options.cls, features_read=len(frame))
    frame = frame.to_crs(store.crs)
    ids = source_ids(frame, options.id_field, layer)
    with store.transaction() as _:
        writer = store.writer()
        report.replaced_objects = writer.remove_source(report.source)
        for (_, row), object_id in zip(frame.iterrows(), ids, strict=True):
            geometry, problem = _polygonal(row.geometry, options.cls, report)
            if geometry is None:
                report.skipped.append({"id": object_id, "reason": problem})
                continue
            attributes = _attributes(row, frame.geometry.name)
            cityobject = CityObject(
                id=object_id, cls=options.cls, name=str(attributes.get("name") or ""),
                source=report.source, attributes=attributes, footprint=geometry,
            )  # fmt: skip
            if options.cls == "building":
                height, how = building_height(attributes, options)
                report.heights[how] = report.heights.get(how, 0) + 1
                cityobject.base_height, cityobject.top_height = 0.0, height
                cityobject.attributes["height_source"] = how
                roof = _number(_field(attributes, None, ROOF_HEIGHT_FIELDS))
                if roof is not None:
                    cityobject.attributes["roof_height"] = roof
                part = block(geometry, 0.0, height, GIS_BUILDING)
                if part is not None:
                    writer.add_mesh(object_id, [part])
            writer.add_object(cityobject)
            report.imported += 1
        if report.imported == 0:
            reasons = sorted({item["reason"] for item in report.skipped})
            raise GisError(
                f"{path.name} layer {layer}: no feature could be imported ({'; '.join(reasons)})"
            )
        if options.cls == "building":
            report.conflated = sum(len(v) for v in conflate(store).links.values())
            report.grounded = ground_buildings(store)
        report.seconds = round(time.perf_counter() - started, 3)
        writer.record_source(report.source, str(path), "", "gis", report.to_dict())
    return report


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
        frame = pyogrio.read_dataframe(path, layer=layer, where=options.where,
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


def source_ids(frame: gpd.GeoDataFrame, id_field: str | None, layer: str) -> list[str]:
    """Ids ``<layer>:<source id>`` that stay the same when the same data is imported again."""
    if id_field is not None:
        if id_field not in frame.columns:
            raise GisError(f"--id-field {id_field!r}: no such column")
        values = frame[id_field]
        if values.isna().any() or values.duplicated().any():
            raise GisError(f"--id-field {id_field!r} has empty or repeated values")
        keys = [str(v) for v in values]
    elif {"osm_id", "osm_way_id"} <= set(frame.columns):
        ways, relations = frame["osm_way_id"].fillna(""), frame["osm_id"]
        keys = [f"way/{w}" if isinstance(w, str) and w else f"relation/{r}"
                for w, r in zip(ways, relations, strict=True)]  # fmt: skip
    else:
        keys = [str(i) for i in frame.index]
    return [f"{layer}:{key}" for key in keys]


def building_height(attributes: dict[str, Any], options: VectorOptions) -> tuple[float, str]:
    """The height of a building and where it came from: height, levels or the default."""
    height = _number(_field(attributes, options.height_field, HEIGHT_FIELDS))
    if height is not None and height > 0:
        return height, "height"
    levels = _number(_field(attributes, options.levels_field, LEVEL_FIELDS))
    if levels is not None and levels > 0:
        return levels * options.storey_height, "levels"
    return options.default_height, "default"


def _field(attributes: dict[str, Any], chosen: str | None, candidates: tuple[str, ...]) -> Any:
    if chosen is not None:
        if chosen not in attributes:
            raise GisError(f"no column {chosen!r} in the layer")
        return attributes[chosen]
    tags = attributes.get("osm_tags", {})
    for name in candidates:
        value = attributes.get(name, tags.get(name))
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float | np.number):
        number = float(value)
        return number if math.isfinite(number) else None
    match = _NUMBER.match(str(value))
    if match is None:
        return None
    number = float(match.group(1))
    return number * 0.3048 if (match.group(2) or "").lower() in ("ft", "'") else number


def _polygonal(
    geometry: shapely.Geometry | None, cls: str, report: VectorReport
) -> tuple[shapely.Geometry | None, str]:
    if not isinstance(geometry, shapely.Geometry) or geometry.is_empty:
        return None, "no readable geometry"
    if cls == "road" and geometry.geom_type in ("LineString", "MultiLineString"):
        return geometry.buffer(ROAD_WIDTH / 2, cap_style="flat"), ""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
        report.repaired += 1
    polygons = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon)]
    polygons += [p for g in getattr(geometry, "geoms", []) if isinstance(g, MultiPolygon)
                 for p in g.geoms]  # fmt: skip
    if not polygons:
        return None, f"a {geometry.geom_type}, not a polygon"
    return MultiPolygon(polygons), ""


def _attributes(row: pd.Series, geometry_column: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for key, value in row.items():
        if (
            key == geometry_column
            or value is None
            or (isinstance(value, float) and math.isnan(value))
        ):
            continue
        if key == "other_tags" and isinstance(value, str):
            attributes["osm_tags"] = dict(_OSM_TAG.findall(value))
            continue
        attributes[str(key)] = value.item() if isinstance(value, np.generic) else value
    return attributes
