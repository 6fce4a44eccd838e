"""A city without objects whose jurisdictions have Chinese names (Tianhe and two of its
towns), for the incident statistics' API and browser tests."""

from __future__ import annotations

from pathlib import Path

from cim.jurisdictions import Jurisdiction
from cim.store import CityStore
from tests.conftest import LOCAL_CRS
from tests.scoped_city import jurisdiction_tree
from tests.simulation.incidents.timelines import COUNTY, TOWN_A, TOWN_B

NAMES = {"440000000000": "广东省", "440100000000": "广州市", COUNTY: "天河区",
         TOWN_A: "五山街道", TOWN_B: "石牌街道"}  # fmt: skip


def build_stats_city(folder: Path) -> Path:
    """Create the city in ``folder`` (the scoped city's tree, renamed); ``folder``."""
    with CityStore.create(folder, LOCAL_CRS, "天河") as store, store.transaction() as writer:
        writer.replace_jurisdictions(
            [Jurisdiction.of(n.code, NAMES[n.code], n.boundary) for n in jurisdiction_tree()]
        )
    return folder
