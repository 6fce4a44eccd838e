"""Storing observations in batches: idempotent, in any order, row by row accountable.

One call is one transaction. Each row is checked (its datastream exists and lies in the
caller's scope, its times and result are sound, its feature of interest exists); a bad row
is rejected with its reason and the good rows land. The same datastream and phenomenon
time is stored once: a repeat (in the batch or of an earlier batch) gets the id stored
first, whatever its result. Rows may come in any time order; each datastream's latest
observation and time extents follow the newest and widest.

An observation without a feature of interest gets the one made from its Thing's first
Location (made once per location, as SensorThings asks).

On SQLite the transaction takes the write lock first (``BEGIN IMMEDIATE``), so concurrent
writers queue on the busy timeout instead of failing when a read turns into a write.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import sqlite

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.records import IngestResult, ObservationIn, Rejected, StoredObservation

OBSERVATIONS = cast(Table, t.Observation.__table__)
DATASTREAMS = cast(Table, t.Datastream.__table__)
FEATURES = cast(Table, t.FeatureOfInterest.__table__)
LOCATIONS = cast(Table, t.Location.__table__)
THING_LOCATIONS = cast(Table, t.ThingLocation.__table__)
# Ids (or times of one datastream) in one IN list; rows in one INSERT.
ID_CHUNK = 500
INSERT_CHUNK = 1000

Key = tuple[int, int]


def ingest(db: OpsDatabase, rows: Sequence[ObservationIn], scope: Scope) -> IngestResult:
    """Store ``rows`` in one transaction; what became of each (see :class:`IngestResult`)."""
    if not rows:
        return IngestResult([], [], [])
    with db.write_connection() as conn:
        result = _ingest(conn, rows, scope)
        conn.commit()
    return result


def _ingest(conn: Connection, rows: Sequence[ObservationIn], scope: Scope) -> IngestResult:
    streams = _datastreams(conn, {row.datastream_id for row in rows})
    features = _features(conn, {row.feature_id for row in rows if row.feature_id is not None})
    rejected: list[Rejected] = []
    accepted: list[int] = []
    for index, row in enumerate(rows):
        reason = _problem(row, streams.get(row.datastream_id), features, scope)
        if reason is None:
            accepted.append(index)
        else:
            rejected.append(Rejected(index, reason))
    default_features = _default_features(
        conn,
        {
            streams[rows[i].datastream_id]["thing_id"]
            for i in accepted
            if rows[i].feature_id is None
        },
    )
    keep: list[int] = []
    for index in accepted:
        row = rows[index]
        thing = streams[row.datastream_id]["thing_id"]
        if row.feature_id is None and thing not in default_features:
            rejected.append(
                Rejected(
                    index,
                    f"no FeatureOfInterest given and Thing {thing} has no Location to make one"
                    " from",
                )
            )
        else:
            keep.append(index)
    rejected.sort(key=lambda r: r.index)

    first_of: dict[Key, int] = {}
    for index in keep:
        first_of.setdefault((rows[index].datastream_id, rows[index].phenomenon_us), index)
    values = [
        _values(rows[i], default_features.get(streams[rows[i].datastream_id]["thing_id"]))
        for i in first_of.values()
    ]
    inserted = _insert(conn, values)
    missing = [key for key in first_of if key not in inserted]
    existing = _existing_ids(conn, missing)
    ids: list[int | None] = [None] * len(rows)
    for index in keep:
        key = (rows[index].datastream_id, rows[index].phenomenon_us)
        ids[index] = inserted.get(key) or existing.get(key)
    created = _created(rows, first_of, inserted, values, streams)
    _update_datastreams(conn, created)
    return IngestResult(ids, rejected, created)


def _created(
    rows: Sequence[ObservationIn],
    first_of: dict[Key, int],
    inserted: dict[Key, int],
    values: list[dict[str, Any]],
    streams: dict[int, dict[str, Any]],
) -> list[StoredObservation]:
    created: list[StoredObservation] = []
    for (key, index), stored_values in zip(first_of.items(), values, strict=True):
        if key not in inserted:
            continue
        row = rows[index]
        stream = streams[row.datastream_id]
        created.append(
            StoredObservation(
                id=inserted[key],
                datastream_id=row.datastream_id,
                thing_id=stream["thing_id"],
                jurisdiction=stream["jurisdiction"],
                phenomenon_us=row.phenomenon_us,
                phenomenon_end_us=row.phenomenon_end_us,
                result_us=row.result_us,
                result=row.result,
                feature_id=stored_values["feature_id"],
                valid_start_us=row.valid_start_us,
                valid_end_us=row.valid_end_us,
                result_quality=row.result_quality,
                parameters=row.parameters,
            )
        )
    return created  # in input order: first_of is


def _problem(
    row: ObservationIn,
    stream: dict[str, Any] | None,
    features: dict[int, str],
    scope: Scope,
) -> str | None:
    if stream is None or not scope.contains(stream["jurisdiction"]):
        return f"Datastream {row.datastream_id} does not exist or is outside your jurisdiction"
    if row.phenomenon_end_us is not None and row.phenomenon_end_us < row.phenomenon_us:
        return "phenomenonTime ends before it starts"
    if (
        row.valid_start_us is not None
        and row.valid_end_us is not None
        and row.valid_end_us < row.valid_start_us
    ):
        return "validTime ends before it starts"
    if row.result is None:
        return "an observation needs a result"
    if isinstance(row.result, float) and not math.isfinite(row.result):
        return f"result {row.result!r} is not a finite number"
    if row.feature_id is not None:
        jurisdiction = features.get(row.feature_id)
        if jurisdiction is None or not scope.contains(jurisdiction):
            return (
                f"FeatureOfInterest {row.feature_id} does not exist or is outside your jurisdiction"
            )
    return None


def _values(row: ObservationIn, default_feature: int | None) -> dict[str, Any]:
    result = row.result
    number = text = None
    document: Any = None
    if isinstance(result, int | float) and not isinstance(result, bool):
        number = float(result)
    elif isinstance(result, str):
        text = result
    else:
        document = result
    return {
        "datastream_id": row.datastream_id,
        "phenomenon_us": row.phenomenon_us,
        "phenomenon_end_us": row.phenomenon_end_us,
        "result_us": row.result_us,
        "valid_start_us": row.valid_start_us,
        "valid_end_us": row.valid_end_us,
        "result_number": number,
        "result_text": text,
        "result_json": document,
        "result_quality": row.result_quality,
        "parameters": row.parameters,
        "feature_id": row.feature_id if row.feature_id is not None else default_feature,
    }


def _insert(conn: Connection, values: list[dict[str, Any]]) -> dict[Key, int]:
    """Insert the rows not stored yet; the ids of those inserted, by key."""
    if not values:
        return {}
    if conn.dialect.name == "postgresql":
        return _insert_postgresql(conn, values)
    inserted: dict[Key, int] = {}
    for chunk in _chunks(values, INSERT_CHUNK):
        statement = (
            sqlite.insert(OBSERVATIONS)
            .on_conflict_do_nothing(index_elements=["datastream_id", "phenomenon_us"])
            .returning(
                OBSERVATIONS.c.id, OBSERVATIONS.c.datastream_id, OBSERVATIONS.c.phenomenon_us
            )
        )
        for new_id, datastream_id, phenomenon in conn.execute(statement, chunk):
            inserted[(datastream_id, phenomenon)] = new_id
    return inserted


# PostgreSQL array type of each observation column given to unnest (JSON goes as text).
_PG_ARRAYS = {
    "result_number": "float8[]",
    "result_text": "text[]",
    "result_json": "text[]::json[]",
    "result_quality": "text[]::json[]",
    "parameters": "text[]::json[]",
}


def _insert_postgresql(conn: Connection, values: list[dict[str, Any]]) -> dict[Key, int]:
    """The rows as one array per column, expanded by ``unnest``: one statement of a dozen
    parameters, where a multi-row VALUES of thousands of placeholders costs the driver more
    to build and parse than the server takes to store it."""
    columns = list(values[0])
    arrays: list[list[Any]] = []
    for name in columns:
        column = [row[name] for row in values]
        if _PG_ARRAYS.get(name, "").endswith("json[]"):
            column = [None if value is None else json.dumps(value) for value in column]
        arrays.append(column)
    casts = ", ".join(f"%s::{_PG_ARRAYS.get(name, 'int8[]')}" for name in columns)
    statement = (
        f"INSERT INTO {OBSERVATIONS.name} ({', '.join(columns)})"
        f" SELECT * FROM unnest({casts})"
        " ON CONFLICT (datastream_id, phenomenon_us) DO NOTHING"
        " RETURNING id, datastream_id, phenomenon_us"
    )
    rows = conn.exec_driver_sql(statement, tuple(arrays))
    return {(datastream_id, phenomenon): new_id for new_id, datastream_id, phenomenon in rows}


def _existing_ids(conn: Connection, keys: list[Key]) -> dict[Key, int]:
    """The ids of observations already stored under ``keys``.

    Asked datastream by datastream (``datastream_id = ? AND phenomenon_us IN (...)``), which
    both backends answer from the unique index; SQLite scans the whole index for a row-value
    ``(datastream_id, phenomenon_us) IN (...)``, so a batch of repeats slowed down as the
    table grew.
    """
    found: dict[Key, int] = {}
    times_of: dict[int, list[int]] = {}
    for datastream_id, phenomenon in keys:
        times_of.setdefault(datastream_id, []).append(phenomenon)
    o = OBSERVATIONS.c
    for datastream_id, times in times_of.items():
        for chunk in _chunks(times, ID_CHUNK):
            query = select(o.id, o.phenomenon_us).where(
                o.datastream_id == datastream_id, o.phenomenon_us.in_(chunk)
            )
            for found_id, phenomenon in conn.execute(query):
                found[(datastream_id, phenomenon)] = found_id
    return found


def _datastreams(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = (DATASTREAMS.c.id, DATASTREAMS.c.thing_id, DATASTREAMS.c.jurisdiction)
    for chunk in _chunks(sorted(ids), ID_CHUNK):
        for row in conn.execute(select(*columns).where(DATASTREAMS.c.id.in_(chunk))):
            found[row.id] = {"thing_id": row.thing_id, "jurisdiction": row.jurisdiction}
    return found


def _features(conn: Connection, ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(ids), ID_CHUNK):
        query = select(FEATURES.c.id, FEATURES.c.jurisdiction).where(FEATURES.c.id.in_(chunk))
        found.update({row.id: row.jurisdiction for row in conn.execute(query)})
    return found


def _default_features(conn: Connection, things: set[int]) -> dict[int, int]:
    """For each thing with a location, the feature of interest made from its first one."""
    first_location: dict[int, int] = {}
    for chunk in _chunks(sorted(things), ID_CHUNK):
        query = (
            select(THING_LOCATIONS.c.thing_id, THING_LOCATIONS.c.location_id)
            .where(THING_LOCATIONS.c.thing_id.in_(chunk))
            .order_by(THING_LOCATIONS.c.thing_id, THING_LOCATIONS.c.location_id)
        )
        for thing, location in conn.execute(query):
            first_location.setdefault(thing, location)
    locations = set(first_location.values())
    made: dict[int, int] = {}
    for chunk in _chunks(sorted(locations), ID_CHUNK):
        query = select(FEATURES.c.id, FEATURES.c.source_location_id).where(
            FEATURES.c.source_location_id.in_(chunk)
        )
        for feature, location in conn.execute(query):
            made.setdefault(location, feature)
    for location in sorted(locations - set(made)):
        made[location] = _feature_from_location(conn, location)
    return {thing: made[location] for thing, location in first_location.items()}


def _feature_from_location(conn: Connection, location_id: int) -> int:
    source = conn.execute(select(LOCATIONS).where(LOCATIONS.c.id == location_id)).one()
    values = {
        "name": source.name,
        "description": source.description,
        "encoding_type": source.encoding_type,
        "feature": source.location,
        "properties": None,
        "jurisdiction": source.jurisdiction,
        "city_object": source.city_object,
        "lon_min": source.lon_min,
        "lat_min": source.lat_min,
        "lon_max": source.lon_max,
        "lat_max": source.lat_max,
        "source_location_id": location_id,
    }
    new_id: int = conn.execute(FEATURES.insert().returning(FEATURES.c.id), values).scalar_one()
    return new_id


def _update_datastreams(conn: Connection, created: list[StoredObservation]) -> None:
    """Move each touched datastream's latest observation and time extents: two statements,
    each run once over every touched datastream."""
    newest: dict[int, StoredObservation] = {}
    extents: dict[int, tuple[int, int, int | None, int | None]] = {}
    for obs in created:
        best = newest.get(obs.datastream_id)
        if best is None or obs.phenomenon_us >= best.phenomenon_us:
            newest[obs.datastream_id] = obs
        end = obs.phenomenon_end_us if obs.phenomenon_end_us is not None else obs.phenomenon_us
        start, stop, first_result, last_result = extents.get(
            obs.datastream_id, (obs.phenomenon_us, end, None, None)
        )
        if obs.result_us is not None:
            first_result = (
                obs.result_us if first_result is None else min(first_result, obs.result_us)
            )
            last_result = obs.result_us if last_result is None else max(last_result, obs.result_us)
        extents[obs.datastream_id] = (
            min(start, obs.phenomenon_us),
            max(stop, end),
            first_result,
            last_result,
        )
    if not newest:
        return
    conn.execute(
        _WIDEN_STATEMENTS[conn.dialect.name == "postgresql"],
        [
            {"b_id": ds, "b_ps": start, "b_pe": end, "b_rs": first, "b_re": last}
            for ds, (start, end, first, last) in extents.items()
        ],
    )
    conn.execute(
        _LATEST_STATEMENT,
        [
            {
                "b_id": ds,
                "b_obs": obs.id,
                "b_time": obs.phenomenon_us,
                "b_number": _number(obs.result),
                "b_json": None if _number(obs.result) is not None else obs.result,
            }
            for ds, obs in newest.items()
        ],
    )


def _number(result: Any) -> float | None:
    if isinstance(result, int | float) and not isinstance(result, bool):
        return float(result)
    return None


def _widen_statement(postgres: bool) -> Any:
    """``UPDATE`` widening the time extents by bound values (a NULL value keeps the column:
    SQLite's two-argument MIN/MAX is NULL when an argument is)."""
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    c = DATASTREAMS.c

    def widen(combine: Any, column: Any, name: str) -> Any:
        value = bindparam(name, type_=t.TimeUs())
        return func.coalesce(combine(func.coalesce(column, value), value), column)

    return (
        update(DATASTREAMS)
        .where(c.id == bindparam("b_id"))
        .values(
            phenomenon_start_us=widen(least, c.phenomenon_start_us, "b_ps"),
            phenomenon_end_us=widen(greatest, c.phenomenon_end_us, "b_pe"),
            result_start_us=widen(least, c.result_start_us, "b_rs"),
            result_end_us=widen(greatest, c.result_end_us, "b_re"),
        )
    )


_WIDEN_STATEMENTS = {False: _widen_statement(False), True: _widen_statement(True)}
_LATEST_STATEMENT = (
    update(DATASTREAMS)
    .where(
        and_(
            DATASTREAMS.c.id == bindparam("b_id"),
            or_(
                DATASTREAMS.c.latest_phenomenon_us.is_(None),
                DATASTREAMS.c.latest_phenomenon_us <= bindparam("b_time"),
            ),
        )
    )
    .values(
        latest_observation_id=bindparam("b_obs"),
        latest_phenomenon_us=bindparam("b_time"),
        latest_result_number=bindparam("b_number"),
        latest_result_json=bindparam("b_json", type_=t.Json),
    )
)


def _chunks(items: Sequence[Any] | Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
