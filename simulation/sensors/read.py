"""Reading SensorThings entities: collections, single entities, navigation and expansion.

Everything is SQL: a resource path (``Things(1)/Datastreams``) becomes nested ``IN``
subqueries along the :class:`~simulation.sensors.entities.Link` of each step, ``$filter``
and ``$orderby`` become conditions and ordering terms (:mod:`simulation.sensors.filter`),
paging is ``LIMIT``/``OFFSET`` (one row more than asked tells whether a next page exists).
An expanded level is read for all the parents of the level above at once, never by
resolving each parent's path again: a link to one is one ``IN`` query; a link to many
gives each parent its own ``$top``/``$skip`` page over the link's index (one ``LATERAL``
query on PostgreSQL, one prepared statement run per parent on SQLite, a ``row_number()``
window through association tables). Every step is limited to the caller's scope;
observations are in the scope of their datastream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Label,
    Select,
    and_,
    bindparam,
    column,
    func,
    select,
    true,
    values,
)

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.sensors.entities import EntityType, Link, entity_type
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.filter import filter_condition, order_by

# Entities in a page when the client does not say ($top), and the most the server gives.
DEFAULT_TOP = 100
MAX_TOP = 1000
# Parents whose children one expansion query reads (keeps its IN list and VALUES short).
KEYS_PER_QUERY = 200


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
        rows = _rows(
            connection.execute(
                select(*_columns(etype, query))
                .where(condition)
                .order_by(*_ordering(etype, query.orderby, dialect))
                .limit(query.top + 1)
                .offset(query.skip)
            )
        )
        entities = [_entity(etype, row) for row in rows]
        more = len(entities) > query.top
        del entities[query.top :]
    _expand(connection, etype, entities, query.expand, scope)
    return Page(entities, count, more)


def _one(connection: Connection, steps: Sequence[Step], query: Query, scope: Scope) -> Entity:
    etype = steps[-1].etype
    statement = select(*_columns(etype, query)).where(path_condition(steps, scope)).limit(1)
    row = next(_rows(connection.execute(statement)), None)
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


def _rows(result: CursorResult[Any]) -> Iterator[dict[str, Any]]:
    """The rows of ``result`` as dictionaries by column label (the labels read once: a
    mapping per row costs more than the row)."""
    names = list(result.keys())
    for row in result:
        yield dict(zip(names, row, strict=True))


def _entity(etype: EntityType, row: dict[str, Any]) -> Entity:
    """An entity from its row (which it takes, less the id)."""
    return Entity(etype, int(row.pop("id")), row)


def _where(etype: EntityType, text: str | None, dialect: str) -> ColumnElement[bool]:
    """The ``$filter`` condition (everything when there is none)."""
    if text is None:
        return true()
    try:
        return filter_condition(etype, text, dialect)
    except SensorInputError as exc:
        raise SensorInputError(_naming("$filter", exc)) from None


def _ordering(etype: EntityType, text: str | None, dialect: str) -> list[ColumnElement[Any]]:
    """The ``$orderby`` terms, then the id (a stable order for paging)."""
    terms: list[ColumnElement[Any]] = []
    if text is not None:
        try:
            terms = order_by(etype, text, dialect)
        except SensorInputError as exc:
            raise SensorInputError(_naming("$orderby", exc)) from None
    return [*terms, etype.model.id.asc()]


def _naming(option: str, error: SensorInputError) -> str:
    """``error``'s message, starting with the option it is about."""
    message = str(error)
    return message if message.startswith(option) else f"{option}: {message}"


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
    for row in _rows(connection.execute(select(*columns).where(condition))):
        found[row.pop("_key")] = _entity(target, row)
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
    """Expand a link to many: per parent, a count when asked and a page of ``top`` children
    after ``skip``, in one query per :data:`KEYS_PER_QUERY` parents."""
    keys = sorted({parent.id if link.local == "id" else parent.values[link.local]
                   for parent in parents} - {None})  # fmt: skip
    key, joined = _child_key(link, target)
    dialect = connection.dialect.name
    condition = and_(_child_scope(link, target, scope), _where(target, query.filter, dialect))
    pages = {k: Page([], 0 if query.count else None) for k in keys}
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        if query.count:
            counting = _joined(select(key.label("_key"), func.count()), joined)
            counting = counting.where(key.in_(chunk), condition).group_by(key)
            for found, count in connection.execute(counting):
                pages[found].count = int(count)
        if query.top == 0:
            continue
        if joined is None:
            rows = _pages_by_key(connection, target, key, chunk, condition, query)
        else:
            window = _pages_by_window(target, key, joined, chunk, condition, query, dialect)
            rows = _rows(connection.execute(window))
        for row in rows:
            page = pages[row.pop("_key")]
            if len(page.entities) == query.top:
                page.more = True
            else:
                page.entities.append(_entity(target, row))
    for parent in parents:
        found = pages.get(parent.id if link.local == "id" else parent.values[link.local])
        parent.expanded[link.name] = found or Page([], 0 if query.count else None)
    return [child for page in pages.values() for child in page.entities]


