"""What creating, changing and deleting SensorThings entities share: where an entity lands
(:class:`Placed`, the ``place`` callable), what a write did (:class:`Change`,
:class:`WriteResult`), and the lookups that keep a writer inside its scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cim.errors import OutsideScopeError
from cim.ops import sensor_tables as t
from cim.scope import Scope
from simulation.sensors.entities import EntityType
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.records import StoredObservation

ChangeKind = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class Placed:
    """Where a new or moved entity lands: its jurisdiction, the city object it sits in, and
    that object's position (a GeoJSON point) when it was placed by one."""

    jurisdiction: str
    city_object: str | None = None
    geometry: dict[str, Any] | None = None


# ``place(city_object, geometry)``: the placement of an entity naming a city object, else the
# jurisdiction holding ``geometry``, else the caller's own (``place(None, None)``). Built by
# the API from the city store; the domain never opens the store.
Place = Callable[[str | None, dict[str, Any] | None], Placed]


def place_in(jurisdiction: str) -> Place:
    """A ``place`` that puts everything in ``jurisdiction`` (no city model: tests, seeding)."""

    def place(city_object: str | None, geometry: dict[str, Any] | None) -> Placed:
        if city_object is not None:
            raise SensorInputError(f"no city model here to place city object {city_object!r}")
        return Placed(jurisdiction)

    return place


@dataclass(frozen=True)
class Change:
    """One entity a write created, updated or deleted (an ``"entity"`` event)."""

    type: str
    id: int
    change: ChangeKind
    jurisdiction: str

    def event_data(self) -> dict[str, Any]:
        """The data of its ``"entity"`` event."""
        return {"type": self.type, "id": self.id, "change": self.change}


@dataclass
class WriteResult:
    """What one request did: the id of its entity, every entity it changed (deep inserts and
    cascades included) and the observations it stored."""

    id: int
    changes: list[Change] = field(default_factory=list)
    observations: list[StoredObservation] = field(default_factory=list)


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def visible(session: Session, etype: EntityType, entity_id: int, scope: Scope) -> Any:
    """The row of ``etype`` ``entity_id``; 404 when missing or outside ``scope`` (the same
    answer, so that ids outside tell nothing)."""
    row = session.get(etype.model, entity_id)
    if row is None or not scope.contains(jurisdiction_of(session, row)):
        raise EntityNotFoundError(f"no {etype.name} with id {entity_id}")
    return row


def jurisdiction_of(session: Session, row: Any) -> str:
    """An entity's jurisdiction (an observation's is its datastream's)."""
    if isinstance(row, t.Observation):
        code: str = session.execute(
            select(t.Datastream.jurisdiction).where(t.Datastream.id == row.datastream_id)
        ).scalar_one()
        return code
    found: str = row.jurisdiction
    return found


def check_scope(etype: EntityType, jurisdiction: str, scope: Scope) -> None:
    """403 when an entity would land outside the writer's scope."""
    if not scope.contains(jurisdiction):
        raise OutsideScopeError(
            f"the {etype.name} would lie in jurisdiction {jurisdiction}, outside yours"
        )


def refresh_datastream(session: Session, datastream_id: int) -> None:
    """Recompute a datastream's latest observation and time extents from its observations
    (after one was changed or deleted)."""
    ds = session.get(t.Datastream, datastream_id)
    if ds is None:
        return
    o = t.Observation
    extents = session.execute(
        select(
            func.min(o.phenomenon_us),
            func.max(func.coalesce(o.phenomenon_end_us, o.phenomenon_us)),
            func.min(o.result_us),
            func.max(o.result_us),
        ).where(o.datastream_id == datastream_id)
    ).one()
    ds.phenomenon_start_us, ds.phenomenon_end_us, ds.result_start_us, ds.result_end_us = extents
    latest = session.execute(
        select(o).where(o.datastream_id == datastream_id).order_by(o.phenomenon_us.desc()).limit(1)
    ).scalar_one_or_none()
    ds.latest_observation_id = None if latest is None else latest.id
    ds.latest_phenomenon_us = None if latest is None else latest.phenomenon_us
    ds.latest_result_number = None if latest is None else latest.result_number
    ds.latest_result_json = None if latest is None else _json_result(latest)


def _json_result(row: t.Observation) -> Any:
    if row.result_number is not None:
        return None
    if row.result_text is not None:
        return row.result_text
    return row.result_json


def result_columns(value: Any) -> dict[str, Any]:
    """An observation's result in its columns: numbers, text, anything else as JSON."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return {
        "result_number": float(value) if number else None,
        "result_text": value if isinstance(value, str) else None,
        "result_json": None if number or isinstance(value, str) else value,
    }


def set_locations(
    session: Session, thing: t.Thing, location_ids: list[int], time_us: int, changes: list[Change]
) -> None:
    """Make ``location_ids`` the Thing's current Locations and record a HistoricalLocation."""
    unique = list(dict.fromkeys(location_ids))
    session.execute(delete(t.ThingLocation).where(t.ThingLocation.thing_id == thing.id))
    session.add_all(t.ThingLocation(thing_id=thing.id, location_id=i) for i in unique)
    history = t.HistoricalLocation(
        thing_id=thing.id, time_us=time_us, jurisdiction=thing.jurisdiction
    )
    session.add(history)
    session.flush()
    session.add_all(
        t.HistoricalLocationLocation(historical_location_id=history.id, location_id=i)
        for i in unique
    )
    changes.append(Change("HistoricalLocation", history.id, "created", thing.jurisdiction))
