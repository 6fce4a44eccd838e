"""Conflation: a BIM building replaces the GIS footprints it stands on.

A GIS building (class ``building`` from a vector layer, or a CityJSON ``Building``) is
replaced by an IFC building when the BIM footprint covers at least half of the GIS
footprint. The link is kept both ways in the attributes (``replaced_by`` on the GIS
object, ``replaces`` on the BIM building), and the tiler hides replaced GIS blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.strtree import STRtree

from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import BIM_BUILDING_CLASS, GIS_BUILDING_CLASSES

MIN_COVERED_SHARE = 0.5


@dataclass
class ConflationReport:
    """Links made and undone by one conflation run."""

    links: dict[str, list[str]] = field(default_factory=dict)
    released: int = 0


def conflate(store: CityStore) -> ConflationReport:
    """Link every GIS building to the BIM building covering it; unlink stale links.

    Call it inside the transaction of the import that changed the city, so the links
    change with the data they describe.
    """
    report = ConflationReport()
    everything = Scope.everything()  # links are made across jurisdictions
    bim = [o for o in store.objects(cls=BIM_BUILDING_CLASS, scope=everything)
           if o.footprint is not None]  # fmt: skip
    gis = [o for cls in GIS_BUILDING_CLASSES for o in store.objects(cls=cls, scope=everything)
           if o.footprint is not None]  # fmt: skip
    tree = STRtree([o.footprint for o in gis]) if gis else None
    replaced_by: dict[str, str] = {}
    for building in bim:
        candidates = tree.query(building.footprint) if tree is not None else []
        for index in candidates:
            other = gis[int(index)]
            area = other.footprint.area  # type: ignore[union-attr]
            covered = shapely.intersection(other.footprint, building.footprint).area
            if area > 0 and covered / area >= MIN_COVERED_SHARE:
                replaced_by[other.id] = building.id
                report.links.setdefault(building.id, []).append(other.id)
    writer = store.writer()
    for other in gis:
        link = replaced_by.get(other.id)
        if other.attributes.get("replaced_by") != link:
            attributes = {k: v for k, v in other.attributes.items() if k != "replaced_by"}
            if link is not None:
                attributes["replaced_by"] = link
            else:
                report.released += 1
            writer.set_attributes(other.id, attributes)
    for building in bim:
        links = sorted(report.links.get(building.id, []))
        if building.attributes.get("replaces", []) != links:
            attributes = {k: v for k, v in building.attributes.items() if k != "replaces"}
            if links:
                attributes["replaces"] = links
            writer.set_attributes(building.id, attributes)
    return report
