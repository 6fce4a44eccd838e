"""Creating SensorThings entities, deep insert included, and the entry points of the write
side: :func:`create`, :func:`update`, :func:`delete`.

A request's entities are made in one transaction: a Thing with its Locations and its
Datastreams, each with its Sensor, ObservedProperty and Observations inline, or linked to
existing entities by ``{"@iot.id": n}``. Observations go through the ingest
(:func:`simulation.sensors.ingest.ingest`: idempotence, the default FeatureOfInterest, the
datastream's latest value) once the entities they belong to are committed; should the
ingest refuse one, the entities of the request are deleted again and the request fails.

Where an entity lands: a Thing, Location or FeatureOfInterest naming a city object
(``properties.cityObject``) takes that object's position and jurisdiction (a Thing without
Locations gets one at the object); otherwise a Location or FeatureOfInterest takes the
jurisdiction holding its geometry, a Thing that of its first Location; Datastreams and
HistoricalLocations take their Thing's, Sensors and ObservedProperties the caller's. Every
entity must land inside the caller's scope (else 403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors import entities as e
from simulation.sensors.entities import EntityType, entity_type
from simulation.sensors.errors import SensorInputError
from simulation.sensors.records import ObservationIn
from simulation.sensors.write_body import (
    GEOJSON_ENCODINGS,
    ID_KEY,
    geometry_columns,
    link_as_object,
    links_as_list,
    read_body,
    reference_id,
)
from simulation.sensors.write_change import delete, update
from simulation.sensors.write_common import (
    Change,
    Place,
    Placed,
    WriteResult,
    check_scope,
    now_us,
    place_in,
    set_locations,
    visible,
)

__all__ = [
    "Change",
    "Place",
    "Placed",
    "WriteResult",
    "create",
    "delete",
    "insert",
    "place_in",
    "set_locations",
    "update",
]

# A parent reached by a navigation path: ``Things(1)/Datastreams`` is (Thing, 1, "Datastreams").
Parent = tuple[EntityType | str, int, str]


@dataclass
class _Run:
    """One request's insert: its session, its caller, what it made so far."""

    session: Session
    scope: Scope
    place: Place
    now_us: int
    changes: list[Change] = field(default_factory=list)
    observations: list[ObservationIn] = field(default_factory=list)

    def made(self, etype: EntityType, row: Any) -> int:
        """Write ``row`` (to get its id) and note its creation."""
        self.session.add(row)
        self.session.flush()
        self.changes.append(Change(etype.name, row.id, "created", row.jurisdiction))
        entity_id: int = row.id
        return entity_id

    def home(self) -> str:
        """The caller's own jurisdiction."""
        return self.place(None, None).jurisdiction


def create(
    db: OpsDatabase,
    etype: EntityType | str,
    body: Any,
    scope: Scope,
    *,
    place: Place,
    parent: Parent | None = None,
) -> int:
    """Create the entity of ``body`` (and those inline in it); its id."""
    return insert(db, etype, body, scope, place=place, parent=parent).id


def insert(
    db: OpsDatabase,
    etype: EntityType | str,
    body: Any,
    scope: Scope,
    *,
    place: Place,
    parent: Parent | None = None,
) -> WriteResult:
    """Create the entity of ``body`` and everything inline in it; what was made.

    ``parent`` (type, id, navigation property) creates through a navigation path:
    ``POST Things(1)/Datastreams`` links the new Datastream to Thing 1.
    """
    kind = entity_type(etype) if isinstance(etype, str) else etype
    if isinstance(body, dict) and ID_KEY in body:
        raise SensorInputError("@iot.id is given by the server: leave it out of a new entity")
    with db.transaction() as session:
        run = _Run(session, scope, place, now_us())
        given = {} if parent is None else _given_by_parent(run, kind, parent)
        new_id = _new(run, kind, body, given)
    if not run.observations:
        return WriteResult(new_id, run.changes)
    from simulation.sensors.ingest import ingest  # the integrator's ingest

    result = ingest(db, run.observations, scope)
    if result.rejected:
        _undo(db, run.changes)
        reasons = "; ".join(
            f"observation {r.index + 1} of {len(run.observations)}: {r.reason}"
            for r in result.rejected
        )
        raise SensorInputError(f"not stored: {reasons}")
    if kind is e.OBSERVATION:
        stored = result.ids[new_id]
        assert stored is not None
        new_id = stored
    return WriteResult(new_id, run.changes, list(result.created))


