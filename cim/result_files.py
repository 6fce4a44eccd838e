"""The files of one stored simulation run: GeoTIFF rasters, one GeoPackage of vectors, JSON.

Rasters are float32 GeoTIFFs (deflate) with NaN as nodata in the layer's CRS; every vector
layer is one layer of ``vectors.gpkg`` (QGIS opens it). Properties that are not scalars
(lists, dicts) are stored as JSON text and their field names kept, so they read back as
they were written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from rasterio.transform import Affine

from cim.errors import InvalidResultError
from cim.results import Feature, RasterLayer, VectorLayer

VECTORS_FILE = "vectors.gpkg"


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python values and non-finite floats as
    None, so that it is strict JSON."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, content: Any) -> None:
    """``content`` as strict, readable UTF-8 JSON."""
    text = json.dumps(jsonable(content), ensure_ascii=False, indent=1, allow_nan=False)
    path.write_text(text, encoding="utf-8")


def read_json(path: Path) -> Any:
    """The JSON content of ``path``."""
    return json.loads(path.read_text(encoding="utf-8"))


def write_raster(path: Path, layer: RasterLayer) -> None:
    """``layer`` as a float32 GeoTIFF with NaN nodata."""
    array = np.asarray(layer.array, dtype=np.float32)
    if array.ndim != 2 or 0 in array.shape:
        raise InvalidResultError(f"raster {layer.name!r} is not a 2-D grid: {array.shape}")
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": "float32",
        "nodata": float("nan"),
        "crs": layer.crs,
        "transform": Affine.from_gdal(*layer.transform),
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as out:
        out.write(array, 1)


def read_raster(path: Path, name: str, title: str, unit: str) -> RasterLayer:
    """A stored raster back as a :class:`RasterLayer`."""
    with rasterio.open(path) as source:
        array = source.read(1).astype(np.float32)
        transform = source.transform.to_gdal()
        crs = source.crs.to_string() if source.crs else ""
    return RasterLayer(name, title, unit, array, transform, crs)


def write_vector(path: Path, layer: VectorLayer) -> list[str]:
    """``layer`` as a layer of the GeoPackage ``path``; returns the JSON-encoded fields."""
    encoded: set[str] = set()
    rows = []
    for feature in layer.features:
        row = {}
        for key, value in feature.properties.items():
            if isinstance(value, dict | list | tuple):
                encoded.add(key)
                row[key] = json.dumps(jsonable(value), ensure_ascii=False)
            else:
                row[key] = jsonable(value)
        rows.append(row)
    geometries = [feature.geometry for feature in layer.features]
    frame = gpd.GeoDataFrame(rows, geometry=geometries, crs=layer.crs or None)
    if frame.empty:
        frame = gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs=layer.crs or None)})
    kinds = {geometry.geom_type for geometry in geometries}
    geometry_type = kinds.pop() if len(kinds) == 1 else "Unknown"
    pyogrio.write_dataframe(
        frame,
        path,
        layer=layer.name,
        driver="GPKG",
        append=path.exists(),
        geometry_type=geometry_type,
        promote_to_multi=False,
    )
    return sorted(encoded)


def read_vector(path: Path, name: str, title: str, json_fields: list[str]) -> VectorLayer:
    """A stored vector layer back as a :class:`VectorLayer`."""
    frame = pyogrio.read_dataframe(path, layer=name)
    crs = frame.crs.to_string() if frame.crs is not None else ""
    columns = [column for column in frame.columns if column != "geometry"]
    features = []
    for geometry, *values in frame[["geometry", *columns]].itertuples(index=False, name=None):
        properties = {}
        for column, value in zip(columns, values, strict=True):
            plain = jsonable(value)
            if column in json_fields and isinstance(plain, str):
                plain = json.loads(plain)
            properties[column] = plain
        features.append(Feature(geometry, properties))
    return VectorLayer(name, title, features, crs)
