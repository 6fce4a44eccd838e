"""The pollution model run over a city and fake live readings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from shapely.geometry import box

from cim.model import CityObject
from cim.scope import Scope
from cim.store import CityStore
from simulation.models import model
from simulation.models.errors import ModelError
from simulation.models.pollution import NoReadingsError, PollutionParameters
from simulation.models.spec import ModelInputs, Reading
from tests.conftest import LOCAL_ORIGIN, make_city

X0, Y0 = LOCAL_ORIGIN[0], LOCAL_ORIGIN[1]
HOUR_US = 3_600_000_000
T0 = 1_780_000_000 * 1_000_000


class FakeLive:
    """Live readings given by the test."""

    def __init__(self, readings: list[Reading]) -> None:
        self.readings = readings

    def latest(self, datastream_id: int) -> Reading | None:
        return next((r for r in self.readings if r.datastream_id == datastream_id), None)

    def of_property(self, observed_property: str) -> list[Reading]:
        return [r for r in self.readings if r.observed_property == observed_property]


def reading(number: int, dx: float, dy: float, value: float, **changes: object) -> Reading:
    fields: dict[str, object] = {
        "datastream_id": number, "name": f"station {number}", "observed_property": "PM2.5",
        "unit": "µg/m³", "value": value, "time_us": T0 + number, "x": X0 + dx, "y": Y0 + dy,
        "object_id": None,
    }  # fmt: skip
    fields.update(changes)
    return Reading(**fields)  # type: ignore[arg-type]


def five_stations(**changes: object) -> list[Reading]:
    places = [(0, 0, 10.0), (400, 0, 30.0), (0, 400, 20.0), (400, 400, 50.0), (200, 200, 25.0)]
    return [reading(i + 1, dx, dy, v, **changes) for i, (dx, dy, v) in enumerate(places)]


@pytest.fixture
def city(tmp_path: Path) -> CityStore:
    store = make_city(tmp_path)
    with store.transaction() as writer:
        for number, (dx, dy) in enumerate([(0, 0), (380, 380), (190, 0)]):
            footprint = box(X0 + dx - 10, Y0 + dy - 10, X0 + dx + 10, Y0 + dy + 10)
            writer.add_object(CityObject(id=f"buildings:{number}", cls="building",
                                         source="buildings", footprint=footprint))  # fmt: skip
        writer.record_source("buildings", "", "", "synthetic", {"objects": 3})
    return store


def run(city: CityStore, readings: list[Reading], **parameters: object):  # type: ignore[no-untyped-def]
    spec = model("pollution")
    inputs = ModelInputs(city, city.path.parent, Scope.everything(), FakeLive(readings))
    return spec.run(inputs, spec.parameters_type(**parameters), lambda _p, _m: None)


def test_kriging_run_gives_field_variance_exposure_stations_and_chart(city: CityStore) -> None:
    result = run(city, five_stations(), method="kriging", resolution_m=25, margin_m=50)
    field, variance = result.rasters
    assert (field.name, field.unit, variance.name) == ("field", "µg/m³", "variance")
    assert field.crs == city.crs and field.array.dtype == np.float32
    west, dx, _, north, _, dy = field.transform
    assert (west, north, dx, dy) == (X0 - 10 - 50, Y0 + 390 + 50, 25, -25)
    finite = field.array[np.isfinite(field.array)]
    assert finite.size == field.array.size
    # exposure: the building on station 1 takes its value, the others lie within the range
    exposure = result.values[0]
    assert exposure.name == "exposure" and exposure.unit == "µg/m³"
    assert exposure.values["buildings:0"] == pytest.approx(10.0, abs=1e-6)
    assert 10 <= exposure.values["buildings:1"] <= 50
    stations = result.vectors[0]
    assert [f.properties["value"] for f in stations.features] == [10, 30, 20, 50, 25]
    assert all(f.properties["loo_error"] is not None for f in stations.features)
    errors = np.array(result.charts[0].series[0].y, dtype=float)
    summary = result.summary
    assert summary["stations"] == 5 and summary["method"] == "kriging"
    assert summary["loo_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), abs=1e-3)
    assert summary["loo_mae"] == pytest.approx(np.mean(np.abs(errors)), abs=1e-3)
    assert summary["readings_from"] < summary["readings_to"]
    assert result.parameters["variogram_model"] == "spherical"
    assert len(result.parameters["variogram_parameters"]) == 3


def test_idw_run_has_no_variance_and_stays_in_the_observed_range(city: CityStore) -> None:
    result = run(city, five_stations(), method="idw", power=3, bounds=(X0, Y0, X0 + 400, Y0 + 400))
    assert [r.name for r in result.rasters] == ["field"]
    assert result.summary["max_value"] <= 50 and result.summary["min_value"] >= 10
    assert result.parameters["power"] == 3 and result.parameters["bounds"][2] == X0 + 400


def test_old_and_unplaced_readings_are_left_out_and_said(city: CityStore) -> None:
    readings = [*five_stations(), reading(6, 100, 100, 900.0, time_us=T0 - 2 * HOUR_US),
                reading(7, 0, 0, 900.0, x=None, y=None)]  # fmt: skip
    result = run(city, readings, method="idw", max_age_minutes=60)
    assert result.summary["stations"] == 5 and result.summary["max_value"] <= 50
    assert result.parameters["left_out"] == {
        "unplaced": ["station 7"], "indoor": [], "too_old": ["station 6"]
    }  # fmt: skip


def test_indoor_sensors_are_left_out_unless_asked(city: CityStore) -> None:
    with city.transaction() as writer:
        writer.add_object(CityObject(id="storey-1", cls="IfcBuildingStorey", source="bim",
                                     building_id="bim-building"))  # fmt: skip
        writer.record_source("bim", "", "", "synthetic", {"objects": 1})
    readings = [*five_stations(), reading(6, 100, 100, 3.0, object_id="storey-1")]
    outdoor = run(city, readings, method="idw")
    assert outdoor.summary["stations"] == 5 and outdoor.summary["min_value"] >= 10
    assert outdoor.parameters["left_out"]["indoor"] == ["station 6"]
    both = run(city, readings, method="idw", include_indoor=True)
    assert both.summary["stations"] == 6 and both.summary["min_value"] == pytest.approx(
        3.0, abs=0.5
    )


def test_duplicate_positions_are_merged_and_reported(city: CityStore) -> None:
    readings = [*five_stations(), reading(6, 0.2, 0.1, 14.0)]
    result = run(city, readings, method="idw")
    assert result.summary["stations"] == 5
    assert result.parameters["merged_stations"] == [["station 1 #1", "station 6 #6"]]
    assert result.vectors[0].features[0].properties["value"] == 12.0


def test_bad_inputs_raise_model_errors_naming_the_problem(city: CityStore) -> None:
    with pytest.raises(NoReadingsError, match="no placed sensor reports 'NO2'"):
        run(city, five_stations(), observed_property="NO2")
    with pytest.raises(ModelError, match="at least 3 stations"):
        run(city, five_stations()[:2], method="kriging")
    with pytest.raises(ModelError, match="do not vary"):
        run(city, [replace(r, value=7.0) for r in five_stations()], method="kriging")
    with pytest.raises(ModelError, match="different units"):
        run(city, [*five_stations(), reading(8, 9, 9, 3.0, unit="mg/m³")])
    spec = model("pollution")
    with pytest.raises(NoReadingsError, match="no operational database"):
        spec.run(ModelInputs(city, city.path.parent, Scope.everything(), None),
                 PollutionParameters(), lambda _p, _m: None)  # fmt: skip


def test_parameters_are_bounded_and_closed() -> None:
    for bad in ({"method": "spline"}, {"power": 0}, {"resolution_m": 0}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            PollutionParameters.model_validate(bad)
    schema = PollutionParameters.model_json_schema()
    assert all(field.get("description") for field in schema["properties"].values())