def _given_by_parent(run: _Run, kind: EntityType, parent: Parent) -> dict[str, int]:
    """The link the new entity gets from the path it is posted to."""
    parent_type, parent_id, link_name = parent
    owner = entity_type(parent_type) if isinstance(parent_type, str) else parent_type
    link = owner.link(link_name)
    if not link.many or link.target != kind.name:
        raise SensorInputError(f"{owner.plural}({parent_id})/{link_name} holds {link.target}s")
    visible(run.session, owner, parent_id, run.scope)
    inverse = next(back for back in kind.links if back.target == owner.name)
    return {inverse.name: parent_id}


def _new(run: _Run, kind: EntityType, data: Any, given: dict[str, int]) -> int:
    """Create one entity of ``kind`` (and what it holds inline), linked to ``given``."""
    maker = _MAKERS[kind.name]
    return maker(run, data, given)


def _linked_one(
    run: _Run, owner: EntityType, name: str, data: dict[str, Any], given: dict[str, int]
) -> int | None:
    """The id a to-one navigation property points at: given by the parent, a reference to a
    visible entity, or an entity created inline."""
    target = entity_type(owner.link(name).target)
    if name in given:
        if name in data:
            raise SensorInputError(
                f"the {owner.name}'s {name} is given by the path: leave it out of the body"
            )
        return given[name]
    if name not in data:
        return None
    value = link_as_object(owner, name, data[name])
    ref = reference_id(value)
    if ref is not None:
        found: int = visible(run.session, target, ref, run.scope).id
        return found
    return _new(run, target, value, {})


def _linked_many(
    run: _Run, owner: EntityType, name: str, value: Any, given: dict[str, int], back: str | None
) -> list[int]:
    """The ids of a to-many navigation property: references, and entities created inline
    (given ``back``: their link to the owner, once it exists)."""
    target = entity_type(owner.link(name).target)
    ids = [given[name]] if name in given else []
    for item in links_as_list(owner, name, value if value is not None else []):
        ref = reference_id(item)
        if ref is not None:
            ids.append(visible(run.session, target, ref, run.scope).id)
        elif back is None:
            ids.append(_new(run, target, item, {}))
    return ids


def _inline_children(
    run: _Run, owner: EntityType, name: str, value: Any, back: str, owner_id: int
) -> None:
    """Create the entities inline in a to-many property after their owner exists."""
    target = entity_type(owner.link(name).target)
    for item in links_as_list(owner, name, value if value is not None else []):
        if reference_id(item) is None:
            _new(run, target, item, {back: owner_id})


def _new_thing(run: _Run, data: Any, given: dict[str, int]) -> int:
    body = read_body(e.THING, data, complete=True)
    city_object = body.city_object
    placed = run.place(city_object, None) if city_object is not None else None
    location_ids = _linked_many(
        run, e.THING, "Locations", body.links.get("Locations"), given, back=None
    )
    if placed is not None and not location_ids:
        location_ids.append(_placed_location(run, placed))
    if placed is not None:
        jurisdiction = placed.jurisdiction
    elif location_ids:
        jurisdiction = run.session.get(t.Location, location_ids[0]).jurisdiction  # type: ignore[union-attr]
    else:
        jurisdiction = run.home()
    check_scope(e.THING, jurisdiction, run.scope)
    thing = t.Thing(**body.columns, jurisdiction=jurisdiction, city_object=city_object)
    thing_id = run.made(e.THING, thing)
    if location_ids:
        set_locations(run.session, thing, location_ids, run.now_us, run.changes)
    for ref in _references(e.THING, "Datastreams", body.links.get("Datastreams")):
        datastream = visible(run.session, e.DATASTREAM, ref, run.scope)
        datastream.thing_id, datastream.jurisdiction = thing_id, jurisdiction
        run.changes.append(Change("Datastream", ref, "updated", jurisdiction))
    _inline_children(run, e.THING, "Datastreams", body.links.get("Datastreams"), "Thing", thing_id)
    if _references(e.THING, "HistoricalLocations", body.links.get("HistoricalLocations")):
        raise SensorInputError("a HistoricalLocation belongs to one Thing: create new ones inline")
    _inline_children(
        run,
        e.THING,
        "HistoricalLocations",
        body.links.get("HistoricalLocations"),
        "Thing",
        thing_id,
    )
    return thing_id


