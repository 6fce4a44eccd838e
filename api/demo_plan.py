"""The demo's sensor plan, ``data/demo/sensors.json``, as typed records: which devices sit in
which named city object, their datastreams, thresholds and series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cim.data import DataFileError, read_json
from simulation.sensors.errors import SensorInputError
from simulation.sensors.profile import ProfileModel
from simulation.sensors.replay import Event, SeriesSpec

SENSORS_FILE = "demo/sensors.json"
# Where a thing sits: a building by name, one of its storeys or a space of that storey
# by name, or any object by id (a street: ``streets:5``).
PLACES = ("object", "building", "storey", "space")


@dataclass(frozen=True)
class PlannedDatastream:
    """A datastream of the plan: its name, thresholds and series; ``silent_after_s``: the
    replay stops sending its values that long after it started (None: never);
    ``gauge_datum``: the height of a water gauge's zero in the city's heights (None: not a
    gauge), which a flood run adds to its readings."""

    name: str
    thresholds: dict[str, float]
    series: SeriesSpec
    silent_after_s: float | None = None
    gauge_datum: float | None = None


@dataclass(frozen=True)
class PlannedThing:
    """A device of the plan and where it sits (``at``: see :data:`PLACES`)."""

    name: str
    at: dict[str, str]
    datastreams: tuple[PlannedDatastream, ...]

    @property
    def level(self) -> str:
        """``building``, ``storey``, ``space`` or ``street`` (an object given by id)."""
        for level in ("space", "storey", "building"):
            if level in self.at:
                return level
        return "street"


@dataclass(frozen=True)
class SensorPlan:
    """The whole plan (see the data file's description)."""

    seed: int
    utc_offset_h: float
    backfill_hours: float
    backfill_step_s: float
    replay_step_s: float
    stale_after_s: float
    things: tuple[PlannedThing, ...]

    def datastreams(self) -> dict[str, PlannedDatastream]:
        """Every planned datastream by name."""
        return {d.name: d for thing in self.things for d in thing.datastreams}


def sensor_plan() -> SensorPlan:
    """The plan ``data/demo/sensors.json`` defines."""
    document = read_json(SENSORS_FILE)
    try:
        profiles = {
            name: ProfileModel.from_dict(body) for name, body in document["profiles"].items()
        }
        things = tuple(_thing(entry, profiles) for entry in document["things"])
        return SensorPlan(
            int(document["seed"]),
            float(document["utc_offset_h"]),
            float(document["backfill_hours"]),
            float(document["backfill_step_s"]),
            float(document["replay_step_s"]),
            float(document["stale_after_s"]),
            things,
        )
    except (KeyError, TypeError, ValueError, SensorInputError) as error:
        raise DataFileError(f"{SENSORS_FILE}: malformed ({error!r})") from error


def _thing(entry: dict[str, Any], profiles: dict[str, ProfileModel]) -> PlannedThing:
    at = {str(key): str(value) for key, value in entry["at"].items()}
    if not at or any(key not in PLACES for key in at):
        raise ValueError(f"thing {entry['name']!r}: 'at' takes {', '.join(PLACES)}")
    streams = tuple(
        PlannedDatastream(
            str(stream["name"]),
            {str(k): float(v) for k, v in stream["thresholds"].items()},
            SeriesSpec(
                str(stream["kind"]),
                str(stream["name"]),
                dict(stream.get("params", {})),
                tuple(Event.from_dict(e) for e in stream.get("events", [])),
                profiles[stream["profile"]] if "profile" in stream else None,
            ),
            None if stream.get("silent_after_s") is None else float(stream["silent_after_s"]),
            None if stream.get("gauge_datum") is None else float(stream["gauge_datum"]),
        )
        for stream in entry["datastreams"]
    )
    return PlannedThing(str(entry["name"]), at, streams)
