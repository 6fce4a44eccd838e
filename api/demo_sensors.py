"""The demo's live sensors: the devices of ``data/demo/sensors.json`` made as SensorThings
entities in the demo city, a day of history, and a replay that adds a value to every
datastream every few seconds while the demo serves.

Each Thing names the city object it sits in (``properties.cityObject``: a building, a
storey, a space, a street of the demo district, found by name) and takes its location and
jurisdiction from it. Values come from :mod:`simulation.sensors.replay`: functions of time,
so the history and the live steps are one series. The replay runs in real time, with
scripted events from its start (rain filling an underpass, a heavy convoy on a viaduct,
an air-conditioning failure, a pollution episode, a gauge losing its power): a new user
sees values change at every step and sensors pass their warning and alarm thresholds within
the first minutes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI

from api.demo_plan import PlannedThing, SensorPlan, sensor_plan
from api.errors import ApiError
from api.events import EventHub, event_hub_of
from api.sta.linking import CITY_OBJECT_PROPERTY, city_placement
from api.sta.placing import CityPlace
from api.sta.publish import observation_events
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from cim.store import CityStore
from simulation.sensors.ingest import ingest
from simulation.sensors.lookup import datastreams_named, thing_names
from simulation.sensors.records import IngestResult, ObservationIn
from simulation.sensors.replay import KINDS, SeriesSpec, generate, sample_times
from simulation.sensors.write import create

LOG = logging.getLogger("cimtwin.demo.sensors")
US = 1_000_000
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
# Rows per ingest batch while backfilling.
BATCH = 5000


class DemoSensorError(ApiError):
    """A city object the sensor plan names is not in the demo city."""


@dataclass(frozen=True)
class LiveStream:
    """A demo datastream as stored, with its series."""

    datastream_id: int
    thing_id: int
    jurisdiction: str
    city_object: str | None
    series: SeriesSpec
    newest_us: int | None = None
    silent_after_s: float | None = None


@dataclass
class SensorBuild:
    """What :func:`ensure_demo_sensors` did."""

    created: list[str] = field(default_factory=list)
    streams: int = 0
    backfilled: int = 0


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def ensure_demo_sensors(
    store: CityStore,
    db: OpsDatabase,
    *,
    now: int | None = None,
    log: Callable[[str], None] = print,
) -> SensorBuild:
    """Make the planned devices the database lacks (by name), then fill each demo
    datastream's history up to ``now``: the plan's last hours, or from its newest value."""
    plan = sensor_plan()
    end = now_us() if now is None else now
    result = SensorBuild()
    existing = thing_names(db)
    for thing in plan.things:
        if thing.name in existing:
            continue
        create_thing(db, store, thing_body(thing, resolve_object(store, thing.at), plan))
        result.created.append(thing.name)
    if result.created:
        log(f"made {len(result.created)} demo sensor devices in their city objects")
    streams = demo_streams(db, plan)
    result.streams = len(streams)
    result.backfilled = backfill(db, plan, streams, end)
    if result.backfilled:
        log(f"backfilled {result.backfilled} observations of {len(streams)} demo datastreams")
    return result


def resolve_object(store: CityStore, at: dict[str, str]) -> str:
    """The id of the city object a plan entry names (see :data:`api.demo_plan.PLACES`)."""
    everything = Scope.everything()
    if "object" in at:
        return store.get_object(at["object"], scope=everything).id
    found = _named(store.objects(cls="IfcBuilding", scope=everything), at["building"], at)
    if "storey" in at:
        storeys = store.objects(cls="IfcBuildingStorey", parent_id=found, scope=everything)
        found = _named(storeys, at["storey"], at)
    if "space" in at:
        found = _named(
            store.objects(cls="IfcSpace", parent_id=found, scope=everything), at["space"], at
        )
    return found


def _named(candidates: list[Any], name: str, at: dict[str, str]) -> str:
    for candidate in candidates:
        if candidate.name == name:
            return str(candidate.id)
    raise DemoSensorError(f"no city object {name!r} for the demo sensor at {at}")


def thing_body(thing: PlannedThing, object_id: str, plan: SensorPlan) -> dict[str, Any]:
    """The SensorThings JSON of a planned device (a deep insert: its datastreams with their
    sensors and observed properties), placed by its city object."""
    streams = []
    for stream in thing.datastreams:
        kind = KINDS[stream.series.kind]
        streams.append(
            {
                "name": stream.name,
                "description": f"{kind.description}, {thing.level} level",
                "observationType": MEASUREMENT,
                "unitOfMeasurement": kind.unit,
                "properties": {
                    "thresholds": stream.thresholds,
                    "staleAfter": plan.stale_after_s,
                    "kind": kind.name,
                    "replay": stream.series.key,
                    **({} if stream.gauge_datum is None else {"gaugeDatum": stream.gauge_datum}),
                },
                "Sensor": {
                    "name": f"{thing.name} ({kind.observed_property})",
                    "description": f"The {kind.observed_property.lower()} sensor of {thing.name}",
                    "encodingType": "text/html",
                    "metadata": "https://github.com/cimtwin/cimtwin#demo-sensors",
                },
                "ObservedProperty": {
                    "name": kind.observed_property,
                    "definition": kind.definition,
                    "description": kind.description,
                },
            }
        )
    return {
        "name": thing.name,
        "description": f"Demo device at {thing.level} level ({', '.join(thing.at.values())})",
        "properties": {CITY_OBJECT_PROPERTY: object_id, "level": thing.level, "demo": True},
        "Datastreams": streams,
    }


def create_thing(db: OpsDatabase, store: CityStore, body: dict[str, Any]) -> int:
    """Create a Thing body as :func:`thing_body` writes it through the SensorThings create
    (deep insert): placed by its city object, its sensors and observed properties in the
    same jurisdiction as it (visible to whoever sees the thing)."""
    object_id = body["properties"][CITY_OBJECT_PROPERTY]
    placement = city_placement(store, Scope.everything(), object_id)
    if placement.jurisdiction is None:
        raise DemoSensorError(f"city object {object_id!r} is outside every jurisdiction")
    with CityPlace(store.city_dir, Scope.everything(), placement.jurisdiction) as place:
        return create(db, "Thing", body, Scope.everything(), place=place)


def demo_streams(db: OpsDatabase, plan: SensorPlan | None = None) -> list[LiveStream]:
    """The planned datastreams the database holds (by name), by id."""
    planned = (plan or sensor_plan()).datastreams()
    return [
        LiveStream(stream.id, stream.thing_id, stream.jurisdiction, stream.city_object,
                   planned[stream.name].series, stream.newest_us,
                   planned[stream.name].silent_after_s)
        for stream in datastreams_named(db, planned)
    ]  # fmt: skip


def backfill(db: OpsDatabase, plan: SensorPlan, streams: list[LiveStream], end: int) -> int:
    """Store each stream's values on the plan's grid from its newest value (or the plan's
    history span) up to ``end``; how many were stored."""
    start = end - int(plan.backfill_hours * 3600 * US)
    rows: list[ObservationIn] = []
    stored = 0
    for stream in streams:
        since = start if stream.newest_us is None else max(start, stream.newest_us + 1)
        times = sample_times(since, end, plan.backfill_step_s)
        values = generate(
            stream.series, times, seed=plan.seed, anchor_us=end, utc_offset_h=plan.utc_offset_h
        )
        rows += [
            ObservationIn(stream.datastream_id, int(when), float(value))
            for when, value in zip(times, values, strict=True)
        ]
    for first in range(0, len(rows), BATCH):
        stored += len(ingest(db, rows[first : first + BATCH], Scope.everything()).created)
    return stored


class DemoReplay:
    """Adds one value to every demo datastream per :meth:`step` and publishes each as an
    ``"observation"`` event (links relative to the server, whose address the replay does
    not know); the series' events count from ``anchor_us``."""

    def __init__(
        self,
        db: OpsDatabase,
        hub: EventHub,
        streams: list[LiveStream],
        plan: SensorPlan,
        anchor_us: int,
    ) -> None:
        self.db, self.hub, self.streams, self.plan = db, hub, streams, plan
        self.anchor_us = anchor_us

    def step(self, now: int) -> IngestResult:
        """Store and publish the value at ``now`` (to the second) of every stream not yet
        silent (see :attr:`LiveStream.silent_after_s`)."""
        when = now - now % US
        rows = [
            ObservationIn(s.datastream_id, when, self.value(s, when))
            for s in self.streams
            if s.silent_after_s is None or when < self.anchor_us + s.silent_after_s * US
        ]
        result = ingest(self.db, rows, Scope.everything())
        self.hub.publish_all(observation_events(self.db, result.created, "/"))
        return result

    def value(self, stream: LiveStream, when: int) -> float:
        """The value of ``stream`` at ``when`` in this replay."""
        plan, times = self.plan, np.array([when], dtype=np.int64)
        values = generate(stream.series, times, seed=plan.seed, anchor_us=self.anchor_us,
                          utc_offset_h=plan.utc_offset_h)  # fmt: skip
        return float(values[0])

    async def run(self, interval_s: float | None = None) -> None:
        """Step every ``interval_s`` seconds (default: the plan's) until cancelled; a failed
        step is logged and the next one tried."""
        interval = self.plan.replay_step_s if interval_s is None else interval_s
        while True:
            try:
                await asyncio.to_thread(self.step, now_us())
            except Exception:  # a locked or vanished database must not end the demo
                LOG.exception("demo sensor replay step failed")
            await asyncio.sleep(interval)


