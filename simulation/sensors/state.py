"""The latest state of datastreams: their newest value, where they are and how they stand.

Every ingest batch keeps each datastream's newest observation in its own row
(``latest_*`` columns), so the state of thousands of datastreams is one query over
``sta_datastreams`` joined with its thing, its observed property and the thing's first
location; no observation is read. The level (normal, warning, alarm, stale, unknown) is
worked out from the datastream's ``properties``::

    {"thresholds": {"warning": 30, "alarm": 50}, "staleAfter": 600}

``alarm >= warning``: higher values are worse; ``alarm < warning``: lower values are worse
(a water level falling under a minimum). ``staleAfter`` (seconds, default 3600): a latest
value older than that is stale, whatever it was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, case, cast, func, select

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.sensors.records import DatastreamState, Level

# A datastream whose latest value is older than this is stale, unless its properties say.
DEFAULT_STALE_AFTER_S = 3600.0
# Values per IN (...) list: under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 5_000
_US = 1_000_000


def level_of(
    result: Any, properties: Mapping[str, Any] | None, phenomenon_us: int | None, now_us: int
) -> Level:
    """How a datastream stands, given its latest ``result`` at ``phenomenon_us``.

    Parameters
    ----------
    result
        The latest result (None: no observation yet).
    properties
        The datastream's ``properties`` (``thresholds``, ``staleAfter``), or None.
    phenomenon_us, now_us
        When the latest result was observed, and now (microseconds since the epoch).

    Returns
    -------
    Level
        ``unknown`` with no value, ``stale`` when older than ``staleAfter``, else ``alarm``
        or ``warning`` past the thresholds (numeric results only), else ``normal``.
    """
    return _Rule.of(properties).level(result, phenomenon_us, now_us)


@dataclass(frozen=True)
class _Rule:
    """What a datastream's properties say about its levels."""

    warning: float | None
    alarm: float | None
    stale_after_us: float

    @classmethod
    def of(cls, properties: Mapping[str, Any] | None) -> _Rule:
        props = properties if isinstance(properties, Mapping) else {}
        stale_after = _number(props.get("staleAfter"))
        if stale_after is None or stale_after <= 0:
            stale_after = DEFAULT_STALE_AFTER_S
        thresholds = props.get("thresholds")
        if not isinstance(thresholds, Mapping):
            return cls(None, None, stale_after * _US)
        warning, alarm = _number(thresholds.get("warning")), _number(thresholds.get("alarm"))
        return cls(warning, alarm, stale_after * _US)

    def level(self, result: Any, phenomenon_us: int | None, now_us: int) -> Level:
        if result is None or phenomenon_us is None:
            return "unknown"
        if now_us - phenomenon_us > self.stale_after_us:
            return "stale"
        value = _number(result)
        if value is None:
            return "normal"
        warning, alarm = self.warning, self.alarm
        if warning is not None and alarm is not None and alarm < warning:  # lower is worse
            return "alarm" if value <= alarm else "warning" if value <= warning else "normal"
        if alarm is not None and value >= alarm:
            return "alarm"
        if warning is not None and value >= warning:
            return "warning"
        return "normal"


@lru_cache(maxsize=1024)
def _rule_of_text(text: str | None) -> _Rule:
    """The rule of properties stored as JSON text (datastreams often share theirs)."""
    try:
        properties = json.loads(text) if text else None
    except ValueError:
        properties = None
    return _Rule.of(properties)


def _number(value: Any) -> float | None:
    """``value`` as a finite float when it is a JSON number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def latest_states(
    db: OpsDatabase,
    scope: Scope,
    *,
    now_us: int,
    datastream_ids: Sequence[int] | None = None,
    city_objects: Sequence[str] | None = None,
) -> list[DatastreamState]:
    """The latest state of every datastream in ``scope``, ordered by datastream id.

    Parameters
    ----------
    db
        The operational database.
    scope
        The caller's scope: datastreams outside it are left out.
    now_us
        Now, in microseconds since the epoch (what ``staleAfter`` is measured against).
    datastream_ids
        Only these datastreams (ids not found or outside the scope are left out).
    city_objects
        Only the datastreams whose Thing sits in one of these city objects.
    """
    if datastream_ids is not None and not datastream_ids:
        return []
    if city_objects is not None and not city_objects:
        return []
    states: list[DatastreamState] = []
    queries = list(_queries(scope, datastream_ids, city_objects))
    with db.engine.connect() as connection:
        for query in queries:
            states.extend(_state(row, now_us) for row in connection.execute(query))
    if len(queries) > 1:  # each chunk is in order, and no two select the same datastream
        states.sort(key=lambda state: state.datastream_id)
    return states


def _queries(
    scope: Scope, datastream_ids: Sequence[int] | None, city_objects: Sequence[str] | None
) -> Iterator[Select[Any]]:
    """The state query, once per chunk of the id and city object lists."""
    base = _state_query(scope)
    id_chunks = _chunks(sorted(set(datastream_ids))) if datastream_ids is not None else [None]
    object_chunks = _chunks(sorted(set(city_objects))) if city_objects is not None else [None]
    for ids in id_chunks:
        for objects in object_chunks:
            query = base
            if ids is not None:
                query = query.where(t.Datastream.id.in_(ids))
            if objects is not None:
                query = query.where(t.Thing.city_object.in_(objects))
            yield query


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]


def _state_query(scope: Scope) -> Select[Any]:
    """Datastreams in ``scope`` with their thing, property, unit and first location."""
    first_location = (
        select(
            t.ThingLocation.thing_id.label("thing_id"),
            func.min(t.ThingLocation.location_id).label("location_id"),
        )
        .group_by(t.ThingLocation.thing_id)
        .subquery("first_location")
    )
    geometry = t.Location.location
    is_point = geometry["type"].as_string() == "Point"
    return (
        select(
            t.Datastream.id,
            t.Datastream.name,
            t.Datastream.thing_id,
            t.Thing.name.label("thing_name"),
            t.ObservedProperty.name.label("observed_property"),
            t.Datastream.unit_of_measurement["symbol"].as_string().label("unit_symbol"),
            t.Thing.city_object,
            t.Datastream.jurisdiction,
            ((t.Location.lon_min + t.Location.lon_max) / 2).label("lon"),
            ((t.Location.lat_min + t.Location.lat_max) / 2).label("lat"),
            case((is_point, geometry[("coordinates", 2)].as_float())).label("height"),
            t.Datastream.latest_phenomenon_us,
            t.Datastream.latest_result_number,
            t.Datastream.latest_result_json,
            cast(t.Datastream.properties, Text).label("properties"),
        )
        .join(t.Thing, t.Thing.id == t.Datastream.thing_id)
        .join(t.ObservedProperty, t.ObservedProperty.id == t.Datastream.observed_property_id)
        .outerjoin(first_location, first_location.c.thing_id == t.Datastream.thing_id)
        .outerjoin(t.Location, t.Location.id == first_location.c.location_id)
        .where(_in_scope(scope))
        .order_by(t.Datastream.id)
    )


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    return within(t.Datastream.jurisdiction, scope)


def _state(row: Any, now_us: int) -> DatastreamState:
    (datastream_id, name, thing_id, thing_name, observed_property, unit_symbol, city_object,
     jurisdiction, lon, lat, height, phenomenon_us, number, value, properties) = row  # fmt: skip
    result = number if number is not None else value
    return DatastreamState(
        datastream_id, name, thing_id, thing_name, observed_property, unit_symbol, city_object,
        jurisdiction, lon, lat, height, phenomenon_us, result,
        _rule_of_text(properties).level(result, phenomenon_us, now_us),
    )  # fmt: skip
