"""Realistic sensor series for the demo, as functions of time: daily and weekly cycles, noise
and scripted events, for each kind of sensor the demo shows.

A series is fixed by its :class:`SeriesSpec`, a seed and an anchor (the time the replay
started): :func:`generate` gives its values at any times, so a day of history and each
live step of a replay are the same series, and a test drives the clock by choosing the
times. Cycles follow the local time (``utc_offset_h``; Guangzhou: 8).

Kinds: water level (a tide, or none, and rain events that raise it), PM2.5 (the
:class:`~simulation.sensors.profile.ProfileModel` fitted to a real record, times an
indoor ratio, and pollution episodes), structural strain (slow drift, a thermal cycle,
traffic with heavy-vehicle spikes), occupancy and power (a usage pattern: office,
school, library, residential), temperature (a storey's air: cooled in use, drifting
towards the outdoor cycle out of it). Events are in :class:`Event` (seconds from the
anchor; negative: in the backfilled past; ``every_s``: repeats).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simulation.sensors.errors import SensorInputError
from simulation.sensors.noise import Floats, SmoothNoise, uniform, white
from simulation.sensors.profile import ProfileModel

US = 1_000_000
HOUR_S = 3600.0
DAY_S = 86_400.0
# Guangzhou: China Standard Time.
DEFAULT_UTC_OFFSET_H = 8.0
# Tidal constituents of the Pearl River's estuary: principal lunar (M2), lunisolar (K1).
M2_PERIOD_S = 12.4206 * HOUR_S
K1_PERIOD_S = 23.9345 * HOUR_S


@dataclass(frozen=True)
class Kind:
    """What a kind of sensor observes, as SensorThings names it, and its unit."""

    name: str
    observed_property: str
    definition: str
    description: str
    unit_name: str
    unit_symbol: str
    unit_definition: str
    decimals: int

    @property
    def unit(self) -> dict[str, str]:
        """The ``unitOfMeasurement`` of a datastream of this kind."""
        return {"name": self.unit_name, "symbol": self.unit_symbol,
                "definition": self.unit_definition}  # fmt: skip


_UCUM = "http://unitsofmeasure.org/ucum.html#para-"
_QUDT = "http://qudt.org/vocab/quantitykind/"
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("water_level", "Water level", _QUDT + "Height",
             "Height of the water surface above the gauge's datum", "metre", "m",
             _UCUM + "30", 3),
        Kind("pm25", "PM2.5", "http://vocab.nerc.ac.uk/collection/P01/current/MCPM2501/",
             "Mass concentration of particles of 2.5 µm and smaller in air",
             "microgram per cubic metre", "µg/m³", _UCUM + "30", 1),
        Kind("strain", "Structural strain", _QUDT + "Strain",
             "Longitudinal strain of a structural member", "microstrain", "µε",
             _UCUM + "29", 1),
        Kind("occupancy", "Occupancy", "https://w3id.org/brick#Occupancy_Count",
             "Number of people present", "person", "{persons}", _UCUM + "29", 0),
        Kind("power", "Electric power", _QUDT + "ActivePower",
             "Active electric power drawn", "kilowatt", "kW", _UCUM + "30", 1),
        Kind("temperature", "Air temperature", _QUDT + "Temperature",
             "Temperature of the air", "degree Celsius", "°C", _UCUM + "30", 1),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Event:
    """A scripted event: from ``at_s`` seconds after the anchor it rises towards
    ``magnitude`` (time constant ``rise_s``), holds for ``duration_s``, then recedes (time
    constant ``fall_s``); again every ``every_s`` seconds when given. ``additive``: added to a
    PM2.5 value instead of multiplying it (an episode reaching a level whatever the day's)."""

    at_s: float
    magnitude: float
    rise_s: float = 60.0
    duration_s: float = 300.0
    fall_s: float = 120.0
    every_s: float | None = None
    additive: bool = False

    def pulse(self, seconds: Floats) -> Floats:
        """The event's share of its magnitude (0 to 1) at ``seconds`` after the anchor."""
        since = seconds - self.at_s
        if self.every_s is not None:
            since = np.where(since >= 0, since % self.every_s, since)
        rising = 1.0 - np.exp(-np.clip(since, 0.0, self.duration_s) / self.rise_s)
        held = 1.0 - np.exp(-self.duration_s / self.rise_s)
        fading = held * np.exp(-np.maximum(since - self.duration_s, 0.0) / self.fall_s)
        return np.where(since < 0, 0.0, np.where(since <= self.duration_s, rising, fading))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """An event from JSON (``at_s``, ``magnitude`` and the optional times)."""
        try:
            every = data.get("every_s")
            return cls(
                float(data["at_s"]),
                float(data["magnitude"]),
                float(data.get("rise_s", 60.0)),
                float(data.get("duration_s", 300.0)),
                float(data.get("fall_s", 120.0)),
                None if every is None else float(every),
                bool(data.get("additive", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SensorInputError(f"not an event: {error!r}") from error


@dataclass(frozen=True)
class SeriesSpec:
    """One series: its kind, a stable key (seeds its noise), its parameters, its events.

    Parameters per kind (defaults in :data:`DEFAULTS`): ``water_level``: ``base``,
    ``tide``, ``noise``; ``pm25``: ``ratio`` (indoor/outdoor) and ``profile`` (a fitted
    model, required); ``strain``: ``base``, ``drift_per_day``, ``thermal``, ``spike``;
    ``occupancy``: ``capacity`` and ``pattern``; ``power``: ``base``, ``peak`` and
    ``pattern``; ``temperature``: ``setpoint`` and ``pattern``. Events add to the value,
    or multiply it (PM2.5, unless additive: a magnitude of 1 doubles it at the peak).
    """

    kind: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    profile: ProfileModel | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SensorInputError(f"no sensor kind {self.kind!r}: use {', '.join(KINDS)}")
        if self.kind == "pm25" and self.profile is None:
            raise SensorInputError(f"PM2.5 series {self.key!r} needs a fitted profile")
        pattern = self.params.get("pattern")
        if pattern is not None and pattern not in PATTERNS:
            raise SensorInputError(f"no usage pattern {pattern!r}: use {', '.join(PATTERNS)}")

    def param(self, name: str) -> Any:
        """A parameter, or its default for the kind."""
        return self.params.get(name, DEFAULTS[self.kind].get(name))

    @property
    def stream_key(self) -> int:
        """A 32-bit number of the key, mixed into the seed."""
        return zlib.crc32(self.key.encode())


DEFAULTS: dict[str, dict[str, Any]] = {
    "water_level": {"base": 1.0, "tide": 0.0, "noise": 0.01},
    "pm25": {"ratio": 1.0},
    "strain": {"base": 120.0, "drift_per_day": 1.5, "thermal": 12.0, "spike": 60.0},
    "occupancy": {"capacity": 100.0, "pattern": "office"},
    "power": {"base": 40.0, "peak": 200.0, "pattern": "office"},
    "temperature": {"setpoint": 24.5, "pattern": "office"},
}


def generate(
    spec: SeriesSpec,
    times_us: NDArray[np.int64],
    *,
    seed: int,
    anchor_us: int,
    utc_offset_h: float = DEFAULT_UTC_OFFSET_H,
) -> Floats:
    """The values of ``spec`` at ``times_us``, rounded to the kind's decimals: the same
    seed, anchor and times give the same values."""
    times = np.asarray(times_us, dtype=np.int64)
    clock = _Clock(times, anchor_us, utc_offset_h, seed ^ spec.stream_key)
    values = _GENERATORS[spec.kind](spec, clock)
    scaling = [e for e in spec.events if spec.kind == "pm25" and not e.additive]
    adding = [e for e in spec.events if e not in scaling]
    scale, add = (sum((e.magnitude * e.pulse(clock.since_anchor) for e in events),
                      np.zeros(len(times))) for events in (scaling, adding))  # fmt: skip
    values = values * (1.0 + scale) + add
    if spec.kind in ("occupancy", "power", "pm25"):
        values = np.maximum(values, 0.0)
    return np.round(values, KINDS[spec.kind].decimals)


@dataclass(frozen=True)
class _Clock:
    """The times of one call, in the forms the generators need."""

    times_us: NDArray[np.int64]
    anchor_us: int
    utc_offset_h: float
    seed: int

    @property
    def seconds(self) -> Floats:
        return np.asarray(self.times_us / US, dtype=np.float64)

    @property
    def since_anchor(self) -> Floats:
        return np.asarray((self.times_us - self.anchor_us) / US, dtype=np.float64)

    @property
    def local_hour(self) -> Floats:
        return np.asarray((self.seconds / HOUR_S + self.utc_offset_h) % 24.0, dtype=np.float64)

    @property
    def weekday(self) -> NDArray[np.int64]:
        """0 Monday ... 6 Sunday (1970-01-01 was a Thursday)."""
        days = np.floor((self.seconds / HOUR_S + self.utc_offset_h) / 24.0).astype(np.int64)
        return np.asarray((days + 3) % 7, dtype=np.int64)

    def white(self, key: int) -> Floats:
        """Measurement noise: independent per second of time."""
        return white(self.seed, key, self.times_us // US)

    def smooth(self, key: int, timescale_s: float) -> Floats:
        """Slow noise of correlation time ``timescale_s``."""
        return SmoothNoise(self.seed * 31 + key, timescale_s)(self.seconds)


def _ramp(hours: Floats, start: float, end: float) -> Floats:
    """0 before ``start``, 1 after ``end``, a smooth step between."""
    x = np.clip((hours - start) / (end - start), 0.0, 1.0)
    return np.asarray(x * x * (3 - 2 * x), dtype=np.float64)


def _window(hours: Floats, opens: float, closes: float, ease: float = 1.0) -> Floats:
    """1 between ``opens`` and ``closes`` (local hours), easing in and out over ``ease``."""
    return _ramp(hours, opens - ease, opens) * (1.0 - _ramp(hours, closes, closes + ease))


def _office(h: Floats, weekday: NDArray[np.int64]) -> Floats:
    lunch = 1.0 - 0.25 * _window(h, 12.0, 13.5, 0.5)
    return np.where(weekday < 5, 0.92 * _window(h, 9.0, 17.5, 1.5) * lunch + 0.03, 0.05)


def _school(h: Floats, weekday: NDArray[np.int64]) -> Floats:
    return np.where(weekday < 5, 0.95 * _window(h, 8.0, 16.0, 0.75), 0.0)


def _library(h: Floats, weekday: NDArray[np.int64]) -> Floats:
    busy = np.where(weekday < 5, 0.55, 0.8)
    return busy * _window(h, 9.5, 20.5, 0.75) * (0.8 + 0.2 * _window(h, 14.0, 18.0, 1.5))


def _residential(h: Floats, weekday: NDArray[np.int64]) -> Floats:
    away = np.where(weekday < 5, 0.55, 0.3) * _window(h, 8.5, 17.5, 1.0)
    return 0.92 - away


PATTERNS: dict[str, Callable[[Floats, NDArray[np.int64]], Floats]] = {
    "office": _office,
    "school": _school,
    "library": _library,
    "residential": _residential,
}


def presence(pattern: str, local_hour: Floats, weekday: NDArray[np.int64]) -> Floats:
    """The share (0 to 1) of a building's users present at a local hour and weekday."""
    return PATTERNS[pattern](local_hour, weekday)


def outdoor_temperature(local_hour: Floats) -> Floats:
    """A warm-season day in Guangzhou: 27 °C, 4 °C either way, warmest at 14:30."""
    return 27.0 + 4.0 * np.cos(2.0 * np.pi * (local_hour - 14.5) / 24.0)


def _water_level(spec: SeriesSpec, clock: _Clock) -> Floats:
    seconds = clock.seconds
    tide = spec.param("tide") * (
        np.cos(2 * np.pi * seconds / M2_PERIOD_S) + 0.3 * np.cos(2 * np.pi * seconds / K1_PERIOD_S)
    )
    wobble = spec.param("noise") * (clock.smooth(1, 1800.0) + 0.5 * clock.white(2))
    return np.asarray(spec.param("base") + tide + wobble, dtype=np.float64)


def _pm25(spec: SeriesSpec, clock: _Clock) -> Floats:
    assert spec.profile is not None
    outdoor = spec.profile.values(clock.times_us, clock.seed, clock.utc_offset_h)
    return np.asarray(spec.param("ratio") * outdoor * (1.0 + 0.02 * clock.white(1)))


def _traffic(local_hour: Floats) -> Floats:
    """Traffic volume (0 to 1): morning and evening peaks over a day's base."""
    peaks = np.exp(-(((local_hour - 8.5) / 1.3) ** 2)) + np.exp(-(((local_hour - 18.0) / 1.6) ** 2))
    return np.asarray(0.1 + 0.6 * _window(local_hour, 7.0, 22.0, 1.0) + 0.3 * peaks)


def _strain(spec: SeriesSpec, clock: _Clock) -> Floats:
    days = clock.since_anchor / DAY_S
    thermal = spec.param("thermal") * np.cos(2 * np.pi * (clock.local_hour - 15.0) / 24.0)
    volume = _traffic(clock.local_hour)
    passing = uniform(clock.seed, 3, clock.times_us // US) < 0.35 * volume
    loads = spec.param("spike") * uniform(clock.seed, 4, clock.times_us // US)
    traffic = 25.0 * volume + np.where(passing, loads, 0.0)
    drift = spec.param("drift_per_day") * days
    return np.asarray(spec.param("base") + drift + thermal + traffic + 1.5 * clock.white(5))


def _occupancy(spec: SeriesSpec, clock: _Clock) -> Floats:
    share = presence(spec.param("pattern"), clock.local_hour, clock.weekday)
    busy = 1.0 + 0.08 * clock.smooth(1, 1800.0) + 0.02 * clock.white(2)
    return np.asarray(np.floor(spec.param("capacity") * share * busy + 0.5))


def _power(spec: SeriesSpec, clock: _Clock) -> Floats:
    share = presence(spec.param("pattern"), clock.local_hour, clock.weekday)
    cooling = np.clip((outdoor_temperature(clock.local_hour) - 22.0) / 10.0, 0.0, 1.0)
    demand = 0.65 * share + 0.35 * cooling * np.maximum(share, 0.3)
    swing = 1.0 + 0.04 * clock.smooth(1, 3600.0) + 0.01 * clock.white(2)
    return np.asarray((spec.param("base") + (spec.param("peak") - spec.param("base")) * demand)
                      * swing)  # fmt: skip


def _temperature(spec: SeriesSpec, clock: _Clock) -> Floats:
    cooled = _ramp(presence(spec.param("pattern"), clock.local_hour, clock.weekday), 0.2, 0.5)
    idle = 27.0 + 0.35 * (outdoor_temperature(clock.local_hour) - 27.0)
    air = cooled * spec.param("setpoint") + (1.0 - cooled) * idle
    return np.asarray(air + 0.3 * clock.smooth(1, 2400.0) + 0.05 * clock.white(2))


_GENERATORS: dict[str, Callable[[SeriesSpec, _Clock], Floats]] = {
    "water_level": _water_level,
    "pm25": _pm25,
    "strain": _strain,
    "occupancy": _occupancy,
    "power": _power,
    "temperature": _temperature,
}


def sample_times(start_us: int, end_us: int, step_s: float) -> NDArray[np.int64]:
    """The times from ``start_us`` to ``end_us`` (inclusive) on a grid of ``step_s`` seconds
    aligned to the epoch (so two runs over the same span give the same times)."""
    step = int(step_s * US)
    first = -(-start_us // step) * step
    return np.arange(first, end_us + 1, step, dtype=np.int64)
