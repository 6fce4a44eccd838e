"""Changing (PATCH: the properties given; PUT: the whole entity) and deleting SensorThings
entities.

A change links existing entities only (``{"@iot.id": n}``); inline entities are refused, as
the standard says. Moving an entity re-places it: a Thing given new Locations gets a
HistoricalLocation and, unless it names a city object, its first Location's jurisdiction,
which its Datastreams and HistoricalLocations follow. Deleting cascades as the standard
says (a Thing takes its Datastreams and HistoricalLocations, a Datastream, Sensor or
ObservedProperty its Datastreams' Observations, a FeatureOfInterest its Observations, a
Location the HistoricalLocations left without one); the foreign keys do most of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors import entities as e
from simulation.sensors.entities import EntityType, entity_type
from simulation.sensors.errors import SensorInputError
from simulation.sensors.write_body import (
    GEOJSON_ENCODINGS,
    Body,
    geometry_columns,
    links_as_list,
    read_body,
    reference_id,
)
from simulation.sensors.write_common import (
    Change,
    Place,
    WriteResult,
    check_scope,
    jurisdiction_of,
    now_us,
    refresh_datastream,
    result_columns,
    set_locations,
    visible,
)

# The navigation properties a change may relink, by entity type.
RELINKABLE = {
    "Thing": {"Locations"},
    "Location": {"Things"},
    "HistoricalLocation": {"Thing", "Locations"},
    "Datastream": {"Thing", "Sensor", "ObservedProperty"},
    "Observation": {"FeatureOfInterest"},
}


def update(
    db: OpsDatabase,
    etype: EntityType | str,
    entity_id: int,
    body: Any,
    scope: Scope,
    *,
    place: Place,
    replace: bool = False,
) -> WriteResult:
    """Change entity ``entity_id`` with the properties of ``body`` (``replace``: a PUT, every
    required property given, the optional ones left out are cleared)."""
    kind = entity_type(etype) if isinstance(etype, str) else etype
    with db.transaction() as session:
        row = visible(session, kind, entity_id, scope)
        parsed = read_body(kind, body, complete=replace)
        refs = _references(kind, parsed)
        changes: list[Change] = []
        if replace:
            _clear_left_out(kind, parsed, row)
        _apply_columns(row, parsed)
        relink = _RELINKERS.get(kind.name)
        if relink is not None:
            relink(session, row, parsed, refs, scope, place, changes)
        try:
            session.flush()
        except IntegrityError:
            raise SensorInputError(
                f"{kind.name} {entity_id}: another observation of its datastream has that"
                " phenomenonTime"
            ) from None
        if kind is e.OBSERVATION:
            refresh_datastream(session, row.datastream_id)
        changes.insert(0, Change(kind.name, entity_id, "updated", jurisdiction_of(session, row)))
    return WriteResult(entity_id, list(dict.fromkeys(changes)))  # each change once


def _references(kind: EntityType, parsed: Body) -> dict[str, list[int]]:
    """The ids each navigation property of a change links to (inline entities refused)."""
    refs: dict[str, list[int]] = {}
    for name, value in parsed.links.items():
        if name not in RELINKABLE.get(kind.name, set()):
            raise SensorInputError(f"a {kind.name}'s {name} cannot be changed through it")
        items = links_as_list(kind, name, value) if kind.link(name).many else [value]
        ids = [reference_id(item) for item in items]
        if any(i is None for i in ids):
            raise SensorInputError(
                f"a change links existing entities only: give {kind.name} {name} as"
                ' {"@iot.id": n}, create new ones with POST'
            )
        refs[name] = [i for i in ids if i is not None]
    return refs


def _clear_left_out(kind: EntityType, parsed: Body, row: Any) -> None:
    """A PUT clears the optional properties it leaves out."""
    for spec in kind.fields:
        if spec.derived or spec.required or spec.name in parsed.given:
            continue
        if spec.column == "phenomenon_us":  # an observation's time stays (it is its key)
            continue
        setattr(row, spec.column, None)
        if spec.end_column is not None:
            setattr(row, spec.end_column, None)


def _apply_columns(row: Any, parsed: Body) -> None:
    columns = dict(parsed.columns)
    if "result" in columns:
        columns.update(result_columns(columns.pop("result")))
    if isinstance(row, t.Observation) and columns.get("phenomenon_us", 0) is None:
        raise SensorInputError("an Observation's phenomenonTime cannot be null")
    for column, value in columns.items():
        setattr(row, column, value)


def _relink_thing(
    session: Session,
    thing: t.Thing,
    parsed: Body,
    refs: dict[str, list[int]],
    scope: Scope,
    place: Place,
    changes: list[Change],
) -> None:
    jurisdiction = thing.jurisdiction
    if "properties" in parsed.given:
        city_object = parsed.city_object
        if city_object is not None and city_object != thing.city_object:
            jurisdiction = place(city_object, None).jurisdiction
        thing.city_object = city_object
    if "Locations" in refs:
        for location_id in refs["Locations"]:
            visible(session, e.LOCATION, location_id, scope)
        if thing.city_object is None and refs["Locations"]:
            jurisdiction = _jurisdiction(session, t.Location, refs["Locations"][0])
    _move_thing(session, thing, jurisdiction, scope, changes)
    if "Locations" in refs:
        set_locations(session, thing, refs["Locations"], now_us(), changes)


def _move_thing(
    session: Session, thing: t.Thing, jurisdiction: str, scope: Scope, changes: list[Change]
) -> None:
    """Give a Thing, its Datastreams and HistoricalLocations a new jurisdiction."""
    if jurisdiction == thing.jurisdiction:
        return
    check_scope(e.THING, jurisdiction, scope)
    thing.jurisdiction = jurisdiction
    changes.append(Change("Thing", thing.id, "updated", jurisdiction))
    for model in (t.Datastream, t.HistoricalLocation):
        moved = session.execute(select(model.id).where(model.thing_id == thing.id)).scalars()
        changes.extend(Change(model.__name__, i, "updated", jurisdiction) for i in moved)
        session.execute(
            sql_update(model).where(model.thing_id == thing.id).values(jurisdiction=jurisdiction)
        )


def _jurisdiction(session: Session, model: type[Any], entity_id: int) -> str:
    code: str = session.execute(
        select(model.jurisdiction).where(model.id == entity_id)
    ).scalar_one()
    return code


def _relink_located(
    session: Session,
    row: Any,
    parsed: Body,
    refs: dict[str, list[int]],
    scope: Scope,
    place: Place,
    changes: list[Change],
) -> None:
    """A Location or FeatureOfInterest re-placed by a new geometry or city object."""
    kind = e.LOCATION if isinstance(row, t.Location) else e.FEATURE_OF_INTEREST
    column = "location" if kind is e.LOCATION else "feature"
    if "properties" in parsed.given or column in parsed.given:
        city_object = parsed.city_object if "properties" in parsed.given else row.city_object
        placed = place(city_object, None if city_object else getattr(row, column))
        if city_object is not None and column not in parsed.given:
            assert placed.geometry is not None
            for name, value in geometry_columns(kind.name, column, placed.geometry).items():
                setattr(row, name, value)
            row.encoding_type = GEOJSON_ENCODINGS[0]
        check_scope(kind, placed.jurisdiction, scope)
        moved = placed.jurisdiction != row.jurisdiction
        row.city_object, row.jurisdiction = city_object, placed.jurisdiction
        if moved and kind is e.LOCATION:
            _follow_location(session, row, scope, changes)
    for thing_id in refs.get("Things", []):
        thing = visible(session, e.THING, thing_id, scope)
        if thing.city_object is None:
            _move_thing(session, thing, row.jurisdiction, scope, changes)
        set_locations(session, thing, [row.id], now_us(), changes)


def _follow_location(
    session: Session, location: t.Location, scope: Scope, changes: list[Change]
) -> None:
    """Things placed by this Location (their first one, no city object) move with it."""
    link = t.ThingLocation
    first = (
        select(link.thing_id, func.min(link.location_id).label("first"))
        .group_by(link.thing_id)
        .subquery()
    )
    placed = session.execute(
        select(t.Thing)
        .join(first, first.c.thing_id == t.Thing.id)
        .where(first.c.first == location.id, t.Thing.city_object.is_(None))
    ).scalars()
    for thing in list(placed):
        _move_thing(session, thing, location.jurisdiction, scope, changes)


def _relink_history(
    session: Session,
    row: t.HistoricalLocation,
    parsed: Body,
    refs: dict[str, list[int]],
    scope: Scope,
    place: Place,
    changes: list[Change],
) -> None:
    if "Thing" in refs:
        thing = visible(session, e.THING, refs["Thing"][0], scope)
        row.thing_id, row.jurisdiction = thing.id, thing.jurisdiction
    if "Locations" in refs:
        for location_id in refs["Locations"]:
            visible(session, e.LOCATION, location_id, scope)
        link = t.HistoricalLocationLocation
        session.execute(sql_delete(link).where(link.historical_location_id == row.id))
        session.add_all(
            link(historical_location_id=row.id, location_id=i)
            for i in dict.fromkeys(refs["Locations"])
        )


def _relink_datastream(
    session: Session,
    row: t.Datastream,
    parsed: Body,
    refs: dict[str, list[int]],
    scope: Scope,
    place: Place,
    changes: list[Change],
) -> None:
    if "Thing" in refs:
        thing = visible(session, e.THING, refs["Thing"][0], scope)
        row.thing_id, row.jurisdiction = thing.id, thing.jurisdiction
    if "Sensor" in refs:
        row.sensor_id = visible(session, e.SENSOR, refs["Sensor"][0], scope).id
    if "ObservedProperty" in refs:
        found = visible(session, e.OBSERVED_PROPERTY, refs["ObservedProperty"][0], scope)
        row.observed_property_id = found.id


def _relink_observation(
    session: Session,
    row: t.Observation,
    parsed: Body,
    refs: dict[str, list[int]],
    scope: Scope,
    place: Place,
    changes: list[Change],
) -> None:
    if "FeatureOfInterest" in refs:
        found = visible(session, e.FEATURE_OF_INTEREST, refs["FeatureOfInterest"][0], scope)
        row.feature_id = found.id


_RELINKERS: dict[str, Any] = {
    "Thing": _relink_thing,
    "Location": _relink_located,
    "FeatureOfInterest": _relink_located,
    "HistoricalLocation": _relink_history,
    "Datastream": _relink_datastream,
    "Observation": _relink_observation,
}


def delete(db: OpsDatabase, etype: EntityType | str, entity_id: int, scope: Scope) -> WriteResult:
    """Delete entity ``entity_id`` and what goes with it (404 when it is not the caller's)."""
    kind = entity_type(etype) if isinstance(etype, str) else etype
    with db.transaction() as session:
        row = visible(session, kind, entity_id, scope)
        changes = [Change(kind.name, entity_id, "deleted", jurisdiction_of(session, row))]
        changes.extend(_cascaded(session, kind, entity_id))
        orphans = _histories_of(session, entity_id) if kind is e.LOCATION else []
        touched = _datastreams_touched(session, kind, row)
        session.expunge(row)
        session.execute(sql_delete(kind.model).where(kind.model.id == entity_id))
        changes.extend(_delete_orphan_histories(session, orphans))
        for datastream_id in touched:
            refresh_datastream(session, datastream_id)
    return WriteResult(entity_id, changes)


def _cascaded(session: Session, kind: EntityType, entity_id: int) -> list[Change]:
    """The Datastreams (and HistoricalLocations) a delete takes with it."""
    ds = t.Datastream
    owner = {
        "Thing": ds.thing_id,
        "Sensor": ds.sensor_id,
        "ObservedProperty": ds.observed_property_id,
    }.get(kind.name)
    if owner is None:
        return []
    rows = session.execute(select(ds.id, ds.jurisdiction).where(owner == entity_id)).all()
    changes = [Change("Datastream", i, "deleted", code) for i, code in rows]
    if kind is e.THING:
        h = t.HistoricalLocation
        histories = session.execute(select(h.id, h.jurisdiction).where(h.thing_id == entity_id))
        changes.extend(Change("HistoricalLocation", i, "deleted", code) for i, code in histories)
    return changes


def _datastreams_touched(session: Session, kind: EntityType, row: Any) -> list[int]:
    """Datastreams whose latest value a delete may change."""
    if kind is e.OBSERVATION:
        return [row.datastream_id]
    if kind is e.FEATURE_OF_INTEREST:
        o = t.Observation
        found = session.execute(select(o.datastream_id).where(o.feature_id == row.id).distinct())
        return list(found.scalars())
    return []


def _histories_of(session: Session, location_id: int) -> list[int]:
    link = t.HistoricalLocationLocation
    found = session.execute(
        select(link.historical_location_id).where(link.location_id == location_id)
    )
    return list(found.scalars())


def _delete_orphan_histories(session: Session, candidates: list[int]) -> list[Change]:
    """Delete the HistoricalLocations a deleted Location left without any Location."""
    if not candidates:
        return []
    h, link = t.HistoricalLocation, t.HistoricalLocationLocation
    still = select(link.historical_location_id).where(link.historical_location_id.in_(candidates))
    orphans = session.execute(
        select(h.id, h.jurisdiction).where(h.id.in_(candidates), h.id.not_in(still))
    ).all()
    session.execute(sql_delete(h).where(h.id.in_([i for i, _ in orphans])))
    return [Change("HistoricalLocation", i, "deleted", code) for i, code in orphans]