def _child_key(link: Link, target: EntityType) -> tuple[Any, tuple[Any, Any, Any] | None]:
    """The column holding a child's parent key, and the join from the child's table to the
    association table holding it (tables and condition), if any."""
    if link.through is None:
        return getattr(target.model, link.remote), None
    assert link.this_side is not None and link.target_side is not None
    through = link.through
    return getattr(through, link.this_side), (
        target.model,
        through,
        getattr(through, link.target_side) == target.model.id,
    )


def _child_scope(link: Link, target: EntityType, scope: Scope) -> ColumnElement[bool]:
    """The scope condition on children: none for observations expanded from their own
    datastream (in scope already: observations take their datastream's), else the target's."""
    if not hasattr(target.model, "jurisdiction") and link.remote == "datastream_id":
        return true()
    return scope_condition(target, scope)


def _joined(statement: Select[Any], joined: tuple[Any, Any, Any] | None) -> Select[Any]:
    return statement if joined is None else statement.join_from(*joined)


def _pages_by_key(
    connection: Connection,
    target: EntityType,
    key: Any,
    keys: list[Any],
    condition: ColumnElement[bool],
    query: Query,
) -> Iterator[dict[str, Any]]:
    """The page (and one row more) of each key's children, in order: each an ``ORDER BY
    ... LIMIT`` over the key's index, however many children a parent has. PostgreSQL reads
    them all in one query (a ``LATERAL`` join on the keys); SQLite, in process, runs one
    prepared statement per key."""
    dialect = connection.dialect.name
    order = _ordering(target, query.orderby, dialect)
    columns = _columns(target, query)
    if dialect == "postgresql":
        parents = values(column("_key", key.type), name="parents").data([(k,) for k in keys])
        rank = func.row_number().over(order_by=order).label("_rank")
        page = (
            select(*columns, rank)
            .where(key == parents.c._key, condition)
            .order_by(*order)
            .limit(query.top + 1)
            .offset(query.skip)
            .lateral("page")
        )
        kept = [column for column in page.c if column.name != "_rank"]
        statement = (
            select(*kept, parents.c._key)
            .select_from(parents.join(page, true()))
            .order_by(parents.c._key, page.c._rank)
        )
        yield from _rows(connection.execute(statement))
        return
    each = (
        select(*columns, key.label("_key"))
        .where(key == bindparam("_parent"), condition)
        .order_by(*order)
        .limit(query.top + 1)
        .offset(query.skip)
    )
    for value in keys:
        yield from _rows(connection.execute(each, {"_parent": value}))


def _pages_by_window(
    target: EntityType,
    key: Any,
    joined: tuple[Any, Any, Any],
    keys: list[Any],
    condition: ColumnElement[bool],
    query: Query,
    dialect: str,
) -> Any:
    """Pages (and one row more) of children reached through an association table: ranked
    per parent by a window function, in order of parent and rank."""
    rank = func.row_number().over(
        partition_by=key, order_by=_ordering(target, query.orderby, dialect)
    )
    ranked = (
        _joined(select(*_columns(target, query), key.label("_key"), rank.label("_rank")), joined)
        .where(key.in_(keys), condition)
        .subquery()
    )
    last = query.skip + query.top
    kept = [column for column in ranked.c if column.name != "_rank"]
    return (
        select(*kept)
        .where(ranked.c._rank > query.skip, ranked.c._rank <= last + 1)
        .order_by(ranked.c._key, ranked.c._rank)
    )
