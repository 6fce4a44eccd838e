"""Writing a stored run's layers out: GeoJSON (CRS84), CSV (WKT in the city CRS last),
GeoPackage and GeoTIFF; what ``cimtwin simulate export`` and the HTTP routes answer."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from cim.crs import transform_arrays
from cim.errors import RunNotFoundError
from cim.result_files import write_vector
from cim.result_store import ResultStore
from cim.results import ObjectValues, VectorLayer
from cim.scope import Scope

FORMATS = (".csv", ".geojson", ".gpkg", ".tif")


def vector_geojson(layer: VectorLayer) -> dict[str, Any]:
    """``layer`` as a GeoJSON FeatureCollection in CRS84."""

    def lonlat(coords: np.ndarray) -> np.ndarray:
        xs, ys = transform_arrays(layer.crs, "EPSG:4326", coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    features = []
    for feature in layer.features:
        geometry = feature.geometry
        if layer.crs and geometry is not None:
            geometry = shapely.transform(geometry, lonlat)
        features.append({
            "type": "Feature",
            "geometry": None if geometry is None else shapely.geometry.mapping(geometry),
            "properties": feature.properties,
        })  # fmt: skip
    return {"type": "FeatureCollection", "name": layer.name, "title": layer.title,
            "features": features}  # fmt: skip


def vector_csv(layer: VectorLayer) -> str:
    """``layer`` as CSV text: the properties' columns in first-seen order, ``wkt`` last."""
    columns: list[str] = []
    for feature in layer.features:
        columns.extend(key for key in feature.properties if key not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, "wkt"])
    for feature in layer.features:
        row = [_cell(feature.properties.get(column)) for column in columns]
        writer.writerow([*row, "" if feature.geometry is None else feature.geometry.wkt])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def values_csv(values: ObjectValues) -> str:
    """Per-object values as CSV text: ``object_id`` and ``value`` (unit in the header)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["object_id", f"value ({values.unit})" if values.unit else "value"])
    for object_id, value in values.values.items():
        writer.writerow([object_id, _cell(value)])
    return out.getvalue()


def export_layer(city_dir: Path, run_id: str, layer: str, output: Path) -> str:
    """Write layer ``layer`` of run ``run_id`` to ``output``, in the format its suffix names
    (.tif: a raster; .geojson, .gpkg: a vector layer; .csv: a vector layer, or else the
    per-object values of that name). Returns what was written, in words.

    Raises
    ------
    RunNotFoundError
        When the run has no layer of that name for that format.
    """
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise RunNotFoundError(f"{output.name}: export to {', '.join(FORMATS)}")
    results = ResultStore(city_dir)
    everything = Scope.everything()
    record = results.run(run_id, everything)
    if suffix == ".tif":
        shutil.copyfile(results.raster_path(run_id, layer, everything), output)
        return f"raster {layer} (GeoTIFF, city CRS)"
    if suffix == ".csv" and layer not in {v.name for v in record.vectors}:
        output.write_text(values_csv(results.values(run_id, layer, everything)), encoding="utf-8")
        return f"values {layer} (CSV)"
    vector = results.vector(run_id, layer, everything)
    if suffix == ".csv":
        output.write_text(vector_csv(vector), encoding="utf-8")
    elif suffix == ".geojson":
        output.write_text(json.dumps(vector_geojson(vector), ensure_ascii=False), encoding="utf-8")
    else:
        output.unlink(missing_ok=True)
        write_vector(output, vector)
    return f"vector layer {layer} ({len(vector.features)} features, {suffix[1:]})"
