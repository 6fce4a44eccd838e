"""SensorThings query options: ``$top $skip $count $orderby $select $expand $filter`` and
``$resultFormat``, parsed into :class:`simulation.sensors.read.Query` and written back into
query strings (for ``@iot.nextLink``).

``$expand`` nests: ``Datastreams($select=name;$expand=Observations($top=5))`` and the path
form ``Datastreams/Observations``. Inside parentheses, options are separated by ``;``;
quoted text (``'a;b(c)'``, with ``''`` for a quote) is left whole. ``$filter`` and
``$orderby`` are kept as text and translated to SQL when the query runs. Every error names
the option it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import quote

from simulation.sensors.entities import EntityType, entity_type
from simulation.sensors.errors import SensorInputError
from simulation.sensors.read import DEFAULT_TOP, MAX_TOP, Expansion, Query

DATA_ARRAY = "dataArray"
NESTED_OPTIONS = ("$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand")
OPTIONS = (*NESTED_OPTIONS, "$resultFormat")
# The deepest $expand (each level is one more query).
MAX_DEPTH = 8
# The most digits of $top and $skip (a 64-bit offset holds them).
_DIGITS = 18
# Characters left as they are in the query strings this server writes.
_SAFE = "$(),;/='*:"


@dataclass(frozen=True)
class Options:
    """The parsed options of a request: the query, and the result format (None: JSON)."""

    query: Query
    result_format: str | None = None


def parse_options(pairs: Iterable[tuple[str, str]], etype: EntityType) -> Options:
    """The system query options among ``pairs`` (other parameters are ignored) for entities
    of ``etype``; a 400 naming the option when one is malformed, repeated or unknown."""
    given: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            continue
        if name not in OPTIONS:
            raise SensorInputError(f"{name}: unknown query option (use {', '.join(OPTIONS)})")
        if name in given:
            raise SensorInputError(f"{name}: given more than once")
        given[name] = value
    result_format = given.pop("$resultFormat", None)
    if result_format is not None and result_format != DATA_ARRAY:
        raise SensorInputError(f"$resultFormat: {result_format!r} is not known (use dataArray)")
    if result_format is not None and etype.plural != "Observations":
        raise SensorInputError("$resultFormat: dataArray applies to Observations only")
    query = _query(given, etype)
    if result_format is not None:
        if query.expand:
            raise SensorInputError("$expand: not with $resultFormat=dataArray")
        if query.select is not None and any(etype.has_link(name) for name in query.select):
            raise SensorInputError("$select: dataArray components are properties, not links")
    return Options(query, result_format)


def _query(given: dict[str, str], etype: EntityType, depth: int = 0) -> Query:
    query = Query()
    if "$top" in given:
        query = replace(query, top=min(_count_of("$top", given["$top"]), MAX_TOP))
    if "$skip" in given:
        query = replace(query, skip=_count_of("$skip", given["$skip"]))
    if "$count" in given:
        if given["$count"] not in ("true", "false"):
            raise SensorInputError(f"$count: {given['$count']!r} is neither true nor false")
        query = replace(query, count=given["$count"] == "true")
    if "$filter" in given:
        query = replace(query, filter=_expression("$filter", given["$filter"]))
    if "$orderby" in given:
        query = replace(query, orderby=_expression("$orderby", given["$orderby"]))
    if "$select" in given:
        query = replace(query, select=_select(given["$select"], etype))
    if "$expand" in given:
        try:
            query = replace(query, expand=_expand(given["$expand"], etype, depth))
        except SensorInputError as exc:
            raise SensorInputError(f"$expand: {exc}") from None
    return query


def _expression(name: str, text: str) -> str:
    if not text.strip():
        raise SensorInputError(f"{name}: empty")
    return text


def _count_of(name: str, text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise SensorInputError(f"{name}: {text!r} is not a whole number (0 or more)")
    if len(text) > _DIGITS:
        raise SensorInputError(f"{name}: {text} is too large")
    return int(text)


def _select(text: str, etype: EntityType) -> tuple[str, ...]:
    names = []
    for part in text.split(","):
        name = part.strip()
        if name == "@iot.id":
            name = "id"
        if name != "id" and not etype.has_link(name):
            try:
                etype.field(name)
            except SensorInputError as exc:
                raise SensorInputError(f"$select: {exc}") from None
        names.append(name)
    return tuple(dict.fromkeys(names))


def _expand(text: str, etype: EntityType, depth: int) -> tuple[Expansion, ...]:
    expansions = []
    for item in split_top_level(text, ","):
        path, options = _item(item.strip())
        names = path.split("/")
        if depth + len(names) > MAX_DEPTH:
            raise SensorInputError(f"expansions nest deeper than {MAX_DEPTH} levels")
        current = etype
        for name in names:
            try:
                current = entity_type(current.link(name).target)
            except SensorInputError as exc:
                raise SensorInputError(f"{path}: {exc}") from None
        query = Query()
        if options is not None:
            try:
                query = _query(_nested_options(options), current, depth + len(names))
            except SensorInputError as exc:
                raise SensorInputError(f"{path}({options}): {exc}") from None
        expansion = Expansion(names[-1], query)
        for name in reversed(names[:-1]):
            expansion = Expansion(name, Query(expand=(expansion,)))
        expansions.append(expansion)
    return _merged(expansions)


def _item(item: str) -> tuple[str, str | None]:
    """``Datastreams($top=1)`` as ``("Datastreams", "$top=1")``."""
    if not item:
        raise SensorInputError("an empty item")
    opening = item.find("(")
    if opening < 0:
        return item, None
    if not item.endswith(")"):
        raise SensorInputError(f"{item!r} does not end with its closing parenthesis")
    return item[:opening].strip(), item[opening + 1 : -1]


def _nested_options(text: str) -> dict[str, str]:
    given: dict[str, str] = {}
    for part in split_top_level(text, ";"):
        name, equals, value = part.strip().partition("=")
        if not equals or name not in NESTED_OPTIONS:
            raise SensorInputError(
                f"{part.strip()!r} is not one of {', '.join(NESTED_OPTIONS)} = value"
            )
        if name in given:
            raise SensorInputError(f"{name} given more than once")
        given[name] = value
    return given


def split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses and quoted text."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted  # '' inside a text closes and reopens it: same effect
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SensorInputError(f"a ')' closes nothing in {text!r}")
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth or quoted:
        raise SensorInputError(f"unbalanced parentheses or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def _merged(expansions: list[Expansion]) -> tuple[Expansion, ...]:
    """One expansion per link: ``Datastreams/Sensor,Datastreams/Thing`` expands both under
    one ``Datastreams``; options given on one of them are kept."""
    by_link: dict[str, Expansion] = {}
    for expansion in expansions:
        known = by_link.get(expansion.link)
        if known is None:
            by_link[expansion.link] = expansion
            continue
        base = expansion.query if _has_own_options(expansion.query) else known.query
        nested = _merged([*known.query.expand, *expansion.query.expand])
        by_link[expansion.link] = Expansion(expansion.link, replace(base, expand=nested))
    return tuple(by_link.values())


def _has_own_options(query: Query) -> bool:
    return replace(query, expand=()) != Query()


def query_string(query: Query, *, skip: int | None = None, result_format: str | None = None) -> str:
    """The query string of ``query`` (``skip`` in place of its own), for next links."""
    parts = _option_texts(query, skip=skip)
    if result_format is not None:
        parts.append(("$resultFormat", result_format))
    return "&".join(f"{name}={quote(value, safe=_SAFE)}" for name, value in parts)


def _option_texts(query: Query, *, skip: int | None = None) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    if query.filter is not None:
        parts.append(("$filter", query.filter))
    if query.orderby is not None:
        parts.append(("$orderby", query.orderby))
    if query.top != DEFAULT_TOP:
        parts.append(("$top", str(query.top)))
    skipped = query.skip if skip is None else skip
    if skipped:
        parts.append(("$skip", str(skipped)))
    if query.count:
        parts.append(("$count", "true"))
    if query.select is not None:
        parts.append(("$select", ",".join(query.select)))
    if query.expand:
        parts.append(("$expand", ",".join(_expansion_text(e) for e in query.expand)))
    return parts


def _expansion_text(expansion: Expansion) -> str:
    inner = ";".join(f"{name}={value}" for name, value in _option_texts(expansion.query))
    return f"{expansion.link}({inner})" if inner else expansion.link