def _references(owner: EntityType, name: str, value: Any) -> list[int]:
    """The ids referenced (not created inline) in a to-many property."""
    items = links_as_list(owner, name, value if value is not None else [])
    return [ref for ref in map(reference_id, items) if ref is not None]


def _placed_location(run: _Run, placed: Placed) -> int:
    """The Location of a Thing placed by its city object."""
    assert placed.geometry is not None and placed.city_object is not None
    check_scope(e.LOCATION, placed.jurisdiction, run.scope)
    row = t.Location(
        name=placed.city_object,
        description=f"The position of city object {placed.city_object}",
        encoding_type=GEOJSON_ENCODINGS[0],
        properties={"cityObject": placed.city_object},
        jurisdiction=placed.jurisdiction,
        city_object=placed.city_object,
        **geometry_columns("Location location", "location", placed.geometry),
    )
    return run.made(e.LOCATION, row)


def _new_located(run: _Run, kind: EntityType, data: Any) -> tuple[Any, dict[str, Any]]:
    """A Location or FeatureOfInterest row placed by its city object or its geometry (not
    yet written), and its navigation properties."""
    body = read_body(kind, data, complete=True)
    column = "location" if kind is e.LOCATION else "feature"
    city_object = body.city_object
    placed = run.place(city_object, body.columns.get(column))
    if city_object is not None and column not in body.columns:
        assert placed.geometry is not None
        body.columns.update(geometry_columns(f"{kind.name} {column}", column, placed.geometry))
        body.columns.setdefault("encoding_type", GEOJSON_ENCODINGS[0])
    check_scope(kind, placed.jurisdiction, run.scope)
    row = kind.model(**body.columns, jurisdiction=placed.jurisdiction, city_object=city_object)
    return row, body.links


def _new_location(run: _Run, data: Any, given: dict[str, int]) -> int:
    row, links = _new_located(run, e.LOCATION, data)
    location_id = run.made(e.LOCATION, row)
    for thing_id in _linked_many(
        run, e.LOCATION, "Things", links.get("Things"), given, "Locations"
    ):
        thing = run.session.get(t.Thing, thing_id)
        assert thing is not None
        set_locations(run.session, thing, [location_id], run.now_us, run.changes)
    _inline_children(run, e.LOCATION, "Things", links.get("Things"), "Locations", location_id)
    _link_histories(run, location_id, links, given)
    return location_id


def _link_histories(
    run: _Run, location_id: int, links: dict[str, Any], given: dict[str, int]
) -> None:
    value = links.get("HistoricalLocations")
    for history_id in _linked_many(run, e.LOCATION, "HistoricalLocations", value, given, ""):
        run.session.add(
            t.HistoricalLocationLocation(historical_location_id=history_id, location_id=location_id)
        )
    _inline_children(run, e.LOCATION, "HistoricalLocations", value, "Locations", location_id)


def _new_feature(run: _Run, data: Any, given: dict[str, int]) -> int:
    row, links = _new_located(run, e.FEATURE_OF_INTEREST, data)
    feature_id = run.made(e.FEATURE_OF_INTEREST, row)
    if _references(e.FEATURE_OF_INTEREST, "Observations", links.get("Observations")):
        raise SensorInputError("an Observation's FeatureOfInterest is set on the Observation")
    _inline_children(
        run,
        e.FEATURE_OF_INTEREST,
        "Observations",
        links.get("Observations"),
        "FeatureOfInterest",
        feature_id,
    )
    return feature_id


def _new_history(run: _Run, data: Any, given: dict[str, int]) -> int:
    body = read_body(e.HISTORICAL_LOCATION, data, complete=True)
    thing_id = _linked_one(run, e.HISTORICAL_LOCATION, "Thing", body.links, given)
    if thing_id is None:
        raise SensorInputError('a HistoricalLocation needs its Thing ({"@iot.id": n})')
    thing = visible(run.session, e.THING, thing_id, run.scope)
    row = t.HistoricalLocation(thing_id=thing_id, jurisdiction=thing.jurisdiction, **body.columns)
    history_id = run.made(e.HISTORICAL_LOCATION, row)
    value = body.links.get("Locations")
    for location_id in _linked_many(run, e.HISTORICAL_LOCATION, "Locations", value, given, ""):
        run.session.add(
            t.HistoricalLocationLocation(historical_location_id=history_id, location_id=location_id)
        )
    _inline_children(
        run, e.HISTORICAL_LOCATION, "Locations", value, "HistoricalLocations", history_id
    )
    return history_id


