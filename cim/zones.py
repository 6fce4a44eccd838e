"""Planning zones (控规单元) into the city model: the ``zone`` class with standard indicators.

A zoning layer names its limits in many ways (``控高``, ``容积率``, ``max_far``...). The
import maps the source's columns to the standard indicator names (:data:`INDICATORS`),
checks every value (a FAR above 0, coverage and green ratio as fractions or percentages,
heights and setbacks in 0..1000 m) and refuses the layer, naming the feature and field,
before anything is stored. The features then go through the GIS import
(:func:`cim.gis.import_frame`) as objects of class ``zone`` keeping their source columns
and the standard ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from cim.gis import GisError, VectorOptions, VectorReport, import_frame, read_layer
from cim.store import CityStore

ZONE_CLASS = "zone"

#: Standard indicator -> the column names recognised by default (compared ignoring case).
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "zone_code": ("zone_code", "code", "zone", "单元编号", "地块编码", "地块编号", "编号"),
    "max_height_m": ("max_height_m", "max_height", "height_limit", "控高", "建筑控高", "限高",
                     "建筑限高"),
    "max_far": ("max_far", "far", "容积率", "容积率上限"),
    "max_coverage": ("max_coverage", "coverage", "建筑密度", "建筑密度上限"),
    "min_green_ratio": ("min_green_ratio", "green_ratio", "绿地率", "绿地率下限"),
    "setback_m": ("setback_m", "setback", "退线", "建筑退线", "退线距离"),
    "land_use": ("land_use", "landuse", "用地性质", "用地类型"),
}  # fmt: skip
#: The numeric indicators.
INDICATORS = ("max_height_m", "max_far", "max_coverage", "min_green_ratio", "setback_m")
RATIOS = ("max_coverage", "min_green_ratio")
MAX_LENGTH = 1000.0
MAX_FAR = 100.0
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")


class ZoneValueError(GisError):
    """A zone's indicator value is unreadable or out of bounds."""


@dataclass(frozen=True)
class ZoneIndicators:
    """The limits of one zone; None where the zone sets none."""

    zone_code: str | None = None
    max_height_m: float | None = None
    max_far: float | None = None
    max_coverage: float | None = None  # fraction 0..1
    min_green_ratio: float | None = None  # fraction 0..1
    setback_m: float | None = None
    land_use: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


@dataclass
class ZonesReport:
    """What a zones import did: the GIS report, which column gave each indicator, counts."""

    vector: VectorReport
    columns: dict[str, str | None] = field(default_factory=dict)
    percent_columns: list[str] = field(default_factory=list)
    set_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"vector": self.vector.to_dict(), "columns": self.columns,
                "percent_columns": self.percent_columns, "set_counts": self.set_counts}  # fmt: skip


def import_zones(
    store: CityStore,
    path: Path,
    fields: Mapping[str, str | None] | None = None,
    *,
    layer: str | None = None,
    crs: str | None = None,
    id_field: str | None = None,
) -> ZonesReport:
    """Import a zoning layer as ``zone`` objects; nothing is stored when a value is bad.

    ``fields`` maps a standard indicator name to the source column holding it (None or
    missing: recognised by default names, see :data:`DEFAULT_FIELDS`).
    """
    options = VectorOptions(layer=layer, cls=ZONE_CLASS, id_field=id_field, crs=crs)
    frame, layer_name = read_layer(path, options)
    label = f"{path.name} layer {layer_name}"
    columns = _columns(frame, fields or {}, label)
    ids = _feature_labels(frame, columns.get("zone_code"))
    percent: list[str] = []
    counts: dict[str, int] = {}
    for name, column in columns.items():
        if column is None:
            continue
        values, in_percent = indicator_column(name, frame[column].tolist(), ids, column, label)
        if in_percent:
            percent.append(name)
        frame[name] = values
        counts[name] = sum(value is not None for value in values)
    report = import_frame(store, frame, layer_name, path, options)
    return ZonesReport(report, columns, percent, counts)


