"""Simulation runs are stored whole or not at all, read back as written, seen within scope."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

import cim.result_store as result_store
from cim.errors import InvalidResultError, RunNotFoundError
from cim.layout import CityLayout
from cim.result_store import ResultStore, RunRecord
from cim.results import RasterLayer
from cim.scope import Scope
from tests.api.simulations.tiny import CRS, tiny_result

TOWN_A = "440106001000"
TOWN_B = "440106002000"
EVERYTHING = Scope.everything()
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_a_run_reads_back_as_it_was_written(tmp_path: Path) -> None:
    results = ResultStore(tmp_path)
    written = tiny_result(1.5)
    record = results.save(written, jurisdiction=TOWN_A, trigger={"alert": 12}, started=T0)
    assert (tmp_path / CityLayout.SIMULATIONS / record.id / "run.json").is_file()
    again = results.run(record.id, EVERYTHING)
    assert again == record and RunRecord.from_dict(record.to_dict()) == record
    assert (again.model, again.parameters, again.summary) == ("tiny", {"water_level": 1.5},
                                                             {"flooded_cells": 8})  # fmt: skip
    assert again.started == "2026-07-01T08:00:00.000Z" and again.trigger == {"alert": 12}
    assert [(v.name, v.unit, v.count) for v in again.values] == [("depth", "m", 2)]
    assert again.charts[0]["series"][0]["y"] == [0.0, 800.0]
    raster = results.raster(record.id, "depth", EVERYTHING)
    np.testing.assert_array_equal(raster.array, written.rasters[0].array)  # NaN where dry
    assert raster.transform == written.rasters[0].transform and raster.unit == "m"
    vector = results.vector(record.id, "depth", EVERYTHING)
    assert [f.properties for f in vector.features] == [
        f.properties for f in written.vectors[0].features
    ]
    assert vector.features[0].geometry.equals(written.vectors[0].features[0].geometry)
    values = results.values(record.id, "depth", EVERYTHING)
    assert values.values == {"b1": 1.5, "b2": 3.0} and values.details["b2"] == {"doors": 2}


def test_the_files_are_a_geotiff_and_a_geopackage_in_the_city_crs(tmp_path: Path) -> None:
    results = ResultStore(tmp_path)
    record = results.save(tiny_result(), jurisdiction=None, trigger=None, started=T0)
    with rasterio.open(results.raster_path(record.id, "depth", EVERYTHING)) as tif:
        assert tif.dtypes == ("float32",) and np.isnan(tif.nodata)
        assert tif.crs.to_epsg() == 4547
    gpkg = results.vectors_path(record.id, EVERYTHING)
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == ["depth"]
    assert pyogrio.read_info(gpkg, layer="depth")["crs"] == CRS


def test_runs_are_listed_newest_first_within_scope(tmp_path: Path) -> None:
    results = ResultStore(tmp_path)
    a = results.save(tiny_result(), jurisdiction=TOWN_A, trigger=None, started=T0)
    b = results.save(tiny_result(), jurisdiction=TOWN_B, trigger=None, started=T0 + timedelta(1))
    cli = results.save(tiny_result(), jurisdiction=None, trigger=None, started=T0 + timedelta(2))
    assert [r.id for r in results.runs(EVERYTHING)] == [cli.id, b.id, a.id]
    assert [r.id for r in results.runs(EVERYTHING, limit=1)] == [cli.id]
    assert [r.id for r in results.runs(Scope.of(TOWN_A))] == [a.id]
    assert [r.id for r in results.runs(Scope.of("440106000000"))] == [b.id, a.id]
    assert results.runs(EVERYTHING, model="flood") == []
    with pytest.raises(RunNotFoundError) as outside:
        results.run(b.id, Scope.of(TOWN_A))
    with pytest.raises(RunNotFoundError) as missing:
        results.run("20260701T080000Z-00000000", Scope.of(TOWN_A))
    assert str(outside.value).replace(b.id, "X") == str(missing.value).replace(
        "20260701T080000Z-00000000", "X")  # fmt: skip
    with pytest.raises(RunNotFoundError, match="no raster 'speed'"):
        results.raster(a.id, "speed", EVERYTHING)
    with pytest.raises(RunNotFoundError):
        results.run("../../etc", EVERYTHING)


def test_delete_removes_the_run_within_scope_only(tmp_path: Path) -> None:
    results = ResultStore(tmp_path)
    record = results.save(tiny_result(), jurisdiction=TOWN_B, trigger=None, started=T0)
    with pytest.raises(RunNotFoundError):
        results.delete(record.id, Scope.of(TOWN_A))
    results.delete(record.id, Scope.of(TOWN_B))
    assert results.runs(EVERYTHING) == []
    assert list((tmp_path / CityLayout.SIMULATIONS).iterdir()) == []


def test_a_failure_mid_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = ResultStore(tmp_path)
    kept = results.save(tiny_result(), jurisdiction=None, trigger=None, started=T0)

    def broken(*_args: object) -> list[str]:
        raise OSError("disk full")

    monkeypatch.setattr(result_store, "write_vector", broken)
    with pytest.raises(OSError, match="disk full"):
        results.save(tiny_result(), jurisdiction=None, trigger=None, started=T0)
    assert [p.name for p in (tmp_path / CityLayout.SIMULATIONS).iterdir()] == [kept.id]
    assert [r.id for r in results.runs(EVERYTHING)] == [kept.id]


@pytest.mark.parametrize(
    ("change", "message"),
    [("Depth", "not a lower-case identifier"), ("../x", "not a lower-case identifier"),
     ("twice", "two rasters are named 'depth'"), ("flat", "not a 2-D grid")],
)  # fmt: skip
def test_a_result_that_cannot_be_stored_is_refused(
    tmp_path: Path, change: str, message: str
) -> None:
    result = tiny_result()
    raster = result.rasters[0]
    if change == "twice":
        result.rasters.append(raster)
    elif change == "flat":
        result.rasters[0] = RasterLayer(
            "depth", "", "m", np.zeros(4, np.float32), raster.transform, CRS
        )
    else:
        result.rasters[0] = RasterLayer(change, "", "m", raster.array, raster.transform, CRS)
    with pytest.raises(InvalidResultError, match=message):
        ResultStore(tmp_path).save(result, jurisdiction=None, trigger=None, started=T0)
    assert ResultStore(tmp_path).runs(EVERYTHING) == []
    assert list(tmp_path.glob(f"{CityLayout.SIMULATIONS}/*")) == []


def test_what_a_killed_save_left_is_removed_by_a_later_save(tmp_path: Path) -> None:
    results = ResultStore(tmp_path)
    folder = tmp_path / CityLayout.SIMULATIONS
    old, recent = folder / ".partial-killed", folder / ".partial-running"
    for path in (old, recent, folder / ".deleting-killed"):
        path.mkdir(parents=True)
        (path / "run.json").write_text("{")
    an_hour_ago = time.time() - 3700
    for path in (old, folder / ".deleting-killed"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    kept = results.save(tiny_result(), jurisdiction=None, trigger=None, started=T0)
    assert sorted(p.name for p in folder.iterdir()) == [".partial-running", kept.id]
