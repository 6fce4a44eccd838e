"""cimtwin simulate: models, a foreground run, the run list, exports; exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
from typer.testing import CliRunner

from api.cli import app
from cim.result_store import ResultStore
from cim.scope import Scope

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_models_and_the_run_help_list_each_parameter() -> None:
    code, out, _ = run("simulate", "models")
    assert code == 0 and out.startswith("tiny: Tiny (小模型)")
    assert "water_level (number, default 1.0, >= 0, <= 100): water level above the ground" in out
    code, out, _ = run("simulate", "run", "--help")
    assert code == 0
    assert "tiny: Tiny" in out and "water level above the ground (m)" in out
    code, out, _ = run("simulate", "models", "--json")
    assert json.loads(out)[0]["parameters"]["properties"]["fail"]["type"] == "boolean"


def test_a_run_in_the_foreground_prints_its_summary_and_id(city: Path, tmp_path: Path) -> None:
    settings = tmp_path / "params.json"
    settings.write_text(json.dumps({"water_level": 5, "fail": False}))
    code, out, err = run("simulate", "run", "tiny", "--city", str(city),
                         "--parameters", str(settings), "--set", "water_level=2.5")  # fmt: skip
    assert code == 0, err
    assert "flooded_cells: 12" in out  # 2.5 m: every row wet
    run_id = out.strip().splitlines()[-1].removeprefix("run: ")
    record = ResultStore(city).run(run_id, Scope.everything())
    assert record.parameters == {"water_level": 2.5} and record.jurisdiction is None
    code, out, _ = run("simulate", "runs", "--city", str(city))
    assert code == 0 and out.startswith(f"{run_id}  tiny  ") and "layers: depth" in out
    code, out, _ = run("simulate", "runs", "--city", str(city), "--json")
    assert [r["id"] for r in json.loads(out)] == [run_id]


def test_bad_parameters_exit_2_naming_the_field(city: Path, tmp_path: Path) -> None:
    code, _, err = run("simulate", "run", "tiny", "--city", str(city), "--set", "water_level=-3")
    assert code == 2 and "water_level: Input should be greater than or equal to 0" in err
    code, _, err = run("simulate", "run", "tiny", "--city", str(city), "--set", "depth=1")
    assert code == 2 and "depth: Extra inputs are not permitted" in err
    code, _, err = run("simulate", "run", "volcano", "--city", str(city))
    assert code == 2 and "no simulation model 'volcano'" in err
    code, _, err = run("simulate", "run", "tiny", "--city", str(city), "--set", "level")
    assert code == 2 and "is not NAME=VALUE" in err
    code, _, err = run("simulate", "run", "tiny", "--city", str(city), "--set", "fail=true")
    assert code == 1 and "the tiny model was asked to fail" in err
    assert ResultStore(city).runs(Scope.everything()) == []
    (tmp_path / "list.json").write_text("[1]")
    code, _, err = run("simulate", "run", "tiny", "--city", str(city),
                       "--parameters", str(tmp_path / "list.json"))  # fmt: skip
    assert code == 2 and "holds no JSON object" in err


def test_export_each_format(city: Path, tmp_path: Path) -> None:
    code, out, err = run("simulate", "run", "tiny", "--city", str(city), "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]

    def export(layer: str, name: str) -> tuple[int, str]:
        code, _, err = run("simulate", "export", run_id, "--city", str(city), "--layer", layer,
                           "-o", str(tmp_path / name))  # fmt: skip
        return code, err

    assert export("depth", "depth.tif")[0] == 0
    with rasterio.open(tmp_path / "depth.tif") as tif:
        assert np.isnan(tif.read(1)[2]).all() and tif.read(1)[0, 0] == 1.0
    assert export("depth", "depth.gpkg")[0] == 0
    assert len(pyogrio.read_dataframe(tmp_path / "depth.gpkg", layer="depth")) == 2
    assert export("depth", "depth.geojson")[0] == 0
    geojson = json.loads((tmp_path / "depth.geojson").read_text())
    assert len(geojson["features"]) == 2
    assert export("depth", "depth.csv")[0] == 0
    assert (tmp_path / "depth.csv").read_text().splitlines()[0] == "depth_m,cells,tags,wkt"
    code, err = export("depth", "depth.shp")
    assert code == 1 and ".csv, .geojson, .gpkg, .tif" in err
    code, err = export("speed", "speed.tif")
    assert code == 1 and "no raster 'speed'" in err
