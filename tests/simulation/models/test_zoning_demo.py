"""The demo district's planning zones: imported by the demo, and the zoning model finds the
buildings over the core's height limit and the parcel over its floor area ratio."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from api.demo_gis import ZONES, ZONES_LAYER
from cim.layout import CityLayout
from cim.scope import Scope
from cim.store import CityStore
from simulation.models import model
from simulation.models.spec import ModelInputs
from tests.demo_build import BuiltDemo


def _expected(layers: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Height and FAR excesses computed from the demo's layers with geopandas alone: height,
    else 3 m per level; FAR from levels x footprint (parcels with a building of unknown
    levels left out)."""
    zones = gpd.read_file(layers, layer=ZONES_LAYER)
    buildings = gpd.read_file(layers, layer="buildings")
    buildings = buildings[buildings["ref"] != "B-UNDER-BIM"]  # replaced by a BIM building
    height = buildings["height"].fillna(buildings["building_levels"] * 3.0).fillna(10.0)
    buildings = buildings.assign(
        effective=height, floor=buildings.area * buildings["building_levels"]
    )
    heights: dict[str, float] = {}
    for _, zone in zones.iterrows():
        inside = buildings[buildings.within(zone.geometry)]
        over = inside[inside["effective"] > zone["控高"]]
        heights.update(
            {
                f"buildings:{r}": h - zone["控高"]
                for r, h in zip(over["ref"], over["effective"], strict=True)
            }
        )
    parcels = gpd.read_file(layers, layer="parcels")
    fars: dict[str, float] = {}
    for _, parcel in parcels.iterrows():
        zone = zones[zones.contains(parcel.geometry.centroid)].iloc[0]
        on = buildings[buildings.intersects(parcel.geometry)]
        if on["floor"].isna().any():
            continue
        far = float(on["floor"].sum()) / parcel.geometry.area
        if far > zone["容积率"]:
            fars[parcel["parcel_no"]] = far - zone["容积率"]
    return heights, fars


def test_the_demo_zones_flag_a_few_buildings_and_one_parcel(
    built_demo: BuiltDemo, tmp_path: Path
) -> None:
    city = built_demo.copy(tmp_path / "demo")
    heights, fars = _expected(CityLayout(city).sources / "district.gpkg")
    assert 1 <= len(heights) <= 5 and len(fars) == 1  # what the zones were chosen for
    with CityStore.open(city) as store:
        stored = store.objects(cls="zone", scope=Scope.everything())
        assert sorted(z.attributes["zone_code"] for z in stored) == sorted(z[0] for z in ZONES)
        spec = model("zoning")
        result = spec.run(ModelInputs(store, city, Scope.everything()), spec.parameters_type(),
                          lambda _p, _m: None)  # fmt: skip
    found = {(f.properties["object_id"], f.properties["indicator"]): f.properties
             for f in result.vectors[0].features}  # fmt: skip
    height = {oid: p["amount"] for (oid, indicator), p in found.items() if indicator == "height"}
    far = {p["object_name"]: p["amount"] for (_, i), p in found.items() if i == "far"}
    assert height == pytest.approx(heights, abs=1e-3)
    assert far == pytest.approx(fars, abs=1e-3)
    assert result.summary["zones"] == len(ZONES)


def test_a_scoped_run_checks_its_objects_against_the_zones_over_them(
    built_demo: BuiltDemo, tmp_path: Path
) -> None:
    """A zone is stored in the village of its centre; a village's run still finds the zones
    over its buildings, and checks and reports its own objects only."""
    city = built_demo.copy(tmp_path / "demo")
    with CityStore.open(city) as store:
        villages = [
            n for n in store.jurisdictions(scope=Scope.everything()) if n.level == "village"
        ]
        spec = model("zoning")
        for village in villages:
            scope = Scope.of(village.code)
            buildings = store.objects(cls="building", scope=scope)
            if not buildings or store.objects(cls="zone", scope=scope):
                continue  # wanted: a village holding buildings but no zone of its own
            visible = {o.id for o in store.objects_in_box(None, None, scope=scope)}
            result = spec.run(ModelInputs(store, city, scope), spec.parameters_type(),
                              lambda _p, _m: None)  # fmt: skip
            assert 1 <= result.summary["zones"] < len(ZONES) + 1
            assert set(result.values[0].values) <= visible
            assert {f.properties["object_id"] for f in result.vectors[0].features} <= visible
            return
    pytest.fail("no village of the demo holds buildings without holding a zone")
