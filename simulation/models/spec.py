"""What every simulation model declares: its name, its parameters and its run function.

A model module defines ``MODEL = ModelSpec(...)``; :mod:`simulation.models` lists them.
Parameters are a pydantic model, so one class validates a request, documents each field
(its ``description``) and gives the JSON schema the viewer builds its form from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from cim.results import Progress, SimulationResult
from cim.scope import Scope
from cim.store import CityStore


@dataclass(frozen=True)
class Reading:
    """The latest value of one datastream, placed in the city CRS."""

    datastream_id: int
    name: str
    observed_property: str
    unit: str | None
    value: float
    time_us: int  # microseconds since the epoch
    x: float | None  # city CRS; None when the sensor has no location
    y: float | None
    object_id: str | None  # the city object the sensor's Thing sits in


class LiveReadings(Protocol):
    """The sensors' latest values, as a model may read them."""

    def latest(self, datastream_id: int) -> Reading | None:
        """The latest numeric value of one datastream (None: unknown, none, not numeric)."""
        ...

    def of_property(self, observed_property: str) -> list[Reading]:
        """The latest numeric values of every datastream observing a property (its name or
        definition), in scope."""
        ...


@dataclass(frozen=True)
class ModelInputs:
    """What a run sees: the city (read only), the submitter's scope, the live state."""

    store: CityStore
    city_dir: Path
    scope: Scope
    live: LiveReadings | None = None  # None: no operational database


RunFunction = Callable[[ModelInputs, Any, Progress], SimulationResult]


@dataclass(frozen=True)
class ModelSpec:
    """One model: ``run(inputs, parameters, progress)`` with ``parameters`` an instance
    of ``parameters_type``."""

    name: str  # "flood", "sunlight", "zoning", "pollution"
    title_en: str
    title_zh: str
    description: str
    parameters_type: type[BaseModel]
    run: RunFunction


def models_dir() -> Path:
    """The folder of the model modules."""
    return Path(__file__).parent
