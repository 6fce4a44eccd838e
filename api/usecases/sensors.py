"""Sensor use cases of the command line: list a city's datastreams, replay a recorded
long-format file into them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from api.settings import get_settings
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore
from simulation.sensors.errors import SensorInputError
from simulation.sensors.ingest import ingest
from simulation.sensors.longcsv import read_long_csv
from simulation.sensors.lookup import missing_datastreams
from simulation.sensors.records import ObservationIn
from simulation.sensors.state import latest_states
from simulation.sensors.times import format_time

US_PER_HOUR = 3_600_000_000
# Rows per ingest batch.
BATCH = 5000


def _database(city: Path) -> OpsDatabase:
    CityStore.open(city).close()  # a clear error when the folder is not a city
    return OpsDatabase.for_city(city, get_settings().database_url)


def datastream_rows(city: Path) -> list[dict[str, Any]]:
    """Every datastream of the city with its thing, place, latest value and level, by id."""
    db = _database(city)
    try:
        states = latest_states(db, Scope.everything(), now_us=time.time_ns() // 1000)
    finally:
        db.close()
    return [
        {
            "id": state.datastream_id,
            "name": state.name,
            "thing": state.thing_name,
            "cityObject": state.city_object,
            "jurisdiction": state.jurisdiction,
            "unit": state.unit_symbol,
            "latest": state.result,
            "latestTime": None if state.phenomenon_us is None else format_time(state.phenomenon_us),
            "level": state.level,
        }
        for state in states
    ]


def parse_station_map(entries: list[str]) -> dict[str, int]:
    """``STATION=ID`` texts as a mapping (a station named twice, or a bad id: 400)."""
    mapping: dict[str, int] = {}
    for entry in entries:
        station, sign, number = entry.rpartition("=")
        if not sign or not station or not number.strip().isdigit():
            raise SensorInputError(f"--map {entry!r}: write STATION=DATASTREAM_ID")
        if station in mapping:
            raise SensorInputError(f"--map: station {station!r} is mapped twice")
        mapping[station] = int(number)
    return mapping


def replay_file(
    city: Path,
    file: Path,
    mapping: dict[str, int],
    *,
    parameter: str = "pm25",
    shift_to_now: bool = False,
    now_us: int | None = None,
) -> dict[str, Any]:
    """Store the mapped stations' rows of a long-format file as observations of their
    datastreams; what became of each station's rows, and the stations not mapped.

    ``shift_to_now`` moves every time by whole hours so that the newest row falls in the
    hour of ``now_us`` (default: the clock).
    """
    series = {s.station: s for s in read_long_csv(file, parameter)}
    unknown = [station for station in mapping if station not in series]
    if unknown:
        raise SensorInputError(
            f"{file.name} has no {parameter} rows of {', '.join(map(repr, unknown))}:"
            f" its stations are {', '.join(series)}"
        )
    shift = 0
    if shift_to_now:
        now = time.time_ns() // 1000 if now_us is None else now_us
        newest = max(int(series[s].times_us.max()) for s in mapping)
        shift = (now // US_PER_HOUR - newest // US_PER_HOUR) * US_PER_HOUR
    db = _database(city)
    try:
        _check_datastreams(db, set(mapping.values()))
        stations = [
            _replay_station(db, station, datastream, series[station], shift)
            for station, datastream in mapping.items()
        ]
    finally:
        db.close()
    return {"stations": stations, "unmapped": sorted(set(series) - set(mapping))}


def _check_datastreams(db: OpsDatabase, ids: set[int]) -> None:
    missing = missing_datastreams(db, ids)
    if missing:
        raise SensorInputError(
            f"no datastream {', '.join(map(str, missing))} in the city:"
            " `cimtwin sensors list` gives their ids"
        )


def _replay_station(
    db: OpsDatabase, station: str, datastream: int, series: Any, shift: int
) -> dict[str, Any]:
    rows = [
        ObservationIn(datastream, int(when) + shift, float(value))
        for when, value in zip(series.times_us, series.values, strict=True)
    ]
    stored = already = 0
    reasons: list[str] = []
    for first in range(0, len(rows), BATCH):
        result = ingest(db, rows[first : first + BATCH], Scope.everything())
        stored += len(result.created)
        already += sum(1 for i in result.ids if i is not None) - len(result.created)
        reasons += [f"row {first + r.index + 1}: {r.reason}" for r in result.rejected]
    return {"station": station, "datastream": datastream, "rows": len(rows), "stored": stored,
            "already": already, "rejected": len(reasons), "reasons": reasons[:10]}  # fmt: skip
