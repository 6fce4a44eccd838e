"""Property paths of a ``$filter``: ``name``, ``properties/floor/level``, ``Datastream/Thing/name``.

A path walks the navigation links of :mod:`simulation.sensors.entities` to an entity and
ends on one of its properties. Each link walked joins an alias of its target table, recorded
in a :class:`Joins`; the translator wraps the condition using them in an ``EXISTS`` (a
link to many: "any of them") or, for ``$orderby``, in a correlated scalar subquery. So a
filter is one SQL statement, whatever the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.entities import BY_NAME, EntityType, Link
from simulation.sensors.errors import SensorInputError
from simulation.sensors.odata.values import JsonRef, Value

_COLUMN_NAMES: dict[type[Any], dict[str, str]] = {}


def _column_names(model: type[Any]) -> dict[str, str]:
    """A model's attribute names -> its table's column names (``sensor_metadata`` ->
    ``metadata``)."""
    known = _COLUMN_NAMES.get(model)
    if known is None:
        mapper = sa.inspect(model)
        known = {attr.key: attr.columns[0].name for attr in mapper.column_attrs}
        _COLUMN_NAMES[model] = known
    return known


class Source:
    """A table a path reads (the filtered one, or one a link joins) with its columns by
    the model's attribute names (``source.thing_id``). Core tables, not ORM aliases:
    building a condition stays cheap (an ORM alias costs about a millisecond a column)."""

    def __init__(self, model: type[Any], table: FromClause) -> None:
        self.model = model
        self.table = table

    def __getattr__(self, attribute: str) -> Any:
        name = _column_names(self.model).get(attribute)
        if name is None:
            raise AttributeError(attribute)
        return self.table.c[name]


@dataclass(frozen=True)
class RootLink:
    """How the first joined table hangs on the filtered table: ``outer`` (a column of the
    filtered table) equals ``inner`` (a column of the joined one) by ``condition``."""

    outer: ColumnElement[Any]
    inner: ColumnElement[Any]
    condition: ColumnElement[bool]


@dataclass
class Joins:
    """The tables joined by the paths of one condition, and their join conditions.

    A table joined once is used as it is; a second use of it (or of the filtered table)
    is an alias. The subqueries correlate explicitly with the filtered table only, so a
    table of the caller's own query (a link table it joins) is never taken for one of ours.
    """

    root: Source
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    to_many: bool = False
    # whether a path of the condition ends on the filtered table's own properties
    uses_root: bool = False
    roots: list[RootLink] = field(default_factory=list)
    _joined: dict[tuple[str, ...], Source] = field(default_factory=dict)
    _tables: set[Any] = field(default_factory=set)

    @classmethod
    def over(cls, model: type[Any]) -> Joins:
        """The joins of a condition on ``model``'s table."""
        root = Source(model, model.__table__)
        return cls(root, _tables={model.__table__})

    def _source(self, model: type[Any]) -> Source:
        table = model.__table__
        if table in self._tables:
            return Source(model, table.alias())
        self._tables.add(table)
        return Source(model, table)

    def join(
        self, prefix: tuple[str, ...], source: Source, link: Link, target: EntityType
    ) -> Source:
        """The table of ``target`` reached from ``source`` by ``link`` (one per path prefix)."""
        known = self._joined.get(prefix)
        if known is not None:
            return known
        joined = self._source(target.model)
        if link.through is None:
            outer, inner = getattr(source, link.local), getattr(joined, link.remote)
            hang = inner == outer
            self.conditions.append(hang)
        else:
            assert link.this_side is not None and link.target_side is not None
            middle = self._source(link.through)
            outer, inner = source.id, getattr(middle, link.this_side)
            hang = inner == outer
            self.conditions.append(hang)
            self.conditions.append(joined.id == getattr(middle, link.target_side))
        if len(prefix) == 1:
            self.roots.append(RootLink(outer, inner, hang))
        self.to_many = self.to_many or link.many
        self._joined[prefix] = joined
        return joined


