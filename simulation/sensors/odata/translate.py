"""From odata-query's syntax tree to SQLAlchemy Core, over one entity type's table.

Conditions (the operands of ``and``, ``or``, ``not``) are translated one by one; the paths
inside one of them share their joins and, when they walk links, the condition becomes an
``EXISTS`` over those joins (through a link to many: "any of them"). Time intervals
(``phenomenonTime``) compare by their ends: ``gt``/``ge`` by the start, ``lt``/``le`` by the
end (the start when there is no end); an instant ``eq`` an interval when it falls in it,
ends included (FROST-Server's reading), two intervals when their ends are the same.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from sqlalchemy.sql.elements import ColumnElement

from simulation.sensors.entities import EntityType
from simulation.sensors.errors import SensorInputError
from simulation.sensors.odata import geo
from simulation.sensors.odata.functions import FUNCTIONS, US_PER_DAY, Call
from simulation.sensors.odata.paths import Joins, exists, resolve, scalar, segments_of
from simulation.sensors.odata.values import (
    Value,
    ValueType,
    as_condition,
    coerce,
    literal_value,
    natural,
    type_name,
)
from simulation.sensors.times import parse_time

_COMPARATORS: dict[type[Any], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("eq", operator.eq),
    ast.NotEq: ("ne", operator.ne),
    ast.Gt: ("gt", operator.gt),
    ast.GtE: ("ge", operator.ge),
    ast.Lt: ("lt", operator.lt),
    ast.LtE: ("le", operator.le),
}
_ARITHMETIC = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Mod: "mod"}
_LARGEST = 2**63 - 1  # a BIGINT's range
_ORDERED = {"number", "text", "time", "duration", "timeofday"}
# (left type, operator, right type) -> result type, for the arithmetic on times
_TIME_ARITHMETIC: dict[tuple[str, str, str], ValueType] = {
    ("time", "add", "duration"): "time",
    ("duration", "add", "time"): "time",
    ("time", "sub", "duration"): "time",
    ("time", "sub", "time"): "duration",
    ("duration", "add", "duration"): "duration",
    ("duration", "sub", "duration"): "duration",
    ("timeofday", "add", "duration"): "timeofday",
    ("timeofday", "sub", "duration"): "timeofday",
}


@dataclass
class Translator:
    """Translates the expressions of one entity type for one SQL dialect."""

    etype: EntityType
    dialect: str
    _joins: list[Joins] = field(default_factory=list)

    # --- conditions ----------------------------------------------------------------------

    def condition(self, node: Any) -> ColumnElement[bool]:
        """The WHERE condition of a boolean expression."""
        if isinstance(node, ast.BoolOp):
            left, right = self.condition(node.left), self.condition(node.right)
            return sa.and_(left, right) if isinstance(node.op, ast.And) else sa.or_(left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            try:
                return sa.not_(self.condition(node.operand))
            except SensorInputError as exc:
                if isinstance(node.operand, ast.Compare | ast.Call | ast.BoolOp):
                    raise
                hint = "'not' applies to what follows it only: write not (a eq b)"
                raise SensorInputError(f"{exc}; {hint}") from None
        joins = Joins.over(self.etype.model)
        self._joins.append(joins)
        try:
            found = self.value(node)
            condition = as_condition(found, self.dialect, found.text)
        finally:
            self._joins.pop()
        return exists(joins, condition)

    def ordering(self, node: Any, text: str) -> list[ColumnElement[Any]]:
        """The ORDER BY expressions of one ``$orderby`` item (a result: number, then text)."""
        joins = Joins.over(self.etype.model)
        self._joins.append(joins)
        try:
            found = self.value(node)
        finally:
            self._joins.pop()
        if found.type == "geometry":
            raise SensorInputError(f"{text!r}: geometries have no order")
        if found.type == "result":
            entity = found.result
            expressions = [entity.result_number, entity.result_text]
        else:
            expressions = [natural(found, self.dialect)]
        return [scalar(joins, expression, text) for expression in expressions]

    # --- values --------------------------------------------------------------------------

    def value(self, node: Any) -> Value:
        """The typed SQL value of an expression."""
        if isinstance(node, ast.Identifier | ast.Attribute):
            return self._path(node)
        if isinstance(node, ast._Literal):
            return self._literal(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp | ast.UnaryOp) and not isinstance(
            getattr(node, "op", None), ast.USub
        ):
            return Value("bool", self.condition(node), "a condition")
        if isinstance(node, ast.UnaryOp):
            return self._negative(node)
        if isinstance(node, ast.BinOp):
            return self._arithmetic(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.CollectionLambda):
            raise SensorInputError("any() and all() are not supported")
        raise SensorInputError(f"cannot use {type(node).__name__} here")

    def _path(self, node: Any) -> Value:
        segments = segments_of(node)
        if segments is None:
            raise SensorInputError("not a property path")
        if not self._joins:
            raise SensorInputError("a property outside a condition")
        return resolve(self.etype, segments, self._joins[-1])

    def _literal(self, node: Any) -> Value:
        if isinstance(node, ast.Null):
            return literal_value("null", None, "null")
        if isinstance(node, ast.Boolean):
            return literal_value("bool", node.py_val, node.val)
        if isinstance(node, ast.Integer) and abs(node.py_val) > _LARGEST:
            raise SensorInputError(f"{node.val} is too large a whole number")
        if isinstance(node, ast.Integer | ast.Float):
            return literal_value("number", node.py_val, node.val)
        if isinstance(node, ast.String):
            return literal_value("text", node.val, repr(node.val))
        if isinstance(node, ast.DateTime):
            return literal_value("time", parse_time(node.val), node.val)
        if isinstance(node, ast.Date):
            return literal_value("time", parse_time(node.val + "T00:00:00Z"), node.val)
        if isinstance(node, ast.Time):
            of_day = parse_time("1970-01-01T" + node.val + "Z")
            return literal_value("timeofday", of_day % US_PER_DAY, node.val)
        if isinstance(node, ast.Duration):
            seconds = node.py_val.total_seconds()
            return literal_value("duration", round(seconds * 1_000_000), node.val)
        if isinstance(node, ast.Geography):
            return geo.literal_geometry(node.val, f"geography'{node.val}'")
        raise SensorInputError(f"literals of type {type(node).__name__} are not known")

    # --- comparison ----------------------------------------------------------------------

    def _compare(self, node: Any) -> Value:
        if isinstance(node.comparator, ast.In):
            return self._in(node)
        name, compare = _COMPARATORS[type(node.comparator)]
        left, right = self.value(node.left), self.value(node.right)
        text = f"{left.text} {name} {right.text}"
        where = text
        if left.type == "null" or right.type == "null":
            other = right if left.type == "null" else left
            return Value("bool", self._null_test(other, name, where), text)
        left, right = self._unified(left, right, where)
        if left.type in ("geometry", "json", "result") or right.type == "geometry":
            raise SensorInputError(f"{where}: {type_name(left.type)} cannot be compared")
        if left.type == "bool" and name not in ("eq", "ne"):
            raise SensorInputError(f"{where}: booleans are compared by eq and ne only")
        if left.type not in _ORDERED and left.type != "bool":
            raise SensorInputError(f"{where}: {type_name(left.type)} cannot be compared")
        if left.type == "time" and (left.end is not None or right.end is not None):
            return Value("bool", _interval_compare(name, left, right), text)
        condition = compare(left.expr, right.expr)
        near = _near(name, left, right)
        return Value("bool", condition if near is None else sa.and_(near, condition), text)

    def _unified(self, left: Value, right: Value, where: str) -> tuple[Value, Value]:
        """Both operands of one type: a JSON value or a result takes the other's type."""
        flexible = ("json", "result")
        if left.type in flexible and right.type in flexible:
            if left.type == "result" or right.type == "result":
                return coerce(left, "number", self.dialect, where), coerce(
                    right, "number", self.dialect, where
                )
            return (
                Value("text", natural(left, self.dialect), left.text),
                Value("text", natural(right, self.dialect), right.text),
            )
        if left.type in flexible:
            left = coerce(left, right.type, self.dialect, where)
        elif right.type in flexible:
            right = coerce(right, left.type, self.dialect, where)
        elif left.type == "time" and right.type == "text":
            right = coerce(right, "time", self.dialect, where)
        elif right.type == "time" and left.type == "text":
            left = coerce(left, "time", self.dialect, where)
        if left.type != right.type:
            raise SensorInputError(
                f"{where}: {left.text} is {type_name(left.type)} and {right.text} "
                f"is {type_name(right.type)}"
            )
        return left, right

    def _null_test(self, value: Value, name: str, where: str) -> ColumnElement[bool]:
        if name not in ("eq", "ne"):
            raise SensorInputError(f"{where}: null is compared by eq and ne only")
        if value.type == "result":
            entity = value.result
            missing = sa.and_(
                entity.result_number.is_(None),
                entity.result_text.is_(None),
                sa.or_(
                    entity.result_json.is_(None), sa.cast(entity.result_json, sa.Text) == "null"
                ),
            )
        elif value.type == "json" and value.json is not None:
            missing = natural(value, self.dialect).is_(None)
        else:
            missing = value.expr.is_(None)
        return missing if name == "eq" else sa.not_(missing)

    def _in(self, node: Any) -> Value:
        left = self.value(node.left)
        items = [self.value(item) for item in node.right.val]
        where = f"{left.text} in (...)"
        if not items:
            raise SensorInputError(f"{where}: the list is empty")
        unified = [self._unified(left, item, where) for item in items]
        column = unified[0][0]
        if column.type in ("geometry", "bool"):
            raise SensorInputError(f"{where}: {type_name(column.type)} cannot be listed")
        return Value("bool", column.expr.in_([item.expr for _, item in unified]), where)

    # --- arithmetic ----------------------------------------------------------------------

    def _negative(self, node: Any) -> Value:
        operand = self.value(node.operand)
        if operand.type == "duration":
            return Value("duration", -operand.expr, f"-{operand.text}")
        number = coerce(operand, "number", self.dialect, f"-{operand.text}")
        if number.is_literal:
            return literal_value("number", -number.literal, f"-{number.text}")
        return Value("number", -number.expr, f"-{number.text}")

    def _arithmetic(self, node: Any) -> Value:
        name = _ARITHMETIC[type(node.op)]
        left, right = self.value(node.left), self.value(node.right)
        text = f"{left.text} {name} {right.text}"
        where = text
        timed = _TIME_ARITHMETIC.get((left.type, name, right.type))
        if timed is not None:
            expr = left.expr + right.expr if name == "add" else left.expr - right.expr
            return Value(timed, expr, text)
        a = coerce(left, "number", self.dialect, where).expr
        b = coerce(right, "number", self.dialect, where).expr
        if name == "add":
            return Value("number", a + b, text)
        if name == "sub":
            return Value("number", a - b, text)
        if name == "mul":
            return Value("number", a * b, text)
        divisor = sa.func.nullif(b, 0)  # a division by zero is NULL, not an SQL error
        if name == "div":
            return Value("number", sa.cast(a, sa.Float) / divisor, text)
        if self.dialect == "postgresql":
            modulo = sa.func.mod(sa.cast(a, sa.Numeric), sa.cast(divisor, sa.Numeric))
            return Value("number", sa.cast(modulo, sa.Float), text)
        return Value("number", sa.type_coerce(sa.func.mod(a, divisor), sa.Float), text)

    # --- functions -----------------------------------------------------------------------

    def _call(self, node: Any) -> Value:
        name = node.func.full_name()
        args = [self.value(argument) for argument in node.args]
        text = f"{name}({', '.join(argument.text for argument in args)})"
        lowered = name.lower()
        if lowered in geo.PREDICATES or lowered in ("st_relate", "geo.distance", "geo.length"):
            return self._geo(lowered, args, text)
        known = FUNCTIONS.get(lowered)
        if known is None:
            raise SensorInputError(f"unknown function {name!r}")
        least, most, translate = known
        _check_count(name, args, least, most)
        return translate(Call(lowered, args, self.dialect, text))

    def _geo(self, name: str, args: list[Value], text: str) -> Value:
        counts = {"st_relate": 3, "geo.length": 1}
        _check_count(name, args, counts.get(name, 2), counts.get(name, 2))
        for index, argument in enumerate(args[:2]):
            if argument.type != "geometry":
                raise SensorInputError(
                    f"{text}: argument {index + 1} of {name} is "
                    f"{type_name(argument.type)}, not a geometry"
                )
        if name == "geo.length":
            return geo.length(args[0], self.dialect, text)
        if name == "geo.distance":
            return geo.distance(args[0], args[1], self.dialect, text)
        if name == "st_relate":
            pattern = args[2]
            if not pattern.is_literal or pattern.type != "text":
                raise SensorInputError(f"{text}: the pattern must be a text")
            condition = geo.predicate(name, args[0], args[1], self.dialect, pattern.literal)
            return Value("bool", condition, text)
        return Value("bool", geo.predicate(name, args[0], args[1], self.dialect), text)


