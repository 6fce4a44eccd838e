"""The data the project ships (the ``data/`` folder): the demo district, code lists, jurisdictions.

In a source checkout the files are read from ``data/`` beside the packages; an installed
wheel carries them as data files under ``share/cimtwin/data`` of its installation prefix,
found through the distribution's file list.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from cim.errors import CimError

DISTRIBUTION = "cimtwin"
INSTALLED_PREFIX = "share/cimtwin/data/"
DISTRICT_FILE = "demo/district.json"
JURISDICTIONS_FILE = "demo/jurisdictions.geojson"
CLASSES_FILE = "codes/classes.json"
HEIGHT_BANDS_FILE = "codes/height_bands.json"
JURISDICTION_LEVELS = ("province", "city", "county", "town", "village")


class DataFileError(CimError):
    """A file of the shipped data is missing or malformed."""


def data_file(name: str) -> Path:
    """The path of shipped data file ``name`` (e.g. ``"demo/district.json"``).

    Raises
    ------
    DataFileError
        The file is neither in the source tree nor in the installed distribution.
    """
    checkout = Path(__file__).resolve().parents[1] / "data" / name
    if checkout.is_file():
        return checkout
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.as_posix().endswith(INSTALLED_PREFIX + name):
            located = Path(str(file.locate())).resolve()
            if located.is_file():
                return located
    raise DataFileError(f"data file {name!r} not found: the cimtwin installation is incomplete")


@cache
def read_json(name: str) -> Any:
    """The parsed content of shipped JSON (or GeoJSON) file ``name``."""
    path = data_file(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataFileError(f"cannot read data file {path}: {error}") from error


@dataclass(frozen=True)
class DemoBuilding:
    """One BIM building of the demo district (the parameters of its authored IFC file)."""

    name: str
    easting: float
    northing: float
    elevation: float
    rotation_deg: float
    width: float
    depth: float
    storeys: int
    storey_height: float
    use: str
    year_built: int
    facade_rgb: tuple[float, float, float]

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> DemoBuilding:
        """Read one entry of the district's ``buildings``."""
        red, green, blue = (float(c) for c in item["facade_rgb"])
        numbers = {k: float(item[k]) for k in ("easting", "northing", "elevation",
                   "rotation_deg", "width", "depth", "storey_height")}  # fmt: skip
        return cls(name=str(item["name"]), storeys=int(item["storeys"]), use=str(item["use"]),
                   year_built=int(item["year_built"]), facade_rgb=(red, green, blue),
                   **numbers)  # fmt: skip


@dataclass(frozen=True)
class GisLayer:
    """One generated GIS layer of the demo and the class its features import as."""

    layer: str
    cls: str


@dataclass(frozen=True)
class DemoDistrict:
    """The demo district: its CRS, BIM buildings, generated GIS layers and their layout."""

    name: str
    crs: str
    centre: tuple[float, float]
    half_size: float
    block: float
    street_width: float
    dem_resolution: float
    ortho_resolution: float
    ground_height: float
    gis_uses: tuple[str, ...]
    seed: int
    gis_layers: tuple[GisLayer, ...]
    buildings: tuple[DemoBuilding, ...]

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> DemoDistrict:
        """Read the district file's content."""
        layout = document["layout"]
        east, north = (float(v) for v in layout["centre"])
        return cls(
            name=str(document["name"]),
            crs=str(document["crs"]),
            centre=(east, north),
            half_size=float(layout["half_size"]),
            block=float(layout["block"]),
            street_width=float(layout["street_width"]),
            dem_resolution=float(layout["dem_resolution"]),
            ortho_resolution=float(layout["ortho_resolution"]),
            ground_height=float(layout["ground_height"]),
            gis_uses=tuple(str(u) for u in layout["gis_uses"]),
            seed=int(layout["seed"]),
            gis_layers=tuple(
                GisLayer(str(g["layer"]), str(g["class"])) for g in document["gis_layers"]
            ),
            buildings=tuple(DemoBuilding.from_dict(b) for b in document["buildings"]),
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min x, min y, max x, max y)`` of the generated layers, in the district's CRS."""
        east, north = self.centre
        return (east - self.half_size, north - self.half_size,
                east + self.half_size, north + self.half_size)  # fmt: skip


@cache
def demo_district() -> DemoDistrict:
    """The demo district defined in ``data/demo/district.json``."""
    try:
        return DemoDistrict.from_dict(read_json(DISTRICT_FILE))
    except (KeyError, TypeError, ValueError) as error:
        raise DataFileError(f"{DISTRICT_FILE}: malformed ({error!r})") from error


@dataclass(frozen=True)
class Jurisdiction:
    """One node of the jurisdiction tree: a 12-digit division code and its polygon (CRS84)."""

    code: str
    name: str
    name_en: str
    level: str
    parent: str | None
    area: shapely.Geometry


def demo_jurisdictions() -> list[Jurisdiction]:
    """The demo's jurisdictions (province > city > county > town > village), parents first."""
    try:
        features = read_json(JURISDICTIONS_FILE)["features"]
        nodes = [
            Jurisdiction(
                code=str(f["properties"]["code"]),
                name=str(f["properties"]["name"]),
                name_en=str(f["properties"]["name_en"]),
                level=str(f["properties"]["level"]),
                parent=f["properties"]["parent"],
                area=shape(f["geometry"]),
            )
            for f in features
        ]
        return sorted(nodes, key=lambda n: (JURISDICTION_LEVELS.index(n.level), n.code))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DataFileError(f"{JURISDICTIONS_FILE}: malformed ({error!r})") from error
