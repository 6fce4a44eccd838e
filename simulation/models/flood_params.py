"""The flood model's parameters: a water level, a live gauge or a rain volume, and a source."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: How many levels the "area by level" chart draws.
CHART_LEVELS_MAX = 100


class FloodParameters(BaseModel):
    """What a flood run floods: give exactly one of ``water_level``, ``datastream_id`` and
    ``rain_volume_m3``."""

    model_config = ConfigDict(extra="forbid")

    water_level: float | None = Field(
        default=None,
        ge=-500.0,
        le=9000.0,
        description="Water level in metres, in the city's heights (those of the DEM).",
    )
    datastream_id: int | None = Field(
        default=None,
        ge=1,
        description=(
            "A water-level datastream whose latest value (plus gauge_datum_m) is the level;"
            " the water enters at its sensor unless a source is given."
        ),
    )
    gauge_datum_m: float = Field(
        default=0.0,
        ge=-500.0,
        le=9000.0,
        description="Height of the gauge's zero, added to a live reading (m, city heights).",
    )
    rain_volume_m3: float | None = Field(
        default=None,
        gt=0.0,
        le=1e12,
        description="A volume of water (m³): the level is found so that the water stored matches.",
    )
    source: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        default=None,
        description=(
            "Where the water enters, [longitude, latitude] in degrees; omitted: the lowest"
            " cell on the DEM's edge (or the gauge's location)."
        ),
    )
    source_object: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A city object (a river or lake polygon) whose area the water enters from.",
    )
    chart_levels: int = Field(
        default=20,
        ge=2,
        le=CHART_LEVELS_MAX,
        description="How many levels the flooded area and volume chart draws, up to the level.",
    )

    @model_validator(mode="after")
    def _one_level(self) -> FloodParameters:
        given = [
            name
            for name in ("water_level", "datastream_id", "rain_volume_m3")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            said = ", ".join(given) if given else "none"
            raise ValueError(
                f"give exactly one of water_level, datastream_id and rain_volume_m3 (given: {said})"
            )
        if self.source is not None and self.source_object is not None:
            raise ValueError("give source or source_object, not both")
        if self.source is not None:
            lon, lat = self.source
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise ValueError(f"source {self.source}: not a [longitude, latitude] in degrees")
        return self