def segments_of(node: Any) -> list[str] | None:
    """``["Datastream", "Thing", "name"]`` of an identifier or attribute node, or None."""
    from odata_query import ast

    if isinstance(node, ast.Identifier):
        return [*node.namespace, node.name] if node.namespace else [node.name]
    if isinstance(node, ast.Attribute):
        owner = segments_of(node.owner)
        if owner is None:
            return None
        attr = node.attr
        if isinstance(attr, str):
            return [*owner, *attr.split(".")]
        rest = segments_of(attr)
        return None if rest is None else [*owner, *rest]
    return None


def resolve(etype: EntityType, segments: list[str], joins: Joins) -> Value:
    """The value at the end of a property path from ``etype`` (its model's own table)."""
    text = "/".join(segments)
    entity = joins.root
    current = etype
    for index, segment in enumerate(segments):
        rest = segments[index + 1 :]
        if current.has_link(segment):
            link = current.link(segment)
            target = BY_NAME[link.target]
            entity = joins.join(tuple(segments[: index + 1]), entity, link, target)
            current = target
            if not rest:
                raise SensorInputError(
                    f"{text} is {'a set of entities' if link.many else 'an entity'}, "
                    f"not a property: name one of its properties (e.g. {text}/id)"
                )
            continue
        if current is etype:
            joins.uses_root = True
        return _property(current, entity, segment, rest, text)
    raise SensorInputError(f"empty property path {text!r}")  # pragma: no cover


def _property(etype: EntityType, entity: Source, name: str, rest: list[str], text: str) -> Value:
    if name == "id":
        if rest:
            raise SensorInputError(f"{text}: id has no parts")
        return Value("number", entity.id, text)
    found = etype.field(name)
    column = getattr(entity, found.column)
    if found.kind in ("json", "geometry") and rest:
        return Value("json", column, text, json=JsonRef(column, tuple(rest)))
    if found.kind == "result" and rest:
        return Value(
            "json", entity.result_json, text, json=JsonRef(entity.result_json, tuple(rest))
        )
    if rest:
        raise SensorInputError(f"{text}: {etype.name}/{name} has no parts to name")
    if found.kind == "text":
        return Value("text", column, text)
    if found.kind == "json":
        return Value("json", column, text, json=JsonRef(column, ()))
    if found.kind == "time":
        return Value("time", column, text)
    if found.kind == "interval":
        assert found.end_column is not None
        return Value("time", column, text, end=getattr(entity, found.end_column))
    if found.kind == "result":
        return Value("result", entity.result_number, text, result=entity)
    from simulation.sensors.odata.geo import column_geometry

    return Value("geometry", column, text, geometry=column_geometry(entity, column, text))


def exists(joins: Joins, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` over the joined tables: true when a row of the joins satisfies it.

    When the condition reads only the joined tables through one first link, it is a
    semi-join ``outer IN (SELECT inner ... WHERE condition)``: uncorrelated, so the
    database can start from the few rows the condition selects and reach the filtered
    table through its index (an EXISTS would test every row of it). Otherwise a
    correlated EXISTS. Both are true or false, never unknown (``not`` inverts them).
    """
    if not joins.conditions:
        return condition
    if not joins.uses_root and len(joins.roots) == 1:
        root = joins.roots[0]
        others = [c for c in joins.conditions if c is not root.condition]
        chosen = (
            sa.select(root.inner).where(root.inner.is_not(None), *others, condition).correlate(None)
        )
        return sa.and_(root.outer.is_not(None), root.outer.in_(chosen))
    return (
        sa.select(sa.literal(1))
        .where(*joins.conditions, condition)
        .correlate(joins.root.table)
        .exists()
    )


def scalar(joins: Joins, expr: ColumnElement[Any], text: str) -> ColumnElement[Any]:
    """``expr`` over links to one: a correlated scalar subquery (for ``$orderby``)."""
    if not joins.conditions:
        return expr
    if joins.to_many:
        raise SensorInputError(f"{text!r}: a path through a set of entities has no order")
    return sa.select(expr).where(*joins.conditions).correlate(joins.root.table).scalar_subquery()
