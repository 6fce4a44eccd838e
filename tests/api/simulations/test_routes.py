"""The simulation routes: models, runs queued as jobs, layers read back, scope and roles."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile
from rasterio.transform import Affine, array_bounds

from api.jobtable import JobTable
from cim.crs import transformer
from cim.result_store import ResultStore
from cim.scope import Scope
from tests.api.simulations.conftest import TOWN_A, TOWN_B, caller, drain
from tests.api.simulations.tiny import CRS, tiny_result
from tests.signin import admin_client

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def submitted(client: TestClient, city: Path, **parameters: Any) -> dict[str, Any]:
    """Queue a tiny run, run the queue, answer the finished job."""
    answer = client.post("/api/simulations", json={"model": "tiny", "parameters": parameters})
    assert answer.status_code == 202, answer.text
    assert answer.json()["url"] == answer.headers["Location"]
    drain(city)
    job: dict[str, Any] = client.get(answer.json()["url"]).json()
    return job


def test_the_models_are_listed_with_their_parameter_schema(app: FastAPI) -> None:
    models = caller(app, "viewer").get("/api/simulations/models").json()
    assert [m["name"] for m in models] == ["tiny"]
    assert models[0]["title"] == {"en": "Tiny", "zh": "小模型"}
    level = models[0]["parameters"]["properties"]["water_level"]
    assert (level["minimum"], level["maximum"], level["default"]) == (0, 100, 1.0)
    assert level["description"] == "water level above the ground (m)"


def test_a_run_is_queued_run_and_stored(app: FastAPI, city: Path) -> None:
    operator = caller(app, "operator", TOWN_A)
    job = submitted(operator, city, water_level=2)
    assert job["status"] == "succeeded" and job["kind"] == "simulate", job
    assert job["jurisdiction"] == TOWN_A and job["progress"] == 100
    run_id = job["result"]["run_id"]
    assert job["result"]["summary"] == {"flooded_cells": 8}
    run = operator.get(f"/api/simulations/runs/{run_id}").json()
    assert run["parameters"] == {"water_level": 2.0} and run["jurisdiction"] == TOWN_A
    assert [r["name"] for r in run["rasters"]] == ["depth"] and run["charts"][0]["name"] == "area"
    second = submitted(operator, city, water_level=3)["result"]["run_id"]
    listed = operator.get("/api/simulations/runs").json()
    assert [r["id"] for r in listed] == [second, run_id]
    assert [r["id"] for r in operator.get("/api/simulations/runs?limit=1").json()] == [second]
    assert operator.get("/api/simulations/runs?model=other").json() == []


def test_bad_parameters_are_refused_naming_the_field_and_nothing_is_queued(
    app: FastAPI, city: Path
) -> None:
    operator = caller(app, "operator")
    for parameters, field in (({"water_level": -1}, "water_level"), ({"flow": 2}, "flow"),
                              ({"water_level": "high"}, "water_level")):  # fmt: skip
        answer = operator.post("/api/simulations", json={"model": "tiny", "parameters": parameters})
        assert answer.status_code == 422, answer.text
        assert f"{field}: " in answer.json()["detail"]
    unknown = operator.post("/api/simulations", json={"model": "volcano"})
    assert unknown.status_code == 404 and "volcano" in unknown.json()["detail"]
    assert JobTable(city).recent(scope=Scope.everything()) == []


def test_a_model_error_fails_the_job_with_its_message(app: FastAPI, city: Path) -> None:
    job = submitted(caller(app, "operator"), city, fail=True)
    assert job["status"] == "failed" and job["error"] == "the tiny model was asked to fail"
    assert ResultStore(city).runs(Scope.everything()) == []


def test_roles_viewers_may_not_run_operators_may_not_delete(app: FastAPI, city: Path) -> None:
    viewer = caller(app, "viewer")
    assert viewer.post("/api/simulations", json={"model": "tiny"}).status_code == 403
    run_id = submitted(caller(app, "operator"), city)["result"]["run_id"]
    assert caller(app, "operator").delete(f"/api/simulations/runs/{run_id}").status_code == 403
    manager = caller(app, "manager")
    assert manager.delete(f"/api/simulations/runs/{run_id}").json() == {"deleted": run_id}
    assert manager.get(f"/api/simulations/runs/{run_id}").status_code == 404


def test_runs_of_another_jurisdiction_are_404(app: FastAPI, city: Path) -> None:
    b_run = ResultStore(city).save(tiny_result(), jurisdiction=TOWN_B, trigger=None, started=T0)
    town_a = caller(app, "manager", TOWN_A)
    base = f"/api/simulations/runs/{b_run.id}"
    for path in ("", "/rasters/depth", "/rasters/depth.png", "/rasters/depth.tif",
                 "/vectors/depth", "/vectors/depth.csv", "/values/depth",
                 f"/compare/{b_run.id}"):  # fmt: skip
        assert town_a.get(base + path).status_code == 404, path
    assert town_a.delete(base).status_code == 404
    assert town_a.get("/api/simulations/runs").json() == []
    county = caller(app, "viewer", "440106000000")
    assert [r["id"] for r in county.get("/api/simulations/runs").json()] == [b_run.id]
    assert county.get(base + "/rasters/depth").status_code == 200


def _png_pixels(png: bytes) -> np.ndarray:
    with MemoryFile(png) as memory, memory.open() as image:
        assert image.driver == "PNG" and image.count == 4
        return np.asarray(image.read())  # (band, row, column)


def test_the_png_is_transparent_where_the_raster_has_no_value(app: FastAPI, city: Path) -> None:
    result = tiny_result(1.0)  # only the north row is flooded
    run = ResultStore(city).save(result, jurisdiction=None, trigger=None, started=T0)
    client = admin_client(app)
    legend = client.get(f"/api/simulations/runs/{run.id}/rasters/depth").json()
    png = client.get(legend["png"])
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = _png_pixels(png.content)
    alpha = pixels[3]
    assert alpha[0].max() == 255 and alpha[-1].max() == 0  # north opaque, south transparent
    assert set(np.unique(alpha)) == {0, 255}
    blue = pixels[:, 0, alpha.shape[1] // 2]
    assert blue[2] > blue[0]  # a depth is drawn in blue
    assert (legend["min"], legend["max"], legend["unit"]) == (1.0, 1.0, "m")
    assert legend["stops"][0] == [0.0, "#c6dbef"]


def test_the_bounds_are_the_rasters_in_longitude_and_latitude(app: FastAPI, city: Path) -> None:
    result = tiny_result(2.0)
    run = ResultStore(city).save(result, jurisdiction=None, trigger=None, started=T0)
    legend = admin_client(app).get(f"/api/simulations/runs/{run.id}/rasters/depth").json()
    raster = result.rasters[0]
    west, south, east, north = array_bounds(3, 4, Affine.from_gdal(*raster.transform))
    lons, lats = transformer(CRS, "EPSG:4326").transform(
        [west, east, west, east], [south, south, north, north]
    )
    expected = [min(lons), min(lats), max(lons), max(lats)]
    # within a tenth of a cell (10 m is about 1e-4 degree here)
    np.testing.assert_allclose(legend["bounds"], expected, atol=1e-5)


def test_hours_are_coloured_around_the_required_hours(city: Path) -> None:
    from api.raster_colours import stops_for

    stops = stops_for("h", 0.0, 8.0, {"required_hours": 2.0})
    assert stops == [(0.0, "#d73027"), (2.0, "#fee08b"), (8.0, "#1a9850")]
    assert stops_for("µg/m³", 0.0, 10.0, {})[-1] == (250.0, "#54278f")
    assert stops_for("", 5.0, 5.0, {})[0] == (5.0, "#440154")


def test_the_geotiff_geojson_and_csv(app: FastAPI, city: Path) -> None:
    result = tiny_result(2.0)
    run = ResultStore(city).save(result, jurisdiction=None, trigger=None, started=T0)
    client = admin_client(app)
    base = f"/api/simulations/runs/{run.id}"
    tif = client.get(base + "/rasters/depth.tif")
    assert tif.headers["content-type"] == "image/tiff"
    with MemoryFile(tif.content) as memory, memory.open() as image:
        np.testing.assert_array_equal(image.read(1), result.rasters[0].array)
    geojson = client.get(base + "/vectors/depth").json()
    assert geojson["type"] == "FeatureCollection" and len(geojson["features"]) == 2
    lon, lat = geojson["features"][1]["geometry"]["coordinates"]
    assert 113.3 < lon < 113.4 and 23.1 < lat < 23.2
    assert geojson["features"][0]["properties"] == {"depth_m": 2.0, "cells": 8, "tags": ["a", "b"]}
    csv = client.get(base + "/vectors/depth.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "depth_m,cells,tags,wkt"
    assert lines[1].startswith('2.0,8,"[""a"", ""b""]","POLYGON ((430740 2557870')
    assert lines[2] == ",0,[],POINT (430705 2557895)"
    values = client.get(base + "/values/depth").json()
    assert values == {"title": "Depth at the door", "unit": "m", "values": {"b1": 2.0, "b2": 4.0},
                      "details": {"b1": {"doors": 1}, "b2": {"doors": 2}}}  # fmt: skip
    assert client.get(base + "/values/speed").status_code == 404
    assert "has: depth" in client.get(base + "/rasters/speed").json()["detail"]


def test_two_runs_are_compared(app: FastAPI, city: Path) -> None:
    results = ResultStore(city)
    low = results.save(tiny_result(1.0), jurisdiction=None, trigger=None, started=T0)
    high = results.save(tiny_result(2.0), jurisdiction=None, trigger=None, started=T0)
    client = admin_client(app)
    compared = client.get(f"/api/simulations/runs/{low.id}/compare/{high.id}").json()
    assert compared["a"]["summary"] == {"flooded_cells": 4}
    assert compared["b"]["summary"] == {"flooded_cells": 8}
    assert compared["values"] == {"depth": {"b1": [1.0, 2.0], "b2": [2.0, 4.0]}}
    # both wet only in the north row, 1 m deeper there
    assert compared["rasters"]["depth"] == {"min": 1.0, "max": 1.0, "mean": 1.0, "cells": 4,
                                            "same_grid": True}  # fmt: skip
    other = tiny_result()
    other.model = "other"
    different = results.save(other, jurisdiction=None, trigger=None, started=T0)
    refused = client.get(f"/api/simulations/runs/{low.id}/compare/{different.id}")
    assert refused.status_code == 422 and "different models" in refused.json()["detail"]


def test_run_values_colour_objects_through_the_values_key(app: FastAPI, city: Path) -> None:
    client = admin_client(app)
    buildings = [o["id"] for o in client.get("/api/objects", params={"limit": 1000}).json()
                 ["objects"] if o["class"] == "IfcBuilding"]  # fmt: skip
    assert len(buildings) == 2
    run = ResultStore(city).save(tiny_result(1.0, buildings), jurisdiction=None, trigger=None,
                                 started=T0)  # fmt: skip
    key = f"simulation:{run.id}:depth"
    answer = client.post("/api/objects/values", json={"attribute": key, "per_building": True})
    found = answer.json()
    assert found["kind"] == "number" and found["unit"] == "m" and found["owners"] == 2
    assert {found["values"][b] for b in buildings} == {1.0, 2.0}
    assert found["count"] > 2  # the elements of each building take its value
    elements = client.get("/api/objects", params={"limit": 1000}).json()["objects"]
    for element in elements:
        if element.get("building") in buildings:
            assert found["values"][element["id"]] == found["values"][element["building"]]
    assert client.post("/api/objects/values", json={"attribute": "simulation:nope:depth"}
                       ).status_code == 404  # fmt: skip
    assert client.post("/api/objects/values", json={"attribute": "simulation:x"}).status_code == 400
    town_a = caller(app, "viewer", TOWN_A)
    assert town_a.post("/api/objects/values", json={"attribute": key}).status_code == 404


def test_the_png_decodes_with_rasterio(city: Path) -> None:
    from api.raster_colours import overlay

    drawn = overlay(tiny_result(3.0).rasters[0], {})
    with rasterio.open(io.BytesIO(drawn.png)) as image:
        assert image.read(4).min() == 255  # every cell flooded at 3 m: no transparent pixel
