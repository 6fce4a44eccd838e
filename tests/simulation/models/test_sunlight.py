"""The sunlight model over a small city: homes behind a slab, a proposed tower, the layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pydantic import ValidationError
from shapely.geometry import box, mapping

from cim.crs import transformer
from cim.model import CityObject
from cim.results import SimulationResult
from cim.scope import Scope
from cim.store import CityStore
from simulation.models import model
from simulation.models.spec import ModelInputs
from simulation.models.sun_obstacles import SunlightInputError
from simulation.models.sunlight import SunlightParameters
from tests.conftest import LOCAL_ORIGIN, make_city

X, Y, GROUND = LOCAL_ORIGIN


def _building(object_id: str, footprint: Any, height: float, **attributes: Any) -> CityObject:
    return CityObject(
        id=object_id,
        cls="building",
        name=object_id,
        source="test",
        attributes=attributes,
        footprint=footprint,
        base_height=GROUND,
        top_height=GROUND + height,
    )


@pytest.fixture()
def city(tmp_path: Path) -> CityStore:
    """Two homes side by side; a 60 m slab 15 m south of the western one only."""
    store = make_city(tmp_path)
    with store.transaction() as writer:
        writer.add_object(_building("b:west", box(X, Y, X + 40, Y + 12), 18.0, use="residential"))
        writer.add_object(
            _building("b:east", box(X + 200, Y, X + 240, Y + 12), 18.0, use="residential")
        )
        writer.add_object(_building("b:slab", box(X - 20, Y - 27, X + 60, Y - 15), 60.0))
        writer.record_source("test", "", "", "synthetic", {"objects": 3})
    return store


def _run(store: CityStore, **parameters: Any) -> SimulationResult:
    spec = model("sunlight")
    params = spec.parameters_type.model_validate({"year": 2026, **parameters})
    inputs = ModelInputs(store=store, city_dir=store.path.parent, scope=Scope.everything())
    return spec.run(inputs, params, lambda _p, _m: None)


def _lonlat(geometry: Any, crs: str) -> dict[str, Any]:
    to_lonlat = transformer(crs, "EPSG:4326")
    moved = shapely.transform(geometry, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
    return dict(mapping(moved))


def test_the_home_behind_the_slab_fails_the_other_passes(city: CityStore) -> None:
    result = _run(city)
    values = {v.name: v for v in result.values}
    assert values["sun_pass"].values == {"b:west": "fail", "b:east": "pass"}
    hours = values["sun_hours"].values
    assert isinstance(hours["b:west"], float) and hours["b:west"] < 2.0
    assert isinstance(hours["b:east"], float) and hours["b:east"] >= 2.0
    assert "b:slab" not in hours  # not residential: an obstacle, not a home
    assert result.summary["homes_checked"] == 2
    assert result.summary["failing_homes"] == 1
    assert result.summary["points_failing_due_to_proposed"] == 0
    assert result.summary["date"] == "2026-01-20"
    assert result.summary["window_true_solar"] == "08:00-16:00"
    faces = values["sun_hours"].details["b:west"]["faces"]
    assert any(label.startswith("S ") for label in faces)
    assert not any(label.startswith("N ") for label in faces)  # never sunward: not checked


def test_layers_hold_points_shadows_failing_homes_and_ground(city: CityStore) -> None:
    result = _run(city, ground_resolution=10.0)
    layers = {layer.name: layer for layer in result.vectors}
    points = layers["sill_points"].features
    # Ground floor only, 1 m apart on the checked faces of both homes (S 40, E 12, W 12).
    assert len(points) == 2 * (40 + 12 + 12)
    assert {f.properties["floor"] for f in points} == {1}
    assert all(f.geometry.z == pytest.approx(GROUND + 0.9) for f in points)
    assert [f.properties["building"] for f in layers["failing_homes"].features] == ["b:west"]
    shadows = {f.properties["building"]: f.geometry for f in layers["shadows"].features}
    # At noon the slab's shadow reaches north over the western home.
    assert shadows["b:slab"].intersects(box(X, Y, X + 40, Y + 12))
    assert not shadows["b:slab"].intersects(box(X + 200, Y, X + 240, Y + 12))
    (ground,) = result.rasters
    assert ground.name == "ground_hours" and ground.array.dtype == np.float32
    assert np.isnan(ground.array).any() and np.nanmax(ground.array) > 7.9
    assert np.nanmin(ground.array) < 1.0  # right behind the slab
    (chart,) = result.charts
    assert chart.kind == "bar" and str(chart.series[0].x[0]).startswith("b:west")


def test_a_proposed_footprint_makes_the_other_home_fail(city: CityStore) -> None:
    tower = box(X + 180, Y - 27, X + 260, Y - 15)
    result = _run(city, proposed_footprint=_lonlat(tower, city.crs), proposed_height=60.0)
    values = {v.name: v for v in result.values}
    assert values["sun_pass"].values == {"b:west": "fail", "b:east": "fails_due_to_proposed"}
    assert result.summary["failing_due_to_proposed"] == 1
    assert result.summary["points_failing_due_to_proposed"] > 0
    assert result.summary["failing_homes"] == 2
    points = [f for f in result.vectors[0].features if f.properties["building"] == "b:east"]
    assert any(f.properties["hours_without_proposed"] > f.properties["hours"] for f in points)
    assert len(result.charts[0].series) == 2


def test_a_building_imported_as_proposed_is_an_obstacle_not_a_home(city: CityStore) -> None:
    with city.transaction() as writer:
        writer.add_object(
            _building(
                "b:new",
                box(X + 180, Y - 27, X + 260, Y - 15),
                60.0,
                use="residential",
                planning_status="proposed",
            )
        )
    result = _run(city)
    values = {v.name: v for v in result.values}
    assert values["sun_pass"].values == {"b:west": "fail", "b:east": "fails_due_to_proposed"}
    assert result.summary["proposed_buildings"] == 1


def test_the_spell_rule_and_the_winter_solstice_lower_the_hours(city: CityStore) -> None:
    base = _run(city).values[0].values["b:west"]
    solstice = _run(city, day="winter_solstice")
    assert solstice.summary["window_true_solar"] == "09:00-15:00"
    assert solstice.summary["date"] == "2026-12-22"  # 20:50 UTC on the 21st
    spells = _run(city, min_spell_minutes=30).values[0].values["b:west"]
    assert isinstance(base, float) and isinstance(spells, float) and spells <= base


def test_a_city_without_homes_is_refused(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    with store.transaction() as writer:
        writer.add_object(_building("b:office", box(X, Y, X + 10, Y + 10), 10.0, use="office"))
    with pytest.raises(SunlightInputError, match="no residential building"):
        _run(store)


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"step_minutes": 2}, "step_minutes"),
        ({"shadow_time": "25:00"}, "shadow_time"),
        ({"day": "summer"}, "day"),
        ({"proposed_height": 30}, "proposed_footprint"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_name_the_field(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SunlightParameters.model_validate(parameters)


def test_a_bad_proposed_footprint_is_refused(city: CityStore) -> None:
    with pytest.raises(SunlightInputError, match="proposed_footprint"):
        _run(
            city,
            proposed_footprint={"type": "Point", "coordinates": [113, 23]},
            proposed_height=10.0,
        )


def _mall_city(folder: Path, storeys: bool) -> CityStore:
    """A home; 15 m south of it a 9 m podium, and a 60 m tower 100 m south (one BIM
    building, with or without its storeys)."""
    store = make_city(folder)
    podium = box(X - 20, Y - 60, X + 60, Y - 15)
    tower = box(X - 20, Y - 120, X + 60, Y - 100)
    with store.transaction() as writer:
        writer.add_object(_building("b:home", box(X, Y, X + 40, Y + 12), 18.0, use="residential"))
        writer.add_object(
            CityObject(id="BIM", cls="IfcBuilding", name="mall", source="test",
                       footprint=podium.union(tower).envelope, base_height=GROUND,
                       top_height=GROUND + 60.0)
        )  # fmt: skip
        for name, footprint, top in (("S0", podium, 9.0), ("S1", tower, 60.0)):
            if storeys:
                writer.add_object(
                    CityObject(id=name, cls="IfcBuildingStorey", name=name, source="test",
                               parent_id="BIM", building_id="BIM", footprint=footprint,
                               base_height=GROUND, top_height=GROUND + top)
                )  # fmt: skip
    return store


def test_bim_storeys_cast_a_stepped_shadow(tmp_path: Path) -> None:
    stepped = _run(_mall_city(tmp_path / "stepped", storeys=True))
    assert stepped.values[1].values == {"b:home": "pass"}
    (shadow,) = [f for f in stepped.vectors[1].features if f.properties["building"] == "BIM"]
    lod1 = _run(_mall_city(tmp_path / "block", storeys=False))
    assert lod1.values[1].values == {"b:home": "fail"}
    (block,) = [f for f in lod1.vectors[1].features if f.properties["building"] == "BIM"]
    assert shadow.geometry.area < block.geometry.area


def test_progress_rises_and_may_stop_the_run(city: CityStore) -> None:
    seen: list[int] = []
    spec = model("sunlight")
    params = spec.parameters_type.model_validate({"year": 2026})
    inputs = ModelInputs(store=city, city_dir=city.path.parent, scope=Scope.everything())
    spec.run(inputs, params, lambda percent, _message: seen.append(percent))
    assert seen == sorted(seen) and 10 < seen[len(seen) // 2] < 90 and len(set(seen)) >= 4

    class StoppedError(Exception):
        pass

    def stop_in_the_hours(percent: int, message: str) -> None:
        if "sill points" in message and percent > 10:
            raise StoppedError

    with pytest.raises(StoppedError):
        spec.run(inputs, params, stop_in_the_hours)
