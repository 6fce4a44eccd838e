"""One vocabulary for the whole platform: building classes, class names, derived attributes.

The store, search, statistics and the tiler all say "building", "use", "year" and "levels"
through this module, so a tile's colour and ``/api/objects/values`` agree on the same
building. Class names and the GB 50352 height bands are read from the shipped code lists
(``data/codes``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from cim.data import CLASSES_FILE, HEIGHT_BANDS_FILE, DataFileError, read_json

#: The IFC entity of a building, and the classes of its spatial parts.
BIM_BUILDING_CLASS = "IfcBuilding"
STOREY_CLASS = "IfcBuildingStorey"
SITE_CLASS = "IfcSite"
#: A building from a GIS layer (``--class building``) or CityJSON (``Building``).
GIS_BUILDING_CLASSES = ("building", "Building")
BUILDING_CLASSES = (BIM_BUILDING_CLASS, *GIS_BUILDING_CLASSES)

# Where each derived attribute is read, first key found wins: GIS fields, OSM tags (OSM's
# ``building=*`` names the use), CityJSON attributes, IFC property sets, Chinese field names.
USE_KEYS = ("use", "Use", "usage", "function", "building:use", "OccupancyType", "用途", "building")
YEAR_KEYS = ("year", "YearBuilt", "YearOfConstruction", "yearOfConstruction", "year_built",
             "construction_year", "start_date", "建成年份")  # fmt: skip
LEVEL_KEYS = ("levels", "building_levels", "building:levels", "storeysAboveGround",
              "NumberOfStoreys", "层数")  # fmt: skip
#: The attribute that marks an object as a proposal (an import with ``--proposed``).
PLANNING_STATUS, PROPOSED = "planning_status", "proposed"
#: Values that say a building is one without saying what for (OSM ``building=yes``).
NO_USE = ("yes", "true", "false")
YEAR_RANGE = (1000, 2100)
MAX_LEVELS = 500
_YEAR = re.compile(r"(?<!\d)(1\d{3}|20\d{2})(?!\d)")


def is_building(cls: str) -> bool:
    """Whether objects of class ``cls`` are buildings (BIM or GIS)."""
    return cls in BUILDING_CLASSES


def flatten(attributes: dict[str, Any]) -> dict[str, Any]:
    """An object's attributes in one mapping: top-level fields over OSM tags over property sets."""
    psets, tags = attributes.get("psets"), attributes.get("osm_tags")
    if not psets and not tags:
        return attributes
    flat: dict[str, Any] = {}
    for group in (psets, tags):
        if isinstance(group, dict):
            for key, value in group.items():
                if isinstance(value, dict):
                    flat.update(value)
                else:
                    flat[key] = value
    flat.update(attributes)
    return flat


def use_of(attributes: dict[str, Any]) -> str | None:
    """The use of a building (``office``, ``residential``...), or None when nothing says it."""
    flat = flatten(attributes)
    for key in USE_KEYS:
        value = flat.get(key)
        if isinstance(value, str):
            text = value.strip()
            if text and text.casefold() not in NO_USE:
                return text
        elif (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ):
            return str(value)
    return None


def year_of(attributes: dict[str, Any]) -> int | None:
    """The year of construction: a number, or the first year in a text (``"1987-05"``)."""
    flat = flatten(attributes)
    low, high = YEAR_RANGE
    for key in YEAR_KEYS:
        value = flat.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value) and low <= value <= high:
            return int(value)
        if isinstance(value, str) and (match := _YEAR.search(value)):
            return int(match.group(1))
    return None


def levels_of(attributes: dict[str, Any]) -> int | None:
    """The number of storeys above ground, from a number or a numeric text."""
    flat = flatten(attributes)
    for key in LEVEL_KEYS:
        value = flat.get(key)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and 0 < value < MAX_LEVELS:
            return int(value)
    return None


@dataclass(frozen=True)
class ClassName:
    """A class of city object with its names: ``IfcWall``, 墙, Wall."""

    cls: str
    zh: str
    en: str
    kind: str


@cache
def class_names() -> dict[str, ClassName]:
    """``{class: ClassName}`` for the IFC and city classes of ``data/codes/classes.json``."""
    document = read_json(CLASSES_FILE)
    try:
        return {
            item["class"]: ClassName(item["class"], item["zh"], item["en"], item["kind"])
            for section in ("ifc", "city")
            for item in document[section]
        }
    except (KeyError, TypeError) as error:
        raise DataFileError(f"{CLASSES_FILE}: malformed ({error!r})") from error


@dataclass(frozen=True)
class HeightBand:
    """A height class of GB 50352: the highest building it holds, by use (None: no limit)."""

    code: str
    zh: str
    en: str
    max_residential: float | None
    max_public: float | None
    single_storey_public: bool


@cache
def height_bands() -> tuple[HeightBand, ...]:
    """The height classes of ``data/codes/height_bands.json``, lowest first."""
    document = read_json(HEIGHT_BANDS_FILE)
    try:
        return tuple(
            HeightBand(
                b["code"],
                b["zh"],
                b["en"],
                b["max_residential"],
                b["max_public"],
                bool(b["single_storey_public"]),
            )
            for b in document["bands"]
        )
    except (KeyError, TypeError) as error:
        raise DataFileError(f"{HEIGHT_BANDS_FILE}: malformed ({error!r})") from error


@cache
def _residential_uses() -> frozenset[str]:
    return frozenset(u.casefold() for u in read_json(HEIGHT_BANDS_FILE)["residential_uses"])


def is_residential(use: str | None) -> bool:
    """Whether a use (as :func:`use_of` gives it) is residential in the sense of GB 50352."""
    return use is not None and use.strip().casefold() in _residential_uses()


def height_band(height: float, use: str | None = None, levels: int | None = None) -> HeightBand:
    """The GB 50352 height class of a building ``height`` metres high.

    Residential buildings use the residential thresholds; any other or unknown use the
    public ones. A single-storey public building stays in a band that allows it up to the
    next band's limit (a 30 m single-storey hall is not a high-rise).
    """
    residential = is_residential(use)
    bands = height_bands()
    for index, band in enumerate(bands):
        limit = band.max_residential if residential else band.max_public
        if limit is None or height <= limit:
            return band
        if band.single_storey_public and not residential and levels == 1:
            following = bands[index + 1].max_public if index + 1 < len(bands) else None
            if following is None or height <= following:
                return band
    return bands[-1]