def _check_count(name: str, args: list[Value], least: int, most: int) -> None:
    if least <= len(args) <= most:
        return
    wanted = str(least) if least == most else f"{least} to {most}"
    raise SensorInputError(f"{name} takes {wanted} arguments, not {len(args)}")


def _interval_compare(name: str, left: Value, right: Value) -> ColumnElement[bool]:
    """Comparison where one side is an interval: by the end that decides it."""

    def ends(value: Value) -> tuple[Any, Any]:
        end = value.end if value.end is not None else value.expr
        return value.expr, sa.func.coalesce(end, value.expr)

    (l_start, l_end), (r_start, r_end) = ends(left), ends(right)
    if name == "gt":
        return l_start > r_end
    if name == "ge":
        return l_start >= r_end
    if name == "lt":
        return l_end < r_start
    if name == "le":
        return l_end <= r_start
    if left.end is not None and right.end is not None:
        same = sa.and_(l_start == r_start, l_end == r_end)
    else:  # an instant equals an interval it falls in (ends included), as in FROST-Server
        same = sa.and_(l_start <= r_end, r_start <= l_end)
    return same if name == "eq" else sa.not_(same)


def _near(name: str, left: Value, right: Value) -> ColumnElement[bool] | None:
    """The bbox prefilter of ``geo.distance(column, literal) lt d``."""
    if name in ("lt", "le") and isinstance(left.geometry, geo.Nearness) and right.is_literal:
        return geo.nearness_prefilter(left.geometry, float(right.literal))
    if name in ("gt", "ge") and isinstance(right.geometry, geo.Nearness) and left.is_literal:
        return geo.nearness_prefilter(right.geometry, float(left.literal))
    return None
