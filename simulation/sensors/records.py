"""Typed records the sensing functions take and give (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The state of a datastream's latest value: within limits, past the warning or the alarm
# threshold, too old (no value for longer than the datastream's ``staleAfter``), or no
# value at all.
Level = Literal["normal", "warning", "alarm", "stale", "unknown"]
LEVELS: tuple[Level, ...] = ("unknown", "normal", "stale", "warning", "alarm")  # worst last


@dataclass(frozen=True)
class ObservationIn:
    """One observation to store, already parsed (times in microseconds since the epoch)."""

    datastream_id: int
    phenomenon_us: int
    result: Any
    phenomenon_end_us: int | None = None
    result_us: int | None = None
    valid_start_us: int | None = None
    valid_end_us: int | None = None
    result_quality: Any = None
    parameters: dict[str, Any] | None = None
    feature_id: int | None = None


@dataclass(frozen=True)
class Rejected:
    """An input row that was not stored: its position in the batch and why."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class StoredObservation:
    """An observation as stored, with what events and MQTT topics need."""

    id: int
    datastream_id: int
    thing_id: int
    jurisdiction: str
    phenomenon_us: int
    phenomenon_end_us: int | None
    result_us: int | None
    result: Any
    feature_id: int | None
    valid_start_us: int | None = None
    valid_end_us: int | None = None
    result_quality: Any = None
    parameters: dict[str, Any] | None = None


@dataclass(frozen=True)
class IngestResult:
    """What a batch did.

    ``ids`` has one entry per input row: the stored id (the earlier one when the same
    datastream and phenomenon time was already stored), or None when the row was rejected.
    ``created`` holds the rows stored by this batch, in input order.
    """

    ids: list[int | None]
    rejected: list[Rejected]
    created: list[StoredObservation]


@dataclass(frozen=True)
class DatastreamState:
    """The latest value of a datastream, where it is, and how it stands."""

    datastream_id: int
    name: str
    thing_id: int
    thing_name: str
    observed_property: str
    unit_symbol: str | None
    city_object: str | None
    jurisdiction: str
    lon: float | None
    lat: float | None
    height: float | None
    phenomenon_us: int | None
    result: Any
    level: Level


@dataclass(frozen=True)
class Point:
    """One raw value of a series."""

    phenomenon_us: int
    result: Any


@dataclass(frozen=True)
class Bucket:
    """The values of one interval of a downsampled series."""

    start_us: int
    min: float
    max: float
    mean: float
    count: int
