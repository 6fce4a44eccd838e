"""Reading SensorThings entities: collections, single entities, navigation and expansion.

Everything is SQL: a resource path (``Things(1)/Datastreams``) becomes nested ``IN``
subqueries along the :class:`~simulation.sensors.entities.Link` of each step, ``$filter``
and ``$orderby`` become conditions and ordering terms (:mod:`simulation.sensors.filter`),
paging is ``LIMIT``/``OFFSET`` (one row more than asked tells whether a next page exists),
and each expanded level is one query over the parents of the level above (``IN``, with a
``row_number()`` window for the per-parent ``$top``/``$skip``). Every step is limited to the
caller's scope; observations are in the scope of their datastream.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Label, Select, and_, func, select, true
from sqlalchemy.sql.elements import KeyedColumnElement

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.sensors.entities import EntityType, Link, entity_type
from simulation.sensors.errors import EntityNotFoundError, SensorInputError

# Entities in a page when the client does not say ($top), and the most the server gives.
DEFAULT_TOP = 100
MAX_TOP = 1000


@dataclass(frozen=True)
class Query:
    """The query options that apply to one collection or entity (and to an expansion).

    ``select`` holds property names (``id`` included) and navigation property names; None
    means everything. ``filter`` and ``orderby`` are OData expression texts.
    """

    filter: str | None = None
    orderby: str | None = None
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    select: tuple[str, ...] | None = None
    expand: tuple[Expansion, ...] = ()


@dataclass(frozen=True)
class Expansion:
    """A navigation property to expand inline, with the options of its own entities."""

    link: str
    query: Query = field(default_factory=Query)


@dataclass(frozen=True)
class Step:
    """One segment of a resource path: an entity set or a navigation ``link`` from the step
    before, narrowed to the entity ``id`` when given."""

    etype: EntityType
    id: int | None = None
    link: Link | None = None

    @property
    def single(self) -> bool:
        """Whether this step addresses one entity (an id, or a link to one)."""
        return self.id is not None or (self.link is not None and not self.link.many)


@dataclass
class Entity:
    """One entity as read: its id, its column values (by model attribute) and what was
    expanded of it (a :class:`Page` for a link to many, an entity or None for one)."""

    etype: EntityType
    id: int
    values: dict[str, Any]
    expanded: dict[str, Page | Entity | None] = field(default_factory=dict)


@dataclass
class Page:
    """Entities of a collection: one page, the total when counted, whether more follow."""

    entities: list[Entity]
    count: int | None = None
    more: bool = False


def read_collection(db: OpsDatabase, steps: Sequence[Step], query: Query, scope: Scope) -> Page:
    """The page of the collection ``steps`` names (404 when an entity on the way is not
    there or not in ``scope``)."""
    with db.engine.connect() as connection:
        return _collection(connection, steps, query, scope)


def read_one(db: OpsDatabase, steps: Sequence[Step], query: Query, scope: Scope) -> Entity:
    """The entity ``steps`` names, with its expansions (404 when missing or out of scope)."""
    with db.engine.connect() as connection:
        return _one(connection, steps, query, scope)


def read_by_id(
    db: OpsDatabase, etype: EntityType, entity_id: int, scope: Scope, query: Query | None = None
) -> Entity:
    """The entity of type ``etype`` and id ``entity_id`` (404 when missing or out of scope)."""
    return read_one(db, [Step(etype, entity_id)], query or Query(), scope)


def _collection(connection: Connection, steps: Sequence[Step], query: Query, scope: Scope) -> Page:
    _require_parent(connection, steps, scope)
    etype = steps[-1].etype
    dialect = connection.dialect.name
    condition = and_(path_condition(steps, scope), _where(etype, query.filter, dialect))
    count = None
    if query.count:
        counting = select(func.count()).select_from(etype.model).where(condition)
        count = int(connection.execute(counting).scalar_one())
    entities: list[Entity] = []
    more = False
    if query.top > 0:
        rows = connection.execute(
            select(*_columns(etype, query))
            .where(condition)
            .order_by(*_ordering(etype, query.orderby, dialect))
            .limit(query.top + 1)
            .offset(query.skip)
        ).mappings()
        entities = [_entity(etype, row) for row in rows]
        more = len(entities) > query.top
        del entities[query.top :]
    _expand(connection, etype, entities, query.expand, scope)
    return Page(entities, count, more)


def _one(connection: Connection, steps: Sequence[Step], query: Query, scope: Scope) -> Entity:
    etype = steps[-1].etype
    statement = select(*_columns(etype, query)).where(path_condition(steps, scope)).limit(1)
    row = connection.execute(statement).mappings().first()
    if row is None:
        raise EntityNotFoundError(f"no {_describe(steps)}")
    entity = _entity(etype, row)
    _expand(connection, etype, [entity], query.expand, scope)
    return entity


def _require_parent(connection: Connection, steps: Sequence[Step], scope: Scope) -> None:
    """404 unless the last single entity before the collection exists (those before it
    then exist too: each step's condition holds the ones before)."""
    last = max((i for i, step in enumerate(steps[:-1]) if step.single), default=None)
    if last is None:
        return
    prefix = steps[: last + 1]
    model = prefix[-1].etype.model
    found = connection.execute(select(model.id).where(path_condition(prefix, scope)).limit(1))
    if found.first() is None:
        raise EntityNotFoundError(f"no {_describe(prefix)}")


def _describe(steps: Sequence[Step]) -> str:
    parts = []
    for step in steps:
        name = step.link.name if step.link is not None else step.etype.plural
        parts.append(name if step.id is None else f"{name}({step.id})")
    return "/".join(parts)


def scope_condition(etype: EntityType, scope: Scope) -> ColumnElement[bool]:
    """The rows of ``etype`` inside ``scope`` (observations: those of datastreams inside it)."""
    if scope.unlimited:
        return true()
    model = etype.model
    if hasattr(model, "jurisdiction"):
        return within(model.jurisdiction, scope)
    visible = select(t.Datastream.id).where(within(t.Datastream.jurisdiction, scope))
    return model.datastream_id.in_(visible)


def path_condition(steps: Sequence[Step], scope: Scope) -> ColumnElement[bool]:
    """The rows of the last step's table that the path ``steps`` reaches, inside ``scope``."""
    condition: ColumnElement[bool] | None = None
    previous: Step | None = None
    for step in steps:
        model = step.etype.model
        here = [scope_condition(step.etype, scope)]
        if step.id is not None:
            here.append(model.id == step.id)
        if previous is not None and condition is not None:
            if step.link is None:
                raise SensorInputError(f"{step.etype.plural} does not follow {previous.etype.name}")
            reached = select(previous.etype.model.id).where(condition)
            here.append(_linked(step.link, previous.etype, step.etype, reached))
        condition = and_(*here)
        previous = step
    if condition is None:
        raise SensorInputError("an empty resource path")
    return condition


def _linked(
    link: Link, source: EntityType, target: EntityType, source_ids: Select[Any]
) -> ColumnElement[bool]:
    """Rows of ``target`` linked by ``link`` to the rows of ``source`` with ``source_ids``."""
    if link.through is not None:
        assert link.this_side is not None and link.target_side is not None
        pairs = select(getattr(link.through, link.target_side)).where(
            getattr(link.through, link.this_side).in_(source_ids)
        )
        return target.model.id.in_(pairs)
    remote = getattr(target.model, link.remote)
    if link.local == "id":
        return remote.in_(source_ids)
    keys = select(getattr(source.model, link.local)).where(source.model.id.in_(source_ids))
    return remote.in_(keys)


def field_columns(etype: EntityType, name: str) -> list[str]:
    """The model attributes holding the property ``name`` of ``etype``."""
    found = etype.field(name)
    if found.kind == "result":
        return ["result_number", "result_text", "result_json"]
    if found.end_column is not None:
        return [found.column, found.end_column]
    return [found.column]


def _columns(etype: EntityType, query: Query) -> list[Label[Any]]:
    """The id, the selected properties' columns and the links' local keys, labelled by
    model attribute."""
    model = etype.model
    names = [f.name for f in etype.fields]
    if query.select is not None:
        names = [name for name in names if name in query.select]
    attributes = ["id"]
    for name in names:
        attributes.extend(field_columns(etype, name))
    attributes.extend(link.local for link in etype.links if link.local != "id")
    unique = list(dict.fromkeys(attributes))
    return [getattr(model, attribute).label(attribute) for attribute in unique]


def _entity(etype: EntityType, row: Any) -> Entity:
    values = dict(row)
    return Entity(etype, int(values.pop("id")), values)


def _filter_module() -> Any:
    """:mod:`simulation.sensors.filter` when it is installed, else None."""
    try:
        return importlib.import_module("simulation.sensors.filter")
    except ModuleNotFoundError:
        return None


def _where(etype: EntityType, text: str | None, dialect: str) -> ColumnElement[bool]:
    """The ``$filter`` condition (everything when there is none)."""
    if text is None:
        return true()
    module = _filter_module()
    if module is None:
        raise SensorInputError("$filter: filtering is not available on this server")
    try:
        condition: ColumnElement[bool] = module.filter_condition(etype, text, dialect)
    except SensorInputError as exc:
        raise SensorInputError(f"$filter: {exc}") from None
    return condition


def _ordering(etype: EntityType, text: str | None, dialect: str) -> list[ColumnElement[Any]]:
    """The ``$orderby`` terms, then the id (a stable order for paging)."""
    terms: list[ColumnElement[Any]] = []
    if text is not None:
        module = _filter_module()
        try:
            if module is not None:
                terms = list(module.order_by(etype, text, dialect))
            else:
                terms = _plain_order(etype, text)
        except SensorInputError as exc:
            raise SensorInputError(f"$orderby: {exc}") from None
    return [*terms, etype.model.id.asc()]


def _plain_order(etype: EntityType, text: str) -> list[ColumnElement[Any]]:
    """``$orderby`` on plain properties (``name desc, id``), for want of the filter module."""
    terms: list[ColumnElement[Any]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise SensorInputError(f"{part.strip()!r} is not 'property [asc|desc]'")
        attribute = "id" if words[0] == "id" else field_columns(etype, words[0])[0]
        column: KeyedColumnElement[Any] = getattr(etype.model, attribute)
        terms.append(column.desc() if words[-1] == "desc" else column.asc())
    return terms


def _expand(
    connection: Connection,
    etype: EntityType,
    parents: list[Entity],
    expansions: Sequence[Expansion],
    scope: Scope,
) -> None:
    """Expand ``expansions`` on ``parents`` (all of type ``etype``), level by level."""
    if not parents:
        return
    for expansion in expansions:
        link = etype.link(expansion.link)
        target = entity_type(link.target)
        if link.many:
            children = _expand_many(connection, link, target, parents, expansion.query, scope)
        else:
            children = _expand_one(connection, link, target, parents, expansion.query, scope)
        _expand(connection, target, children, expansion.query.expand, scope)


def _expand_one(
    connection: Connection,
    link: Link,
    target: EntityType,
    parents: list[Entity],
    query: Query,
    scope: Scope,
) -> list[Entity]:
    keys = {parent.values[link.local] for parent in parents} - {None}
    remote = getattr(target.model, link.remote)
    condition = and_(
        remote.in_(keys),
        scope_condition(target, scope),
        _where(target, query.filter, connection.dialect.name),
    )
    columns = [*_columns(target, query), remote.label("_key")]
    found: dict[Any, Entity] = {}
    for row in connection.execute(select(*columns).where(condition)).mappings():
        values = dict(row)
        found[values.pop("_key")] = _entity(target, values)
    for parent in parents:
        parent.expanded[link.name] = found.get(parent.values[link.local])
    return list({id(entity): entity for entity in found.values()}.values())


def _expand_many(
    connection: Connection,
    link: Link,
    target: EntityType,
    parents: list[Entity],
    query: Query,
    scope: Scope,
) -> list[Entity]:
    model = target.model
    dialect = connection.dialect.name
    keys = {parent.id if link.local == "id" else parent.values[link.local] for parent in parents}
    keys.discard(None)
    if link.through is not None:
        assert link.this_side is not None and link.target_side is not None
        key = getattr(link.through, link.this_side)
        joined = (model, link.through, getattr(link.through, link.target_side) == model.id)
    else:
        key = getattr(model, link.remote)
        joined = None
    condition = and_(
        key.in_(keys), scope_condition(target, scope), _where(target, query.filter, dialect)
    )

    def based(statement: Select[Any]) -> Select[Any]:
        if joined is None:
            return statement
        return statement.join_from(joined[0], joined[1], joined[2])

    counts: dict[Any, int] = {}
    if query.count:
        counting = based(select(key.label("_key"), func.count())).where(condition).group_by(key)
        counts = {row[0]: int(row[1]) for row in connection.execute(counting)}
    pages = {k: Page([], counts.get(k, 0) if query.count else None) for k in keys}
    if query.top > 0:
        rank = func.row_number().over(
            partition_by=key, order_by=_ordering(target, query.orderby, dialect)
        )
        ranked = (
            based(select(*_columns(target, query), key.label("_key"), rank.label("_rank")))
            .where(condition)
            .subquery()
        )
        last = query.skip + query.top
        rows = connection.execute(
            select(ranked)
            .where(ranked.c._rank > query.skip, ranked.c._rank <= last + 1)
            .order_by(ranked.c._key, ranked.c._rank)
        ).mappings()
        for row in rows:
            values = dict(row)
            page = pages[values.pop("_key")]
            if values.pop("_rank") > last:
                page.more = True
            else:
                page.entities.append(_entity(target, values))
    children: list[Entity] = []
    for parent in parents:
        key_value = parent.id if link.local == "id" else parent.values[link.local]
        parent.expanded[link.name] = pages.get(key_value) or Page([], 0 if query.count else None)
    for page in pages.values():
        children.extend(page.entities)
    return children
