"""What a chart of a datastream needs besides its values: the time range the datastream
covers, and a resolution that keeps a downsampled answer to a few thousand points."""

from __future__ import annotations

from sqlalchemy import select

from cim.ops import sensor_tables as t
from cim.ops.database import OpsDatabase
from cim.ops.scoping import within
from cim.scope import Scope
from simulation.sensors.errors import EntityNotFoundError

_US = 1_000_000
# Resolutions a chart steps through, finest first: (seconds, name).
RESOLUTIONS: tuple[tuple[int, str], ...] = (
    (1, "1s"), (5, "5s"), (10, "10s"), (30, "30s"), (60, "1min"), (300, "5min"),
    (900, "15min"), (1_800, "30min"), (3_600, "1h"), (3 * 3_600, "3h"), (6 * 3_600, "6h"),
    (12 * 3_600, "12h"), (86_400, "1d"), (7 * 86_400, "1w"), (28 * 86_400, "4w"),
)  # fmt: skip


def phenomenon_extent(
    db: OpsDatabase, datastream_id: int, scope: Scope
) -> tuple[int | None, int | None]:
    """The first and last phenomenon times (µs) of a datastream (None, None: no observation).

    Raises
    ------
    EntityNotFoundError
        No datastream ``datastream_id`` in ``scope``.
    """
    d = t.Datastream
    query = select(d.phenomenon_start_us, d.phenomenon_end_us).where(
        d.id == datastream_id, within(d.jurisdiction, scope)
    )
    with db.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise EntityNotFoundError(f"no Datastream {datastream_id}")
    return row[0], row[1]


def fitting_resolution(span_us: int, max_points: int) -> tuple[int, str]:
    """The finest resolution of :data:`RESOLUTIONS` that cuts ``span_us`` into at most
    ``max_points`` intervals (the coarsest when none does): its seconds and name."""
    for seconds, name in RESOLUTIONS:
        if span_us <= seconds * _US * max_points:
            return seconds, name
    return RESOLUTIONS[-1]
