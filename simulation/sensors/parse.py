"""SensorThings observation JSON, one at a time or as data arrays, to :class:`ObservationIn`.

Parsing checks shapes and types only; whether a datastream exists and may be written by
the caller is :func:`simulation.sensors.ingest.ingest`'s business.
"""

from __future__ import annotations

import math
import time
from typing import Any

from simulation.sensors.errors import SensorInputError
from simulation.sensors.records import ObservationIn, Rejected
from simulation.sensors.times import parse_interval, parse_time

# What an observation's JSON may hold (links and ids given by the server are ignored).
OBSERVATION_KEYS = frozenset(
    {
        "phenomenonTime",
        "resultTime",
        "result",
        "resultQuality",
        "validTime",
        "parameters",
        "Datastream",
        "FeatureOfInterest",
    }
)
# The largest id a BIGINT column holds (on both backends).
MAX_ID = 2**63 - 1
IGNORED_KEYS = frozenset({"@iot.id", "@iot.selfLink", "id"})
# Components of a data array row (the data array extension of SensorThings 1.1).
COMPONENTS = frozenset(
    {
        "id",
        "phenomenonTime",
        "result",
        "resultTime",
        "resultQuality",
        "validTime",
        "parameters",
        "FeatureOfInterest/id",
    }
)


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def reference_id(value: Any, what: str) -> int:
    """The id of ``{"@iot.id": n}`` (a positive integer)."""
    if not isinstance(value, dict) or "@iot.id" not in value:
        raise SensorInputError(f'{what} must be given as {{"@iot.id": <id>}}')
    return entity_id(value["@iot.id"], what)


def entity_id(value: Any, what: str) -> int:
    """``value`` as an entity id (a positive integer a BIGINT holds, or its decimal text)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise SensorInputError(
            f"{what} id must be a positive integer below 2**63, not {str(value)[:30]!r}"
        )
    return value


def checked_result(value: Any) -> Any:
    """A result as stored: required, finite when a number."""
    if value is None:
        raise SensorInputError("an observation needs a result")
    if isinstance(value, float) and not math.isfinite(value):
        raise SensorInputError(f"result {value!r} is not a finite number")
    return value


def observation_from_json(data: Any, datastream_id: int | None = None) -> ObservationIn:
    """One observation from its SensorThings JSON.

    ``datastream_id`` is the datastream of the path it was posted to
    (``/Datastreams(3)/Observations``, an MQTT topic); otherwise the JSON names it. A
    missing ``phenomenonTime`` is the time of arrival, as the standard says. A
    FeatureOfInterest is referenced by id; an inline one must be created first.
    """
    if not isinstance(data, dict):
        raise SensorInputError(f"an observation must be a JSON object, not {type(data).__name__}")
    unknown = set(data) - OBSERVATION_KEYS - IGNORED_KEYS
    if unknown:
        raise SensorInputError(f"an Observation has no property {', '.join(sorted(unknown))}")
    named = data.get("Datastream")
    if named is not None:
        body_id = reference_id(named, "Datastream")
        if datastream_id is not None and body_id != datastream_id:
            raise SensorInputError(
                f"the observation names Datastream {body_id} but was sent to {datastream_id}"
            )
        datastream_id = body_id
    if datastream_id is None:
        raise SensorInputError('an observation needs its Datastream: {"@iot.id": <id>}')
    if "result" not in data:
        raise SensorInputError("an observation needs a result")
    feature = data.get("FeatureOfInterest")
    if feature is not None and (not isinstance(feature, dict) or "@iot.id" not in feature):
        raise SensorInputError(
            'an inline FeatureOfInterest must be created first; name it by {"@iot.id": <id>}'
        )
    feature_id = None if feature is None else reference_id(feature, "FeatureOfInterest")
    return _observation(datastream_id, data, feature_id)


def observations_from_data_array(body: Any) -> tuple[list[ObservationIn], list[Rejected]]:
    """The rows of a ``CreateObservations`` request.

    Rows are numbered across all groups in order (0, 1, ...). Rows that cannot be read are
    returned as :class:`Rejected` with that number; the others come back in order, so row
    ``i`` of the request is the ``k``-th observation where ``k`` counts the rows before
    ``i`` that were not rejected. A malformed group (no datastream, bad components) fails
    the whole request.
    """
    if not isinstance(body, list):
        raise SensorInputError("CreateObservations takes a JSON array of datastream groups")
    rows: list[ObservationIn] = []
    rejected: list[Rejected] = []
    index = 0
    for number, group in enumerate(body):
        datastream_id, components, data = _group(group, number)
        for values in data:
            try:
                rows.append(_array_row(datastream_id, components, values))
            except SensorInputError as error:
                rejected.append(Rejected(index, str(error)))
            index += 1
    return rows, rejected


def _group(group: Any, number: int) -> tuple[int, list[str], list[Any]]:
    where = f"group {number}"
    if not isinstance(group, dict):
        raise SensorInputError(f"{where}: each group must be a JSON object")
    if "MultiDatastream" in group:
        raise SensorInputError(f"{where}: MultiDatastreams are not supported")
    datastream_id = reference_id(group.get("Datastream"), f"{where}: Datastream")
    components = group.get("components")
    if not isinstance(components, list) or not components:
        raise SensorInputError(f"{where}: 'components' must list the columns of dataArray")
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise SensorInputError(
            f"{where}: unknown components {unknown}; use {', '.join(sorted(COMPONENTS))}"
        )
    if "result" not in components:
        raise SensorInputError(f"{where}: the components must include 'result'")
    if len(set(components)) != len(components):
        raise SensorInputError(f"{where}: a component is listed twice")
    data = group.get("dataArray")
    if not isinstance(data, list):
        raise SensorInputError(f"{where}: 'dataArray' must be an array of rows")
    return datastream_id, components, data


def _array_row(datastream_id: int, components: list[str], values: Any) -> ObservationIn:
    if not isinstance(values, list) or len(values) != len(components):
        raise SensorInputError(f"a row must be an array of {len(components)} values")
    row = dict(zip(components, values, strict=True))
    feature = row.get("FeatureOfInterest/id")
    feature_id = None if feature is None else entity_id(feature, "FeatureOfInterest")
    return _observation(datastream_id, row, feature_id)


def _observation(
    datastream_id: int, fields: dict[str, Any], feature_id: int | None
) -> ObservationIn:
    """An observation from its fields by SensorThings name (a missing phenomenonTime is
    the time of arrival)."""
    start, end = _interval(fields.get("phenomenonTime"), "phenomenonTime")
    valid_start, valid_end = _interval(fields.get("validTime"), "validTime")
    return ObservationIn(
        datastream_id=datastream_id,
        phenomenon_us=start if start is not None else now_us(),
        phenomenon_end_us=end,
        result=checked_result(fields["result"]),
        result_us=_time(fields.get("resultTime"), "resultTime"),
        valid_start_us=valid_start,
        valid_end_us=valid_end,
        result_quality=fields.get("resultQuality"),
        parameters=_parameters(fields.get("parameters")),
        feature_id=feature_id,
    )


def _interval(value: Any, name: str) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    try:
        return parse_interval(value)
    except SensorInputError as error:
        raise SensorInputError(f"{name}: {error}") from None


def _time(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except SensorInputError as error:
        raise SensorInputError(f"{name}: {error}") from None


def _parameters(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise SensorInputError("parameters must be a JSON object")
