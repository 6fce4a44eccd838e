"""SensorThings JSON: entities with ``@iot.id``, ``@iot.selfLink`` and their navigation
links, collections with ``@iot.count`` and ``@iot.nextLink``, and the data array format.

Links are absolute, made from the base URL of the request (``http://host:port``). Times
are ISO 8601 (``2026-12-03T08:00:00Z``, intervals ``start/end``); a result comes from the
column it was stored in (number, text or JSON), whole numbers as integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.sta.options import query_string
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.entities import OBSERVATION, EntityType, Field, entity_type
from simulation.sensors.read import Entity, Page, Query, read_by_id
from simulation.sensors.records import StoredObservation
from simulation.sensors.times import format_interval, format_time

ROOT = "/sta/v1.1"
# A float holding a whole number up to this size is written as an integer.
_EXACT = 2**53
# The data array's components when $select does not name them.
DATA_ARRAY_COMPONENTS = ("id", "phenomenonTime", "resultTime", "result", "resultQuality",
                         "validTime", "parameters")  # fmt: skip


def service_url(base_url: str) -> str:
    """``http://host/sta/v1.1`` for the base URL ``http://host/``."""
    return base_url.rstrip("/") + ROOT


def self_link(base_url: str, etype: EntityType, entity_id: int) -> str:
    """The address of one entity: ``http://host/sta/v1.1/Things(1)``."""
    return f"{service_url(base_url)}/{etype.plural}({entity_id})"


def result_value(number: float | None, text: str | None, document: Any) -> Any:
    """An observation's result from the three columns that may hold it."""
    if document is not None:
        return document
    if text is not None:
        return text
    return whole(number)


def whole(number: float | None) -> float | int | None:
    """``number``, as an integer when it is a whole one (``8.0`` -> ``8``)."""
    if isinstance(number, float) and number.is_integer() and abs(number) < _EXACT:
        return int(number)
    return number


def field_value(found: Field, values: dict[str, Any]) -> Any:
    """The JSON value of the property ``found`` from an entity's column values."""
    if found.kind == "result":
        return result_value(values["result_number"], values["result_text"], values["result_json"])
    raw = values[found.column]
    if found.kind == "time":
        return None if raw is None else format_time(raw)
    if found.kind == "interval":
        assert found.end_column is not None
        return format_interval(raw, values[found.end_column])
    return raw


def entity_json(entity: Entity, base_url: str, query: Query | None = None) -> dict[str, Any]:
    """The JSON of ``entity``: the properties and links ``query`` selects (all by default),
    and what it expands."""
    query = query or Query()
    chosen = query.select
    etype = entity.etype
    link = self_link(base_url, etype, entity.id)
    out: dict[str, Any] = {}
    if chosen is None or "id" in chosen:
        out["@iot.id"] = entity.id
        out["@iot.selfLink"] = link
    for found in etype.fields:
        if chosen is None or found.name in chosen:
            out[found.name] = field_value(found, entity.values)
    for navigation in etype.links:
        if chosen is None or navigation.name in chosen:
            out[f"{navigation.name}@iot.navigationLink"] = f"{link}/{navigation.name}"
    for expansion in query.expand:
        name = expansion.link
        expanded = entity.expanded.get(name)
        if isinstance(expanded, Page):
            nested = expansion.query
            if expanded.count is not None:
                out[f"{name}@iot.count"] = expanded.count
            out[name] = [entity_json(child, base_url, nested) for child in expanded.entities]
            if expanded.more:
                following = query_string(nested, skip=nested.skip + nested.top)
                out[f"{name}@iot.nextLink"] = f"{link}/{name}?{following}"
        else:
            out[name] = (
                None if expanded is None else entity_json(expanded, base_url, expansion.query)
            )
    return out


def collection_json(
    page: Page, base_url: str, query: Query, next_link: str | None
) -> dict[str, Any]:
    """A collection: ``@iot.count`` when asked, ``@iot.nextLink`` when more follow, ``value``."""
    values = [entity_json(entity, base_url, query) for entity in page.entities]
    return _listing(page, next_link, values)


def references_json(
    page: Page, base_url: str, etype: EntityType, next_link: str | None
) -> dict[str, Any]:
    """A collection of references (``$ref``): the self links of its entities."""
    values = [{"@iot.selfLink": self_link(base_url, etype, e.id)} for e in page.entities]
    return _listing(page, next_link, values)


def _listing(page: Page, next_link: str | None, values: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if page.count is not None:
        out["@iot.count"] = page.count
    if page.more and next_link is not None:
        out["@iot.nextLink"] = next_link
    out["value"] = values
    return out


def data_array_json(
    page: Page, base_url: str, query: Query, next_link: str | None
) -> dict[str, Any]:
    """Observations in the data array format: one item per datastream with its
    ``components`` (the selected properties) and one row of values per observation."""
    components = _components(query.select)
    fields = {found.name: found for found in OBSERVATION.fields}
    groups: dict[int, list[list[Any]]] = {}
    for entity in page.entities:
        row = [entity.id if name == "id" else field_value(fields[name], entity.values)
               for name in components]  # fmt: skip
        groups.setdefault(entity.values["datastream_id"], []).append(row)
    datastreams = entity_type("Datastreams")
    out: dict[str, Any] = {}
    if page.count is not None:
        out["@iot.count"] = page.count
    if page.more and next_link is not None:
        out["@iot.nextLink"] = next_link
    out["value"] = [
        {
            "Datastream@iot.navigationLink": self_link(base_url, datastreams, datastream_id),
            "components": list(components),
            "dataArray@iot.count": len(rows),
            "dataArray": rows,
        }
        for datastream_id, rows in groups.items()
    ]
    return out


def _components(select: Sequence[str] | None) -> tuple[str, ...]:
    if select is None:
        return DATA_ARRAY_COMPONENTS
    return tuple(select)


def observation_json(stored: StoredObservation, base_url: str) -> dict[str, Any]:
    """The JSON of an observation just stored, as a read of it would give it."""
    number = text = document = None
    result = stored.result
    if isinstance(result, bool) or not isinstance(result, int | float | str):
        document = result
    elif isinstance(result, str):
        text = result
    else:
        number = float(result)
    values = {
        "phenomenon_us": stored.phenomenon_us,
        "phenomenon_end_us": stored.phenomenon_end_us,
        "result_us": stored.result_us,
        "valid_start_us": stored.valid_start_us,
        "valid_end_us": stored.valid_end_us,
        "result_number": number,
        "result_text": text,
        "result_json": document,
        "result_quality": stored.result_quality,
        "parameters": stored.parameters,
        "datastream_id": stored.datastream_id,
        "feature_id": stored.feature_id,
    }
    return entity_json(Entity(OBSERVATION, stored.id, values), base_url)


def read_entity(
    db: OpsDatabase, etype: EntityType | str, entity_id: int, scope: Scope, base_url: str
) -> dict[str, Any]:
    """The JSON of one stored entity (404 when it is missing or outside ``scope``)."""
    found = etype if isinstance(etype, EntityType) else entity_type(etype)
    return entity_json(read_by_id(db, found, entity_id, scope), base_url)
