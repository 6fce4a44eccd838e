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
