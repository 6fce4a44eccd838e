"""The time series of a datastream: its raw values, or downsampled into fixed intervals.

Downsampling is done by the database: each observation falls in the bucket
``(phenomenon_us - origin) // resolution_us`` (``origin``: the start of the range, rounded
down to a multiple of the resolution, so hourly buckets start on the hour UTC and daily
ones at midnight UTC), and one ``GROUP BY`` gives the minimum, maximum, mean and count of
the numeric results of each bucket. A year of minute data at one hour is 8 760 rows out of
525 600 read from the ``(datastream_id, phenomenon_us)`` index.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, func, select

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.records import Bucket, Point

_US = 1_000_000
_UNITS = {
    "s": 1,
    "sec": 1,
    "min": 60,
    "h": 3_600,
    "hour": 3_600,
    "d": 86_400,
    "day": 86_400,
    "w": 604_800,
    "week": 604_800,
}
_RESOLUTION = re.compile(r"\s*(\d{1,9})\s*([a-z]+)\s*")
# More buckets than this in one answer is refused (a chart needs a few thousand at most).
MAX_BUCKETS = 100_000


def parse_resolution(text: str) -> int:
    """Seconds in a resolution such as ``1h``, ``15min``, ``1d``, ``30s``, ``1w``.

    Raises
    ------
    SensorInputError
        Text that is not a positive count followed by a unit (s, min, h, d, w).
    """
    match = _RESOLUTION.fullmatch(text.lower()) if isinstance(text, str) else None
    if match is None or match.group(2) not in _UNITS:
        raise SensorInputError(
            f"resolution {text!r} is not a count and a unit (s, min, h, d, w), as in 15min or 1h"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise SensorInputError(f"resolution {text!r} must be longer than zero")
    return seconds


def raw_series(
    db: OpsDatabase,
    datastream_id: int,
    scope: Scope,
    *,
    start_us: int | None,
    end_us: int | None,
    limit: int,
) -> list[Point]:
    """The first ``limit`` observations of a datastream in ``[start_us, end_us)``, oldest
    first (None: no bound on that side).

    Raises
    ------
    EntityNotFoundError
        No datastream ``datastream_id`` in ``scope``.
    """
    if limit < 0:
        raise SensorInputError(f"limit {limit} must not be negative")
    o = t.Observation
    query = select(o.phenomenon_us, o.result_number, o.result_text, o.result_json).where(
        o.datastream_id == datastream_id
    )
    if start_us is not None:
        query = query.where(o.phenomenon_us >= start_us)
    if end_us is not None:
        query = query.where(o.phenomenon_us < end_us)
    query = query.order_by(o.phenomenon_us).limit(limit)
    with db.engine.connect() as connection:
        _check_visible(connection, datastream_id, scope)
        rows = connection.execute(query).all()
    return [Point(row[0], _result(row[1], row[2], row[3])) for row in rows]


def _result(number: float | None, text: str | None, value: object) -> object:
    if number is not None:
        return number
    return text if text is not None else value


def downsampled(
    db: OpsDatabase,
    datastream_id: int,
    scope: Scope,
    *,
    start_us: int | None,
    end_us: int | None,
    resolution_us: int,
) -> list[Bucket]:
    """The numeric observations of a datastream in ``[start_us, end_us)`` grouped into
    intervals of ``resolution_us``: minimum, maximum, mean and count of each interval that
    holds one, oldest first. An open bound is the datastream's first or last observation.

    Raises
    ------
    EntityNotFoundError
        No datastream ``datastream_id`` in ``scope``.
    SensorInputError
        A resolution that is not positive, or one that would give more than
        :data:`MAX_BUCKETS` buckets.
    """
    if resolution_us <= 0:
        raise SensorInputError(f"resolution {resolution_us} µs must be longer than zero")
    with db.engine.connect() as connection:
        first, last = _check_visible(connection, datastream_id, scope)
        start = start_us if start_us is not None else first
        end = end_us if end_us is not None else (None if last is None else last + 1)
        if start is None or end is None or end <= start:
            return []
        if (end - start) // resolution_us > MAX_BUCKETS:
            raise SensorInputError(
                f"resolution {resolution_us // _US} s over this range gives more than"
                f" {MAX_BUCKETS} intervals: ask for a coarser one"
            )
        origin = start - start % resolution_us
        o = t.Observation
        bucket = ((o.phenomenon_us - origin) // resolution_us).label("bucket")
        query = (
            select(
                bucket,
                func.min(o.result_number),
                func.max(o.result_number),
                func.avg(o.result_number),
                func.count(o.result_number),
            )
            .where(
                o.datastream_id == datastream_id,
                o.phenomenon_us >= start,
                o.phenomenon_us < end,
                o.result_number.is_not(None),
            )
            .group_by(bucket)
            .order_by(bucket)
        )
        rows = connection.execute(query).all()
    return [
        Bucket(origin + int(row[0]) * resolution_us, row[1], row[2], float(row[3]), row[4])
        for row in rows
    ]


def _check_visible(
    connection: Connection, datastream_id: int, scope: Scope
) -> tuple[int | None, int | None]:
    """The phenomenon extent of the datastream; EntityNotFoundError when not in ``scope``."""
    d = t.Datastream
    row = connection.execute(
        select(d.phenomenon_start_us, d.phenomenon_end_us).where(
            d.id == datastream_id, within(d.jurisdiction, scope)
        )
    ).first()
    if row is None:
        raise EntityNotFoundError(f"no Datastream {datastream_id}")
    return row[0], row[1]