def _columns(
    frame: gpd.GeoDataFrame, chosen: Mapping[str, str | None], label: str
) -> dict[str, str | None]:
    """The source column of each standard indicator (None: the layer has none)."""
    unknown = sorted(set(chosen) - set(DEFAULT_FIELDS))
    if unknown:
        raise GisError(f"no zone indicator {unknown[0]!r}: expected {', '.join(DEFAULT_FIELDS)}")
    present = [str(c) for c in frame.columns if c != frame.geometry.name]
    by_lower = {c.lower(): c for c in present}
    found: dict[str, str | None] = {}
    for name, defaults in DEFAULT_FIELDS.items():
        wanted = chosen.get(name)
        if wanted is not None:
            if wanted not in present:
                raise GisError(f"{label}: the {name} column {wanted!r} does not exist"
                               f" (columns: {', '.join(present)})")  # fmt: skip
            found[name] = wanted
            continue
        found[name] = next((by_lower[d.lower()] for d in defaults if d.lower() in by_lower), None)
    if not any(found[name] for name in INDICATORS):
        raise GisError(
            f"{label}: no column gives a zone limit (looked for {', '.join(INDICATORS)} and"
            f" their usual names, e.g. 控高, 容积率, 建筑密度, 绿地率, 退线; columns:"
            f" {', '.join(present)}): name them with the --...-field options"
        )
    return found


def _feature_labels(frame: gpd.GeoDataFrame, code_column: str | None) -> list[str]:
    """How an error names each feature: its feature id, and its zone code when known."""
    codes = frame[code_column].tolist() if code_column else [None] * len(frame)
    return [f"feature {index}" + (f" ({code})" if _blank(code) is False else "")
            for index, code in zip(frame.index, codes, strict=True)]  # fmt: skip


def indicator_column(
    name: str, values: list[Any], features: list[str], column: str, label: str
) -> tuple[list[Any], bool]:
    """The checked values of one indicator column and whether it was in percent.

    Ratios are fractions; a column holding a value above 1 (or any value written with
    ``%``) is read as percent and divided by 100.
    """
    if name in ("zone_code", "land_use"):
        return [None if _blank(v) else str(v).strip() for v in values], False
    numbers: list[float | None] = []
    percent_marks: list[bool] = []
    for value, feature in zip(values, features, strict=True):
        number, marked = _number(value)
        if number is not None and not math.isfinite(number):
            raise ZoneValueError(f"{label}, {feature}: {column} ({name}) = {value!r}: not a number")
        numbers.append(number)
        percent_marks.append(marked)
    in_percent = name in RATIOS and any(n is not None and n > 1 for n in numbers)
    checked: list[Any] = []
    for number, marked, value, feature in zip(numbers, percent_marks, values, features,
                                              strict=True):  # fmt: skip
        if number is not None and name in RATIOS and (in_percent or marked):
            number = number / 100
        problem = None if number is None else bound_problem(name, number)
        if problem is not None:
            raise ZoneValueError(f"{label}, {feature}: {column} ({name}) = {value!r}: {problem}")
        checked.append(number)
    return checked, in_percent


def bound_problem(name: str, number: float) -> str | None:
    """Why ``number`` cannot be the indicator ``name`` (None: it can)."""
    if name == "max_far" and not 0 < number <= MAX_FAR:
        return f"expected a floor area ratio above 0 and at most {MAX_FAR:g}"
    if name in RATIOS and not 0 <= number <= 1:
        return "expected a ratio in 0..1 or a percentage in 0..100"
    if name in ("max_height_m", "setback_m") and not 0 <= number <= MAX_LENGTH:
        return f"expected 0..{MAX_LENGTH:g} m"
    return None


def zone_indicators(attributes: Mapping[str, Any], label: str) -> ZoneIndicators:
    """The indicators of a stored zone, from the standard names (else the usual names).

    Raises :class:`ZoneValueError` naming ``label`` and the field for a bad value.
    """
    by_lower = {str(k).lower(): k for k in attributes}
    found: dict[str, Any] = {}
    for name, defaults in DEFAULT_FIELDS.items():
        key = next((by_lower[d.lower()] for d in defaults if d.lower() in by_lower), None)
        if key is None:
            continue
        (value,), _ = indicator_column(name, [attributes[key]], [label], str(key), "zone")
        found[name] = value
    return ZoneIndicators(**found)


def _number(value: Any) -> tuple[float | None, bool]:
    """A value as a number (None when empty, NaN when unreadable) and whether it had ``%``."""
    if _blank(value):
        return None, False
    if isinstance(value, bool):
        return math.nan, False
    if isinstance(value, int | float):
        return float(value), False
    text = str(value).strip()
    match = _PERCENT.match(text)
    if match:
        return float(match.group(1)), True
    try:
        return float(text), False
    except ValueError:
        return math.nan, False


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()
