"""A spatial element's footprint does not depend on the order its elements were meshed in."""

from __future__ import annotations

import pytest

from bim.ingest import Gathered
from cim.scope import Scope
from tests.conftest import ImportedCity

SPATIAL = {"IfcSite", "IfcBuilding", "IfcBuildingStorey", "IfcSpace"}


@pytest.mark.slow
def test_spatial_footprint_is_the_same_in_any_arrival_order(tekla_city: ImportedCity) -> None:
    footprints = [
        (o.id, o.footprint)
        for o in tekla_city.store.objects(scope=Scope.everything())
        if o.footprint is not None and o.cls not in SPATIAL
    ]
    forward = Gathered(footprints=list(footprints)).union()
    backward = Gathered(footprints=footprints[::-1]).union()
    assert forward is not None and backward is not None
    assert forward.wkb == backward.wkb  # a plain union of Tekla's differs in the last digits


def test_building_outlines_every_element_of_its_storeys(fzk_city: ImportedCity) -> None:
    objects = fzk_city.store.objects(scope=Scope.everything())
    elements = [o for o in objects if o.footprint is not None and o.cls not in SPATIAL]
    flat = Gathered(footprints=[(o.id, o.footprint) for o in elements]).union()
    storeys = [o for o in objects if o.cls == "IfcBuildingStorey"]
    assert flat is not None and len(storeys) == 2 and all(s.footprint for s in storeys)
    (building,) = [o for o in objects if o.cls == "IfcBuilding"]
    (site,) = [o for o in objects if o.cls == "IfcSite"]
    assert building.footprint is not None and site.footprint is not None
    # built from its storeys' outlines, not from every element again: the same area
    assert building.footprint.symmetric_difference(flat).area < 1e-6 * flat.area
    assert site.footprint.buffer(1e-6).covers(building.footprint)  # the site's has its terrain
