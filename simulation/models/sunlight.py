"""The sunlight (日照) model: GB 50180 hours of sun at the window sills of homes.

Hours of direct sun on the Major Cold day (8:00-16:00 true solar time) or the Winter
Solstice (9:00-15:00) at 0.9 m above the floor, on every face of every residential
building that could meet the rule unobstructed, behind every building of the city (LOD1
prisms), with and without the proposed buildings: which homes pass, fail, or fail because
of the proposal. Also the shadows at a given time and the hours on the ground.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cim.crs import to_lonlat
from cim.results import Chart, Progress, SimulationResult
from simulation.models.spec import ModelInputs, ModelSpec
from simulation.models.sun_hours import prism_edges
from simulation.models.sun_layers import (
    building_values,
    facade_chart,
    failing_homes_layer,
    ground_layer,
    shadows_layer,
    sill_points_layer,
)
from simulation.models.sun_obstacles import (
    Building,
    SunlightInputError,
    city_buildings,
    grid_north_bearing,
    proposed_footprint,
)
from simulation.models.sun_position import BEIJING, WINDOW_HOURS, rule_sun_path
from simulation.models.sun_rule import (
    FAIL,
    FAILS_DUE_TO_PROPOSED,
    Assessment,
    RuleSettings,
    assess,
)
from simulation.models.sun_sills import Home

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SunlightParameters(BaseModel):
    """The settings of a sunlight run."""

    model_config = ConfigDict(extra="forbid")

    day: Literal["major_cold", "winter_solstice"] = Field(
        "major_cold",
        description="The day of the rule: the Major Cold day (大寒日, 8:00-16:00 true solar"
        " time) or the Winter Solstice (冬至日, 9:00-15:00).",
    )
    year: int | None = Field(
        None, ge=1950, le=2100, description="The year of that day (default: this year)."
    )
    required_hours: float = Field(
        2.0,
        ge=0.5,
        le=8.0,
        description="Hours of sun a home needs (GB 50180: 2 or 3 by climate zone and city size).",
    )
    step_minutes: float = Field(
        1.0, ge=0.1, le=1.0, description="Time step of the sun's path, minutes (at most 1)."
    )
    min_spell_minutes: float = Field(
        0.0,
        ge=0.0,
        le=60.0,
        description="Shortest continuous spell of sun that counts, minutes (0: every minute).",
    )
    sill_height: float = Field(
        0.9, ge=0.0, le=3.0, description="Height of the window sill above each floor, metres."
    )
    point_spacing: float = Field(
        1.0, ge=0.2, le=10.0, description="Distance between sill points along a face, metres."
    )
    all_floors: bool = Field(
        False, description="Check every floor, not only the ground floor the rule names."
    )
    proposed_footprint: dict[str, Any] | None = Field(
        None, description="A proposed building's footprint: a GeoJSON Polygon in lon/lat."
    )
    proposed_height: float | None = Field(
        None, gt=0.0, le=1000.0, description="The proposed footprint's height, metres."
    )
    shadow_time: str = Field(
        "12:00", description="Beijing time (HH:MM) on the rule's day of the shadow polygons."
    )
    ground_resolution: float = Field(
        10.0, ge=1.0, le=100.0, description="Cell size of the ground sun-hours raster, metres."
    )
    ground_margin: float = Field(
        30.0, ge=0.0, le=500.0, description="Margin of that raster around the homes, metres."
    )

    @field_validator("shadow_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("expected a time HH:MM, e.g. 10:30")
        return value

    @model_validator(mode="after")
    def _proposal(self) -> SunlightParameters:
        if (self.proposed_footprint is None) != (self.proposed_height is None):
            raise ValueError("proposed_footprint and proposed_height go together")
        return self


#: The ground raster is coarsened until it has at most this many cells.
MAX_GROUND_CELLS = 40_000


def run(inputs: ModelInputs, params: SunlightParameters, progress: Progress) -> SimulationResult:
    """Read the buildings, compute the hours with and without the proposal, build layers."""
    store, crs = inputs.store, inputs.store.crs
    progress(2, "reading buildings")
    buildings = city_buildings(store, inputs.scope)
    if params.proposed_footprint is not None and params.proposed_height is not None:
        buildings.append(
            proposed_footprint(params.proposed_footprint, params.proposed_height, crs, buildings)
        )
    homes_of = [b for b in buildings if b.residential and not b.proposed]
    if not homes_of:
        raise SunlightInputError(
            "no residential building with a footprint and heights in scope: the sunlight rule"
            " checks homes (buildings whose use is residential)"
        )
    homes, owners = _homes(homes_of)
    existing = prism_edges(*_prisms([b for b in buildings if not b.proposed]))
    proposed = prism_edges(*_prisms([b for b in buildings if b.proposed]))
    x0, y0, x1, y1 = _bounds(homes_of)
    lon, lat = to_lonlat((x0 + x1) / 2, (y0 + y1) / 2, crs)
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise SunlightInputError(f"the homes lie outside the area of the city's CRS {crs}")
    year = params.year or dt.datetime.now(dt.UTC).year
    date, window, path = rule_sun_path(params.day, year, lat, lon, params.step_minutes)
    north = grid_north_bearing(crs, lon, lat)
    grid_path = replace(path, azimuth=path.azimuth + north)
    settings = RuleSettings(
        required_hours=params.required_hours,
        min_spell_minutes=params.min_spell_minutes,
        sill_height=params.sill_height,
        spacing=params.point_spacing,
        all_floors=params.all_floors,
    )
    progress(10, f"sun hours at the sill points of {len(homes_of)} homes")
    assessment = assess(
        homes,
        existing,
        proposed,
        grid_path,
        settings,
        lambda share: progress(10 + int(60 * share), "sun hours at the sill points"),
    )
    verdicts = assessment.verdicts(owners, len(homes_of))
    progress(70, "hours on the ground")
    ground, resolution = ground_layer(
        buildings, existing, proposed, grid_path, params, (x0, y0, x1, y1), crs, MAX_GROUND_CELLS
    )
    progress(90, "shadows and layers")
    shadow_at = _shadow_instant(date, params.shadow_time)
    shadows = shadows_layer(buildings, shadow_at, lat, lon, north, crs)
    values = building_values(homes_of, assessment, owners, verdicts)
    used = params.model_dump()
    used.update(year=year, ground_resolution=resolution, grid_north_bearing=round(north, 4))
    summary = {
        "date": date.isoformat(),
        "window_true_solar": "{}-{}".format(*(_clock(h) for h in WINDOW_HOURS[params.day])),
        "window_utc": [window[0].isoformat(), window[1].isoformat()],
        "latitude": round(lat, 6),
        "longitude": round(lon, 6),
        **_counts(assessment, verdicts),
        "proposed_buildings": sum(b.proposed for b in buildings),
        "obstacles": len(buildings),
        "steps": path.size,
        "required_hours": params.required_hours,
        "shadow_time": shadow_at.isoformat(),
    }
    charts: list[Chart] = [
        facade_chart(homes_of, assessment, owners, verdicts, bool(proposed.size))
    ]
    return SimulationResult(
        model="sunlight",
        parameters=used,
        summary=summary,
        rasters=[ground],
        vectors=[
            sill_points_layer(homes_of, assessment, owners, crs),
            shadows,
            failing_homes_layer(homes_of, verdicts, values, crs),
        ],
        values=values,
        charts=charts,
    )


def _counts(assessment: Assessment, verdicts: list[str | None]) -> dict[str, int]:
    """The homes and sill points checked, failing, and failing because of the proposal."""
    checked = assessment.checked[assessment.points.face]
    required = assessment.required_hours - 1e-9
    failing = checked & ~(assessment.hours >= required)
    due = sum(v == FAILS_DUE_TO_PROPOSED for v in verdicts)
    return {
        "homes_checked": sum(v is not None for v in verdicts),
        "failing_homes": sum(v == FAIL for v in verdicts) + due,
        "failing_due_to_proposed": due,
        "failing_without_proposed": sum(v == FAIL for v in verdicts),
        "sill_points": int(checked.sum()),
        "failing_points": int(failing.sum()),
        "points_failing_due_to_proposed": int(
            (failing & (assessment.hours_without >= required)).sum()
        ),
    }


def _homes(buildings: list[Building]) -> tuple[list[Home], list[int]]:
    """One home per footprint part, and the building index of each."""
    homes: list[Home] = []
    owners: list[int] = []
    for index, building in enumerate(buildings):
        for part in building.parts:
            homes.append(Home(part, building.base, building.floors, building.storey_height))
            owners.append(index)
    return homes, owners


def _prisms(buildings: list[Building]) -> tuple[list[Any], list[float]]:
    prisms = [prism for b in buildings for prism in b.prisms]
    return [footprint for footprint, _ in prisms], [top for _, top in prisms]


def _bounds(buildings: list[Building]) -> tuple[float, float, float, float]:
    boxes = np.array([part.bounds for b in buildings for part in b.parts])
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    )


def _shadow_instant(date: dt.date, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=BEIJING)


def _clock(hours: float) -> str:
    return f"{int(hours):02d}:{round((hours % 1) * 60):02d}"


MODEL = ModelSpec(
    name="sunlight",
    title_en="Sunlight (GB 50180)",
    title_zh="日照分析",
    description=(
        "Hours of direct sun at the window sills of homes on the Major Cold day or the Winter"
        " Solstice (true solar time), pass/fail against the required hours, the homes a"
        " proposed building makes fail, shadows at a given time and hours on the ground."
    ),
    parameters_type=SunlightParameters,
    run=run,
)
