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
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.entities import BY_NAME, EntityType, Link
from simulation.sensors.errors import SensorInputError
from simulation.sensors.odata.values import JsonRef, Value


@dataclass
class Joins:
    """The aliases joined by the paths of one condition and their join conditions."""

    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    to_many: bool = False
    _aliases: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def join(self, prefix: tuple[str, ...], source: Any, link: Link, target: EntityType) -> Any:
        """The alias of ``target`` reached from ``source`` by ``link`` (one per path prefix)."""
        known = self._aliases.get(prefix)
        if known is not None:
            return known
        alias = aliased(target.model)
        if link.through is None:
            self.conditions.append(getattr(alias, link.remote) == getattr(source, link.local))
        else:
            assert link.this_side is not None and link.target_side is not None
            middle = aliased(link.through)
            self.conditions.append(getattr(middle, link.this_side) == source.id)
            self.conditions.append(alias.id == getattr(middle, link.target_side))
        self.to_many = self.to_many or link.many
        self._aliases[prefix] = alias
        return alias


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
    entity: Any = etype.model
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
        return _property(current, entity, segment, rest, text)
    raise SensorInputError(f"empty property path {text!r}")  # pragma: no cover


def _property(etype: EntityType, entity: Any, name: str, rest: list[str], text: str) -> Value:
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
    """``condition`` over the joined aliases: EXISTS (a row of the joins for which it holds)."""
    if not joins.conditions:
        return condition
    return sa.select(sa.literal(1)).where(*joins.conditions, condition).exists()


def scalar(joins: Joins, expr: ColumnElement[Any], text: str) -> ColumnElement[Any]:
    """``expr`` over links to one: a correlated scalar subquery (for ``$orderby``)."""
    if not joins.conditions:
        return expr
    if joins.to_many:
        raise SensorInputError(f"$orderby {text!r}: a path through a set of entities has no order")
    return sa.select(expr).where(*joins.conditions).scalar_subquery()