def demo_replay_of(app: FastAPI, db: OpsDatabase, anchor_us: int) -> DemoReplay | None:
    """The replay of the demo datastreams ``db`` holds (None when it holds none)."""
    plan = sensor_plan()
    streams = demo_streams(db, plan)
    if not streams:
        return None
    return DemoReplay(db, event_hub_of(app), streams, plan, anchor_us)


@asynccontextmanager
async def replay_demo_sensors(app: FastAPI) -> AsyncIterator[DemoReplay | None]:
    """While the app serves, replay its demo sensors when ``app.state.demo_sensors`` is set
    (the demo command sets it); stopped with the app."""
    if not getattr(app.state, "demo_sensors", False):
        yield None
        return
    from api.auth.state import auth_state_of

    db = auth_state_of(app).db
    replay = await asyncio.to_thread(demo_replay_of, app, db, now_us())
    if replay is None:
        yield None
        return
    task = asyncio.create_task(replay.run(), name="demo sensor replay")
    app.state.sensor_replay, app.state.sensor_replay_task = replay, task
    try:
        yield replay
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def city_demo_sensors(city_dir: Path, log: Callable[[str], None] = print) -> SensorBuild:
    """:func:`ensure_demo_sensors` on the demo city in ``city_dir`` (its own databases)."""
    from api.settings import get_settings

    db = OpsDatabase.for_city(city_dir, get_settings().database_url)
    try:
        with CityStore.open(city_dir) as store:
            return ensure_demo_sensors(store, db, log=log)
    finally:
        db.close()
