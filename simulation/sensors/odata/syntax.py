"""Reading ``$filter`` and ``$orderby`` text into odata-query's syntax tree.

odata-query's lexer and parser (``odata_query.grammar``) do the reading; this module adapts
them to SensorThings: ``@iot.id`` is the property ``id``, function names are checked by the
translator (SensorThings has ``substringof`` and the ``st_*`` functions OData lacks), keywords
such as ``true`` or ``any`` no longer swallow the start of a longer name (``trueValue``), and
every syntax error becomes a :class:`SensorInputError` naming the place it happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, ParsingException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser
from sly.lex import Token

from simulation.sensors.errors import SensorInputError

_IOT_ID = re.compile(r"'(?:[^']|'')*'|@iot\.id")
_ORDER = re.compile(r"^(?P<expr>.*?)(?:\s+(?P<direction>asc|desc))?\s*$", re.I | re.S)


def _rule(pattern: str) -> Callable[[Callable[..., Token]], Callable[..., Token]]:
    """A lexer rule: sly takes a function with a ``pattern`` for its token of that name."""

    def mark(function: Callable[..., Token]) -> Callable[..., Token]:
        function.pattern = pattern  # type: ignore[attr-defined]
        return function

    return mark


class _Lexer(ODataLexer):
    """odata-query's lexer, with keywords that end at a word boundary."""

    tokens = ODataLexer.tokens

    @_rule(r"(?:true|false)\b")
    def BOOLEAN(self, t: Token) -> Token:  # noqa: N802  (sly names rules by token)
        t.value = ast.Boolean(t.value)
        return t

    @_rule(r"null\b")
    def NULL(self, t: Token) -> Token:  # noqa: N802
        t.value = ast.Null()
        return t

    @_rule(r"any\b")
    def ANY(self, t: Token) -> Token:  # noqa: N802
        t.value = ast.Any()
        return t

    @_rule(r"all\b")
    def ALL(self, t: Token) -> Token:  # noqa: N802
        t.value = ast.All()
        return t


def _call(func: ast.Identifier, args: list[Any]) -> ast.Call:
    """A function call, whatever its name: the translator knows SensorThings' functions."""
    return ast.Call(func, args)


@dataclass(frozen=True)
class _Source:
    """The text given to the lexer and how to map its positions back to the caller's."""

    text: str
    # (position in ``text``, characters removed before it) for each ``@iot.id`` shortened
    shifts: tuple[tuple[int, int], ...]

    def original_position(self, index: int) -> int:
        removed = 0
        for at, count in self.shifts:
            if at <= index:
                removed = count
        return index + removed


def _prepared(text: str) -> _Source:
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    last = removed = 0
    for match in _IOT_ID.finditer(text):
        if match.group(0) != "@iot.id":
            continue  # a quoted string: left as it is
        parts += [text[last : match.start()], "id"]
        end_in_new = match.start() - removed + len("id")
        removed += len("@iot.id") - len("id")
        shifts.append((end_in_new, removed))
        last = match.end()
    parts.append(text[last:])
    return _Source("".join(parts), tuple(shifts))


def parse_expression(text: str, offset: int = 0) -> Any:
    """The syntax tree of one OData expression (``offset``: where ``text`` starts in what
    the caller gave, for the positions in the messages)."""
    if not isinstance(text, str) or not text.strip():
        raise SensorInputError("the expression is empty")
    offset += len(text) - len(text.lstrip())
    text = text.strip()
    source = _prepared(text)
    parser = ODataParser()
    parser.__dict__["_function_call"] = _call
    try:
        return parser.parse(_Lexer().tokenize(source.text))
    except TokenizingException as exc:
        at = source.original_position(exc.token.index)
        shown = _snippet(text[at:])
        raise SensorInputError(f"cannot read {shown!r} at position {at + offset}") from None
    except ParsingException as exc:
        if exc.eof or exc.token is None:
            raise SensorInputError(f"{text!r} ends too early") from None
        at = source.original_position(exc.token.index)
        shown = _snippet(text[at:])
        raise SensorInputError(f"cannot understand {shown!r} at position {at + offset}") from None
    except ODataException as exc:
        raise SensorInputError(str(exc)) from None


def _snippet(rest: str) -> str:
    return rest[:24]


def split_order(text: str) -> list[tuple[str, bool, int]]:
    """``phenomenonTime desc, result`` as ``[("phenomenonTime", True, 0), ("result", False,
    21)]`` (expression, descending, where it starts), split at the commas outside
    parentheses and quotes."""
    if not isinstance(text, str) or not text.strip():
        raise SensorInputError("empty: give a property, e.g. 'id desc'")
    items: list[tuple[str, int]] = []
    depth, start, quoted = 0, 0, False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append((text[start:index], start))
            start = index + 1
    items.append((text[start:], start))
    ordered: list[tuple[str, bool, int]] = []
    for item, at in items:
        match = _ORDER.match(item)
        expression = match.group("expr") if match else ""
        if not expression.strip():
            raise SensorInputError(f"{text!r} has an empty item at position {at}")
        direction = (match.group("direction") or "asc").lower() if match else "asc"
        ordered.append((expression, direction == "desc", at))
    return ordered
