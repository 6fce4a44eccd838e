"""The models on the built demo district, through ``run_model`` as the job and the command
line call them: a flood from the riverside gauge's live reading, the live PM2.5 field, a
tower planned south of a home."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box
from sqlalchemy import select

from api.simulations import run_model
from cim.crs import transformer
from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.result_store import ResultStore
from cim.scope import Scope
from cim.store import CityStore
from simulation.sensors.ingest import ingest
from simulation.sensors.records import ObservationIn
from tests.demo_build import BuiltDemo

RIVERSIDE = "Zhujiang riverside water level"
TIANHE = "440106000000"
GROUND = 10.0  # the flat core of the demo's DEM (data/demo/district.json)


@pytest.fixture(scope="module")
def demo(built_demo: BuiltDemo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the session's demo city."""
    return built_demo.copy(tmp_path_factory.mktemp("demo") / "demo-city")


def riverside_stream(folder: Path) -> t.Datastream:
    with OpsDatabase.for_city(folder) as db, db.transaction() as session:
        stream = session.execute(
            select(t.Datastream).where(t.Datastream.name == RIVERSIDE)
        ).scalar_one()
        session.expunge(stream)
        return stream


def test_a_flood_from_the_riverside_gauge_tops_the_bank(demo: Path, built_demo: BuiltDemo) -> None:
    stream = riverside_stream(demo)
    datum = stream.properties["gaugeDatum"]
    assert datum == 7.5  # the gauge's zero 2.5 m under the bank, where its rule raises
    with OpsDatabase.for_city(demo) as db:
        stored = ingest(db, [ObservationIn(stream.id, built_demo.built_us + 1_000_000, 3.2)],
                        Scope.everything())  # fmt: skip
    assert not stored.rejected
    record = run_model(
        demo,
        "flood",
        {"datastream_id": stream.id, "gauge_datum_m": datum},
        Scope.of(TIANHE),
        jurisdiction=TIANHE,
    )
    assert record.parameters["level_m"] == pytest.approx(datum + 3.2)
    assert record.parameters["live"]["value"] == pytest.approx(3.2)
    summary = record.summary
    assert summary["flooded_area_m2"] > 0 and summary["buildings_affected"] > 0
    assert summary["roads_flooded_length_m"] > 0
    # the core is flat at 10 m: most buildings stand in 0.7 m of water; those in the hollows
    # around it, deeper, never deeper than the deepest water
    depths = ResultStore(demo).values(record.id, "depth", Scope.of(TIANHE)).values
    wet = [float(v) for v in depths.values() if isinstance(v, float) and v > 0]
    assert len(wet) == summary["buildings_affected"]
    assert statistics.median(wet) == pytest.approx(datum + 3.2 - GROUND, abs=0.05)
    raster = ResultStore(demo).raster(record.id, "depth", Scope.of(TIANHE))
    deepest = float(np.nanmax(raster.array))
    assert max(wet) <= deepest + 1e-6 and deepest == pytest.approx(summary["max_depth_m"], abs=1e-3)


def test_the_live_pm25_field_is_kriged_from_the_outdoor_stations(demo: Path) -> None:
    record = run_model(
        demo,
        "pollution",
        {"observed_property": "PM2.5", "method": "kriging", "variogram_model": "spherical"},
        Scope.of(TIANHE),
        jurisdiction=TIANHE,
    )
    summary = record.summary
    assert summary["stations"] >= 5 and summary["method"] == "kriging"
    assert math.isfinite(summary["loo_rmse"]) and summary["loo_rmse"] >= 0
    store = ResultStore(demo)
    field = store.raster(record.id, "field", Scope.of(TIANHE)).array
    finite = field[np.isfinite(field)]
    assert finite.size > 0
    exposure = store.values(record.id, "exposure", Scope.of(TIANHE)).values
    assert len(exposure) > 100 and all(
        isinstance(v, float) and math.isfinite(v) for v in exposure.values()
    )


def test_a_tower_planned_south_of_a_home_takes_its_winter_sun(demo: Path) -> None:
    scope = Scope.of(TIANHE)
    before = run_model(demo, "sunlight", {"year": 2026}, scope, jurisdiction=TIANHE)
    assert before.summary["homes_checked"] > 0
    passing = [
        home
        for home, verdict in ResultStore(demo).values(before.id, "sun_pass", scope).values.items()
        if verdict == "pass"
    ]
    assert passing, "no demo home meets the rule"
    with CityStore.open(demo) as store:
        home = store.get_object(sorted(passing)[0], scope=scope).footprint
        to_lonlat = transformer(store.crs, "EPSG:4326")
    assert home is not None
    west, south, east, _ = home.bounds
    tower = box(west - 10, south - 40, east + 10, south - 15)  # 15 m south of the home, 25 m deep
    ring = [list(to_lonlat.transform(x, y)) for x, y in tower.exterior.coords]
    proposal = {"type": "Polygon", "coordinates": [ring]}
    after = run_model(
        demo,
        "sunlight",
        {"year": 2026, "proposed_footprint": proposal, "proposed_height": 150},
        scope,
        jurisdiction=TIANHE,
    )
    verdicts = ResultStore(demo).values(after.id, "sun_pass", scope).values
    assert verdicts[sorted(passing)[0]] == "fails_due_to_proposed"
    assert after.summary["failing_due_to_proposed"] >= 1
