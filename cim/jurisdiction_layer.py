"""Reading a jurisdiction layer from any GIS file GDAL reads, reprojected to the city CRS."""

from __future__ import annotations

from pathlib import Path

from cim.crs import parse_crs
from cim.gis import GisError, VectorOptions, read_layer
from cim.jurisdictions import JurisdictionError, RawFeature


def read_features(
    path: Path,
    city_crs: str,
    code_field: str,
    name_field: str,
    layer: str | None = None,
    crs: str | None = None,
) -> tuple[list[RawFeature], str]:
    """The features of one layer (code, name, boundary in ``city_crs``) and the layer's name.

    ``crs`` is the file's CRS when the file does not say. Errors name the file and, for a
    missing field, the fields the layer has.
    """
    try:
        frame, layer_name = read_layer(path, VectorOptions(layer=layer, cls="district", crs=crs))
    except GisError as exc:
        raise JurisdictionError(str(exc)) from exc
    fields = [str(column) for column in frame.columns if column != frame.geometry.name]
    for option, column in (("--code-field", code_field), ("--name-field", name_field)):
        if column not in frame.columns:
            raise JurisdictionError(
                f"{path.name} layer {layer_name}: no field {column!r} for {option}"
                f" (fields: {', '.join(fields) or 'none'})"
            )
    frame = frame.to_crs(parse_crs(city_crs))
    features = [
        RawFeature(code, name, geometry)
        for code, name, geometry in zip(
            frame[code_field].tolist(),
            frame[name_field].tolist(),
            frame.geometry.tolist(),
            strict=True,
        )
    ]
    return features, layer_name
