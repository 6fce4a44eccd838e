"""Long-format air-quality records (OpenAQ's export, as pandas' examples ship them):
``city,country,date.utc,location,parameter,value,unit``, one row per station, time and
parameter, read into one series per station."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulation.sensors.errors import SensorInputError
from simulation.sensors.noise import Floats
from simulation.sensors.times import parse_time

COLUMNS = ("date.utc", "location", "parameter", "value", "unit")


@dataclass(frozen=True)
class StationSeries:
    """The values of one parameter at one station, in time order (times in microseconds)."""

    station: str
    parameter: str
    unit: str
    times_us: np.ndarray
    values: Floats

    def __len__(self) -> int:
        return len(self.times_us)


def read_long_csv(path: Path, parameter: str = "pm25") -> list[StationSeries]:
    """The series of ``parameter`` in a long-format CSV file, one per station (by name).

    Raises
    ------
    SensorInputError
        The file is missing a column, a row has a bad time or value, or it holds no row of
        ``parameter``: the message names the line.
    """
    rows: dict[str, list[tuple[int, float]]] = {}
    units: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = _from_header(handle)
            reader = csv.DictReader(lines)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SensorInputError(f"{path.name}: no column {', '.join(missing)}")
            for row in reader:
                line = lines.number
                if row["parameter"] != parameter:
                    continue
                station = row["location"]
                try:
                    value = float(row["value"])
                    when = parse_time(row["date.utc"])
                except (SensorInputError, ValueError) as error:
                    raise SensorInputError(f"{path.name} line {line}: {error}") from None
                rows.setdefault(station, []).append((when, value))
                units.setdefault(station, row["unit"])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SensorInputError(f"cannot read {path}: {error}") from None
    if not rows:
        raise SensorInputError(f"{path.name}: no row of parameter {parameter!r}")
    series = []
    for station, pairs in sorted(rows.items()):
        pairs.sort()
        series.append(
            StationSeries(
                station,
                parameter,
                units[station],
                np.array([p[0] for p in pairs], dtype=np.int64),
                np.array([p[1] for p in pairs], dtype=np.float64),
            )
        )
    return series


class _Lines:
    """The lines of a file from its first non-blank one, counting the file's lines."""

    def __init__(self, handle: Iterator[str]) -> None:
        self._handle = handle
        self.number = 0
        self._first: str | None = None
        for text in handle:
            self.number += 1
            if text.strip():
                self._first = text
                break

    def __iter__(self) -> Iterator[str]:
        if self._first is not None:
            yield self._first
        for text in self._handle:
            self.number += 1
            yield text


def _from_header(handle: Iterator[str]) -> _Lines:
    """Skip the blank lines before the header (the shipped file starts with one)."""
    return _Lines(handle)
