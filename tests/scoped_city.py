"""A small city whose objects carry jurisdiction codes: two towns of Tianhe and one place
outside every jurisdiction, for the tests of scoped reads (store and API).

Town A (440106001000) holds an IFC-like building (site, building, storey, wall with a mesh)
from source ``a.ifc`` and a GIS building; town B (440106002000) the same, and a roof (a
class no other place has), from ``b.ifc``
(imported twice: its objects have a history) and a GIS building; the GIS buildings of both
towns come from one layer, ``blocks.gpkg``. ``far.gpkg`` holds one building outside every
jurisdiction (code NULL). Every name holds "Hall", every object an address on "Pearl Road".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import Polygon

from cim.jurisdictions import Jurisdiction
from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from cim.writer import CityWriter
from tests.conftest import LOCAL_CRS, box_mesh

PROVINCE = "440000000000"  # Guangdong
COUNTY = "440106000000"  # Tianhe
TOWN_A = "440106001000"
TOWN_B = "440106002000"
OTHER_PROVINCE = "450000000000"
X0, Y0 = 432700.0, 2557900.0
# Where each group of objects stands: town B 1 km east of town A, "far" 5 km north.
PLACES = {"A": (X0, Y0), "B": (X0 + 1000.0, Y0), "far": (X0, Y0 + 5000.0)}


@dataclass(frozen=True)
class ScopedCity:
    """The folder of the city and which object ids and sources lie where."""

    folder: Path
    ids: dict[str, set[str]]  # "A", "B", "far" -> object ids
    sources: dict[str, set[str]]  # "A", "B", "far" -> sources with an object there

    def visible_ids(self, scope: Scope) -> set[str]:
        """The ids ``scope`` may see (from the codes given, not from the store)."""
        return {i for key, code in _CODES.items() if scope.contains(code) for i in self.ids[key]}

    def visible_sources(self, scope: Scope) -> set[str]:
        """The sources ``scope`` may see: those with an object it may see."""
        return {s for key, code in _CODES.items() if scope.contains(code)
                for s in self.sources[key]}  # fmt: skip


_CODES: dict[str, str | None] = {"A": TOWN_A, "B": TOWN_B, "far": None}


def build_scoped_city(folder: Path) -> ScopedCity:
    """Create the city in ``folder``; its objects get their codes through the store writer."""
    ids: dict[str, set[str]] = {"A": set(), "B": set(), "far": set()}
    with CityStore.create(folder, LOCAL_CRS, "Scoped district") as store:
        with store.transaction() as writer:
            ids["A"] |= _ifc_building(writer, "A", "a.ifc", height=12.0)
            ids["B"] |= _ifc_building(writer, "B", "b.ifc", height=20.0)
            writer.record_source("a.ifc", "", "a", "ifc", {"objects_by_class": {"IfcWall": 1}})
            writer.record_source("b.ifc", "", "b1", "ifc", {"objects_by_class": {"IfcWall": 1}})
        with store.transaction() as writer:  # b.ifc again: its objects get a history
            writer.archive_source("b.ifc", "b2.ifc")
            _ifc_building(writer, "B", "b2.ifc", height=24.0)
            diff = {"added": [], "removed": [], "changed": ["B-wall"]}
            writer.record_source("b2.ifc", "", "b2", "ifc", {"diff": diff}, 2, "b.ifc")
        with store.transaction() as writer:
            for key in ("A", "B"):
                ids[key].add(_gis_building(writer, key, "blocks.gpkg"))
            writer.record_source("blocks.gpkg", "", "g", "gis", {"imported": 2})
            ids["far"].add(_gis_building(writer, "far", "far.gpkg"))
            writer.record_source("far.gpkg", "", "f", "gis", {"imported": 1})
            writer.set_jurisdictions({i: _CODES[key] for key, group in ids.items() for i in group})
        with store.transaction() as writer:  # the same codes, now from the stored tree
            writer.replace_jurisdictions(jurisdiction_tree())
    sources = {"A": {"a.ifc", "blocks.gpkg"}, "B": {"b2.ifc", "blocks.gpkg"}, "far": {"far.gpkg"}}
    return ScopedCity(folder, ids, sources)


def jurisdiction_tree() -> list[Jurisdiction]:
    """Province > city > Tianhe > towns A and B, each town around its objects; "far" lies
    outside them all."""
    x, y = X0 - 100.0, Y0 - 100.0
    return [
        Jurisdiction.of(PROVINCE, "Guangdong", _square(x - 1000, y - 1000, 4000)),
        Jurisdiction.of("440100000000", "Guangzhou", _square(x - 500, y - 500, 3000)),
        Jurisdiction.of(COUNTY, "Tianhe", _square(x, y, 2000)),
        Jurisdiction.of(TOWN_A, "Town A", Polygon([(x, y), (x + 900, y), (x + 900, y + 2000),
                                                   (x, y + 2000)])),
        Jurisdiction.of(TOWN_B, "Town B", Polygon([(x + 900, y), (x + 2000, y),
                                                   (x + 2000, y + 2000), (x + 900, y + 2000)])),
    ]  # fmt: skip


def scopes() -> Iterator[tuple[str, Scope]]:
    """The scopes the tests play: each town, the county, the province, another province,
    and everything."""
    yield "town A", Scope.of(TOWN_A)
    yield "town B", Scope.of(TOWN_B)
    yield "county", Scope.of(COUNTY)
    yield "province", Scope.of(PROVINCE)
    yield "other province", Scope.of(OTHER_PROVINCE)
    yield "everything", Scope.everything()


def _square(x: float, y: float, size: float) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def _ifc_building(writer: CityWriter, key: str, source: str, height: float) -> set[str]:
    x, y = PLACES[key]
    site, building, storey, wall = (f"{key}-{kind}" for kind in ("site", "bldg", "storey", "wall"))
    address = {"addr:street": f"Pearl Road {key}"}
    writer.add_object(CityObject(site, "IfcSite", f"{key} Hall site", None, source,
                                 footprint=_square(x - 10, y - 10, 60)))  # fmt: skip
    writer.add_object(CityObject(
        building, "IfcBuilding", f"{key} Hall", site, source, attributes=address,
        footprint=_square(x, y, 30), base_height=0.0, top_height=height, building_id=building,
    ))  # fmt: skip
    writer.add_object(CityObject(
        storey, "IfcBuildingStorey", f"{key} Hall ground floor", building, source,
        footprint=_square(x, y, 30), base_height=0.0, top_height=4.0, building_id=building,
    ))  # fmt: skip
    writer.add_object(CityObject(
        wall, "IfcWall", f"{key} Hall wall", storey, source, attributes={"use": "office"},
        footprint=_square(x, y, 5), base_height=0.0, top_height=height, building_id=building,
        storey_id=storey,
    ))  # fmt: skip
    writer.add_mesh(wall, [box_mesh((x, y, 0.0), (x + 5.0, y + 5.0, height))])
    writer.add_lod(building, "LOD1", source, height, box_mesh((x, y, 0), (x + 30, y + 30, height)))
    if key != "B":
        return {site, building, storey, wall}
    roof = f"{key}-roof"  # a class only town B has
    writer.add_object(CityObject(
        roof, "IfcRoof", f"{key} Hall roof", storey, source, footprint=_square(x, y, 30),
        base_height=height - 1, top_height=height, building_id=building, storey_id=storey,
    ))  # fmt: skip
    return {site, building, storey, wall, roof}


def _gis_building(writer: CityWriter, key: str, source: str) -> str:
    x, y = PLACES[key]
    object_id = f"{source}:{key}"
    writer.add_object(CityObject(
        object_id, "building", f"{key} Hall annex", None, source,
        attributes={"use": "residential", "building_levels": 3, "addr:street": "Pearl Road"},
        footprint=_square(x + 40, y, 20), base_height=0.0, top_height=9.0,
    ))  # fmt: skip
    writer.add_mesh(object_id, [box_mesh((x + 40, y, 0.0), (x + 60, y + 20, 9.0))])
    return object_id
