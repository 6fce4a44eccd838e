"""Finding stored sensing entities by name (the demo's plan names its devices and
datastreams) and checking datastream ids, for the callers outside SensorThings requests."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase


@dataclass(frozen=True)
class NamedDatastream:
    """A datastream with what a replay needs: its thing, place, properties, newest time."""

    id: int
    name: str
    thing_id: int
    jurisdiction: str
    city_object: str | None
    properties: dict[str, Any]
    newest_us: int | None


def thing_names(db: OpsDatabase) -> set[str]:
    """The names of every stored Thing."""
    with db.transaction() as session:
        return set(session.scalars(select(t.Thing.name)))


def datastreams_named(db: OpsDatabase, names: Collection[str]) -> list[NamedDatastream]:
    """The datastreams whose name is one of ``names``, by id, with their thing's city object
    and the end of their phenomenon times (None before the first observation)."""
    with db.transaction() as session:
        rows = session.execute(
            select(t.Datastream, t.Thing.city_object)
            .join(t.Thing, t.Thing.id == t.Datastream.thing_id)
            .where(t.Datastream.name.in_(list(names)))
            .order_by(t.Datastream.id)
        ).all()
        return [
            NamedDatastream(
                stream.id,
                stream.name,
                stream.thing_id,
                stream.jurisdiction,
                city_object,
                dict(stream.properties or {}),
                stream.phenomenon_end_us,
            )
            for stream, city_object in rows
        ]


def missing_datastreams(db: OpsDatabase, ids: Collection[int]) -> list[int]:
    """The ids among ``ids`` of no stored datastream, in order."""
    with db.transaction() as session:
        found = set(session.scalars(select(t.Datastream.id).where(t.Datastream.id.in_(ids))))
    return sorted(set(ids) - found)