def _new_described(run: _Run, kind: EntityType, data: Any, given: dict[str, int], link: str) -> int:
    """A Sensor or an ObservedProperty (in the caller's jurisdiction) and its Datastreams."""
    body = read_body(kind, data, complete=True)
    jurisdiction = run.home()
    check_scope(kind, jurisdiction, run.scope)
    entity_id = run.made(kind, kind.model(**body.columns, jurisdiction=jurisdiction))
    column = "sensor_id" if kind is e.SENSOR else "observed_property_id"
    for ref in _references(kind, "Datastreams", body.links.get("Datastreams")):
        datastream = visible(run.session, e.DATASTREAM, ref, run.scope)
        setattr(datastream, column, entity_id)
        run.changes.append(Change("Datastream", ref, "updated", datastream.jurisdiction))
    _inline_children(run, kind, "Datastreams", body.links.get("Datastreams"), link, entity_id)
    return entity_id


def _new_datastream(run: _Run, data: Any, given: dict[str, int]) -> int:
    body = read_body(e.DATASTREAM, data, complete=True)
    ids = {
        name: _linked_one(run, e.DATASTREAM, name, body.links, given)
        for name in ("Thing", "Sensor", "ObservedProperty")
    }
    missing = [name for name, found in ids.items() if found is None]
    if missing:
        raise SensorInputError(
            f'a Datastream needs its {", ".join(missing)} (inline, or {{"@iot.id": n}})'
        )
    thing = visible(run.session, e.THING, ids["Thing"], run.scope)  # type: ignore[arg-type]
    row = t.Datastream(
        **body.columns,
        thing_id=thing.id,
        sensor_id=ids["Sensor"],
        observed_property_id=ids["ObservedProperty"],
        jurisdiction=thing.jurisdiction,
    )
    datastream_id = run.made(e.DATASTREAM, row)
    if _references(e.DATASTREAM, "Observations", body.links.get("Observations")):
        raise SensorInputError("an Observation belongs to one Datastream: create new ones inline")
    _inline_children(
        run,
        e.DATASTREAM,
        "Observations",
        body.links.get("Observations"),
        "Datastream",
        datastream_id,
    )
    return datastream_id


def _new_observation(run: _Run, data: Any, given: dict[str, int]) -> int:
    """Queue an observation for the ingest; its position in the queue."""
    from simulation.sensors.parse import observation_from_json  # the integrator's parser

    body = read_body(e.OBSERVATION, data, complete=False)
    if "result" not in body.given:
        raise SensorInputError("an Observation needs a result")
    datastream_id = _linked_one(run, e.OBSERVATION, "Datastream", body.links, given)
    if datastream_id is None:
        raise SensorInputError('an Observation needs its Datastream ({"@iot.id": n})')
    feature_id = _linked_one(run, e.OBSERVATION, "FeatureOfInterest", body.links, given)
    payload = {
        key: value
        for key, value in data.items()
        if key in body.given and not e.OBSERVATION.has_link(key)
    }
    payload["Datastream"] = {ID_KEY: datastream_id}
    if feature_id is not None:
        payload["FeatureOfInterest"] = {ID_KEY: feature_id}
    run.observations.append(observation_from_json(payload, datastream_id))
    return len(run.observations) - 1


def _undo(db: OpsDatabase, changes: list[Change]) -> None:
    """Delete what a failed request created (its dependants go with it)."""
    created = [c for c in changes if c.change == "created"]
    with db.transaction() as session:
        for change in reversed(created):
            model = entity_type(change.type).model
            session.execute(sql_delete(model).where(model.id == change.id))


_MAKERS = {
    "Thing": _new_thing,
    "Location": _new_location,
    "HistoricalLocation": _new_history,
    "Sensor": lambda run, data, given: _new_described(run, e.SENSOR, data, given, "Sensor"),
    "ObservedProperty": lambda run, data, given: _new_described(
        run, e.OBSERVED_PROPERTY, data, given, "ObservedProperty"
    ),
    "Datastream": _new_datastream,
    "Observation": _new_observation,
    "FeatureOfInterest": _new_feature,
}
