"""SensorThings 1.1 ``$filter`` and ``$orderby`` as SQLAlchemy expressions.

``select(etype.model).where(filter_condition(etype, text, dialect))`` filters in SQL, one
statement whatever the expression: comparisons, ``and``/``or``/``not``, arithmetic, the
string, date/time, math and geo functions, navigation paths (``Datastream/Thing/name``:
a semi-join ``IN (SELECT ...)`` or an ``EXISTS``), JSON paths (``properties/floor``).
Nothing is evaluated row by row in Python, except on SQLite the exact geo predicates, SQL
functions over shapely that :func:`register_sqlite_functions` installs on the engine
(after a bounding-box test in SQL).

Anything that cannot be read, names an unknown property or function, or mixes types is a
:class:`~simulation.sensors.errors.SensorInputError` (HTTP 400) naming it, and the position
in ``text`` when the parser knows it; the message does not repeat the option's name (the
caller says ``$filter: ...``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.entities import EntityType
from simulation.sensors.odata.geo import register_sqlite_functions
from simulation.sensors.odata.syntax import parse_expression, split_order
from simulation.sensors.odata.translate import Translator
from simulation.sensors.odata.values import DIALECTS

__all__ = ["filter_condition", "order_by", "register_sqlite_functions"]


def _dialect(name: str) -> str:
    if name not in DIALECTS:
        raise ValueError(f"no $filter translation for the {name!r} dialect")
    return name


def filter_condition(etype: EntityType, text: str, dialect_name: str) -> ColumnElement[bool]:
    """The WHERE condition of the ``$filter`` ``text`` over ``etype.model``.

    ``dialect_name``: ``"sqlite"`` or ``"postgresql"`` (``engine.dialect.name``).
    """
    tree = parse_expression(text)
    return Translator(etype, _dialect(dialect_name)).condition(tree)


def order_by(etype: EntityType, text: str, dialect_name: str) -> list[ColumnElement[Any]]:
    """The ORDER BY expressions of the ``$orderby`` ``text`` (``phenomenonTime desc, result``).

    A path through links to one entity orders by a correlated subquery; an observation's
    ``result`` orders numbers first, then texts. Nulls come last going up, first going
    down, on both databases.
    """
    translator = Translator(etype, _dialect(dialect_name))
    ordered: list[ColumnElement[Any]] = []
    for expression, descending, start in split_order(text):
        tree = parse_expression(expression, start)
        for column in translator.ordering(tree, expression):
            # nulls where PostgreSQL puts them by default, on SQLite too
            ordered.append(column.desc().nulls_first() if descending else column.asc().nulls_last())
    return ordered
