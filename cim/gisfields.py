"""The fields of a GIS layer, read for every feature at once: ids, heights, levels, tags.

A value is looked up in a column, else in the OSM tags of the feature (GDAL's
``other_tags``), trying each candidate name in turn. Numbers are read with their unit
(``12 m``, ``40 ft``) and kept only within sane bounds: a height of more than 0 and at most
:data:`MAX_HEIGHT` metres, more than 0 and at most :data:`MAX_LEVELS` storeys. What is
empty, unreadable or out of bounds falls through to the next rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from cim.model import FloatArray

HEIGHT_FIELDS = ("height", "building:height")
ROOF_HEIGHT_FIELDS = ("roof_height", "roof:height")
LEVEL_FIELDS = ("building_levels", "building:levels", "levels", "floors")
MAX_HEIGHT = 1000.0  # metres: above the tallest building standing (828 m)
MAX_LEVELS = 300.0  # storeys: above the most any building has (163)
_OSM_TAG = re.compile(r'"([^"]+)"=>"([^"]*)"')
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(m|metre|meter|metres|meters|ft|')?\s*$", re.I)
Tags = list[dict[str, str]]
Rows = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FieldValues:
    """One field's value for each feature, as found and as a usable number.

    Attributes
    ----------
    raw:
        The value found (column or tag), None where the feature has none.
    present:
        Where a value was found.
    unreadable:
        Where the value is not a number (``"tall"``).
    out_of_bounds:
        Where the number is not positive, not finite, or beyond the field's maximum.
    numbers:
        The usable numbers, NaN everywhere else.
    """

    raw: npt.NDArray[np.object_]
    present: BoolArray
    unreadable: BoolArray
    out_of_bounds: BoolArray
    numbers: FloatArray


def osm_tags(frame: gpd.GeoDataFrame) -> Tags | None:
    """The OSM tags of every feature (GDAL's ``other_tags``), or None for other layers."""
    if "other_tags" not in frame.columns:
        return None
    return [dict(_OSM_TAG.findall(value)) if isinstance(value, str) else {}
            for value in frame["other_tags"].tolist()]  # fmt: skip


def missing_field(frame: gpd.GeoDataFrame, tags: Tags | None, chosen: dict[str, str | None]) -> str:
    """A message naming the first chosen field (``{"--levels-field": name}``) the layer lacks.

    A field is there when it is a column, or an OSM tag of at least one feature. The
    message lists the columns; it is empty when every chosen field is there.
    """
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    for option, name in chosen.items():
        if name is None or name in frame.columns:
            continue
        if tags is not None and any(name in feature for feature in tags):
            continue
        also = "; nor is it an OSM tag of any feature" if tags is not None else ""
        return f"{option} {name!r}: no such column (columns: {', '.join(columns)}){also}"
    return ""


def field_values(
    frame: pd.DataFrame,
    tags: Tags | None,
    chosen: str | None,
    candidates: Sequence[str],
    rows: Rows,
    maximum: float = math.inf,
) -> FieldValues:
    """The value of ``chosen`` (else the first of ``candidates`` a feature has) at ``rows``."""
    names = (chosen,) if chosen is not None else tuple(candidates)
    count = len(rows)
    raw = np.full(count, None, dtype=object)
    parsed = np.full(count, np.nan)
    present = np.zeros(count, dtype=bool)
    for name in names:
        if name in frame.columns:
            column = frame[name]
            values = column.to_numpy(dtype=object)[rows]
            here = ~present & ~pd.isna(values)
            raw[here] = values[here]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                parsed[here] = column.to_numpy(dtype=np.float64, na_value=np.nan)[rows][here]
            else:
                parsed[here] = [_number(v) for v in values[here]]
            present |= here
        if tags is not None and not present.all():
            for index in np.flatnonzero(~present).tolist():
                value = tags[rows[index]].get(name)
                if value is not None:
                    raw[index], parsed[index], present[index] = value, _number(value), True
    unreadable = present & np.isnan(parsed)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(parsed) & (parsed > 0) & (parsed <= maximum)
    out_of_bounds = present & ~unreadable & ~usable
    numbers = np.where(usable, parsed, np.nan)
    return FieldValues(raw, present, unreadable, out_of_bounds, numbers)


def resolve_heights(
    heights: FloatArray, levels: FloatArray, storey_height: float, default_height: float
) -> tuple[FloatArray, npt.NDArray[np.str_]]:
    """Each building's height and its source: ``height``, else ``levels``, else ``default``.

    ``heights`` and ``levels`` hold usable numbers or NaN (see :func:`field_values`).
    """
    has_height, has_levels = np.isfinite(heights), np.isfinite(levels)
    result = np.where(has_height, heights,
                      np.where(has_levels, levels * storey_height, default_height))  # fmt: skip
    sources = np.where(has_height, "height", np.where(has_levels, "levels", "default"))
    return result.astype(np.float64), sources


def attribute_dicts(frame: gpd.GeoDataFrame, rows: Rows, tags: Tags | None) -> list[dict[str, Any]]:
    """The non-empty attributes of the features at ``rows``, OSM tags as ``osm_tags``."""
    columns = [c for c in frame.columns if c not in (frame.geometry.name, "other_tags")]
    table = frame[columns].iloc[rows]
    empty = table.isna().to_numpy()
    values = [table[c].tolist() for c in columns]
    names = [str(c) for c in columns]
    other = frame["other_tags"].notna().to_numpy()[rows] if tags is not None else None
    result = []
    for position, row in enumerate(rows.tolist()):
        blank = empty[position]
        attributes = {names[j]: values[j][position] for j in range(len(names)) if not blank[j]}
        if tags is not None and other is not None and other[position]:
            attributes["osm_tags"] = tags[row]
        result.append(attributes)
    return result


def _number(value: Any) -> float:
    """The number in a value (metres for heights given in feet); NaN when there is none."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float | np.number):
        return float(value)
    match = _NUMBER.match(str(value))
    if match is None:
        return math.nan
    number = float(match.group(1))
    return number * 0.3048 if (match.group(2) or "").lower() in ("ft", "'") else number
