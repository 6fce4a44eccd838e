"""Raw and downsampled series of a datastream (simulation.sensors.series)."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from cim.ops.database import OpsDatabase
from cim.scope import Scope
from simulation.sensors.errors import EntityNotFoundError, SensorInputError
from simulation.sensors.records import Bucket, Point
from simulation.sensors.series import downsampled, parse_resolution, raw_series
from tests.simulation.sensors.seed import (
    HOUR_US,
    TIANHE,
    YUEXIU,
    add_datastream,
    add_observations,
)

DAY_START = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
MINUTE_US = 60_000_000
EVERYTHING = Scope.everything()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600), ("15min", 900), ("1d", 86_400), ("30s", 30), ("2w", 1_209_600),
     (" 6 H ", 21_600), ("1day", 86_400)],
)  # fmt: skip
def test_parse_resolution(text: str, seconds: int) -> None:
    assert parse_resolution(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "0h", "-1h", "1.5h", "1y", "1m", "15 minutes", "1h2"])
def test_parse_resolution_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(SensorInputError, match="resolution"):
        parse_resolution(text)


def test_raw_series_in_order_within_bounds(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    times = [DAY_START + i * MINUTE_US for i in range(10)]
    shuffled = list(zip(times, range(10), strict=True))
    random.Random(4).shuffle(shuffled)
    add_observations(sensing_db, seeded.datastream_id, shuffled)
    ident = seeded.datastream_id
    every = raw_series(sensing_db, ident, EVERYTHING, start_us=None, end_us=None, limit=100)
    assert every == [Point(t, float(i)) for i, t in enumerate(times)]
    window = raw_series(sensing_db, ident, EVERYTHING, start_us=times[2], end_us=times[5],
                        limit=100)  # fmt: skip
    assert [p.phenomenon_us for p in window] == times[2:5]  # the end is left out
    first = raw_series(sensing_db, ident, EVERYTHING, start_us=times[1], end_us=None, limit=3)
    assert [p.result for p in first] == [1.0, 2.0, 3.0]


def test_raw_series_gives_text_and_json_results(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    rows = [(DAY_START, "open"), (DAY_START + 1, {"a": [1, 2]}), (DAY_START + 2, True)]
    add_observations(sensing_db, seeded.datastream_id, rows)
    found = raw_series(sensing_db, seeded.datastream_id, EVERYTHING, start_us=None, end_us=None,
                       limit=10)  # fmt: skip
    assert [p.result for p in found] == ["open", {"a": [1, 2]}, True]


def _expected(rows: list[tuple[int, float]], origin: int, resolution: int) -> list[Bucket]:
    groups: dict[int, list[float]] = defaultdict(list)
    for time_us, value in rows:
        groups[(time_us - origin) // resolution].append(value)
    return [Bucket(origin + k * resolution, min(v), max(v), sum(v) / len(v), len(v))
            for k, v in sorted(groups.items())]  # fmt: skip


def _close(found: list[Bucket], expected: list[Bucket]) -> None:
    assert [(b.start_us, b.min, b.max, b.count) for b in found] == [
        (b.start_us, b.min, b.max, b.count) for b in expected]  # fmt: skip
    assert [b.mean for b in found] == pytest.approx([b.mean for b in expected])


def test_downsampled_buckets_on_the_hour(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    other = add_datastream(sensing_db)
    noise = random.Random(12)
    rows = [(DAY_START + i * MINUTE_US + noise.randrange(MINUTE_US), noise.uniform(-5, 40))
            for i in range(0, 3 * 24 * 60, 7)]  # fmt: skip
    add_observations(sensing_db, seeded.datastream_id, rows)
    add_observations(sensing_db, other.datastream_id, [(t, 1000.0) for t, _ in rows])
    # a range that starts at 05:20 still buckets on the hour, from 05:00
    start, end = DAY_START + 5 * HOUR_US + 20 * MINUTE_US, DAY_START + 50 * HOUR_US
    found = downsampled(sensing_db, seeded.datastream_id, EVERYTHING, start_us=start,
                        end_us=end, resolution_us=HOUR_US)  # fmt: skip
    inside = [(t, v) for t, v in rows if start <= t < end]
    _close(found, _expected(inside, DAY_START + 5 * HOUR_US, HOUR_US))
    assert found[0].start_us == DAY_START + 5 * HOUR_US
    assert sum(b.count for b in found) == len(inside)


def test_downsampled_over_the_whole_extent_by_default(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    rows = [(DAY_START + i * 10 * MINUTE_US, float(i % 17)) for i in range(500)]
    add_observations(sensing_db, seeded.datastream_id, rows)
    day = 24 * HOUR_US
    found = downsampled(sensing_db, seeded.datastream_id, EVERYTHING, start_us=None,
                        end_us=None, resolution_us=day)  # fmt: skip
    _close(found, _expected(rows, DAY_START, day))
    assert sum(b.count for b in found) == 500


def test_downsampled_leaves_out_results_that_are_no_numbers(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    add_observations(sensing_db, seeded.datastream_id,
                     [(DAY_START, 2.0), (DAY_START + 1, "broken"), (DAY_START + 2, 4.0),
                      (DAY_START + 2 * HOUR_US, {"x": 1})])  # fmt: skip
    found = downsampled(sensing_db, seeded.datastream_id, EVERYTHING, start_us=DAY_START,
                        end_us=DAY_START + 3 * HOUR_US, resolution_us=HOUR_US)  # fmt: skip
    assert found == [Bucket(DAY_START, 2.0, 4.0, 3.0, 2)]


def test_an_empty_range_has_no_buckets(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    ident = seeded.datastream_id
    assert downsampled(sensing_db, ident, EVERYTHING, start_us=None, end_us=None,
                       resolution_us=HOUR_US) == []  # fmt: skip
    add_observations(sensing_db, ident, [(DAY_START, 1.0)])
    assert downsampled(sensing_db, ident, EVERYTHING, start_us=DAY_START + 1,
                       end_us=DAY_START, resolution_us=HOUR_US) == []  # fmt: skip
    assert raw_series(sensing_db, ident, EVERYTHING, start_us=DAY_START + 1, end_us=None,
                      limit=5) == []  # fmt: skip


def test_a_datastream_outside_the_scope_is_not_found(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db, jurisdiction=TIANHE)
    add_observations(sensing_db, seeded.datastream_id, [(DAY_START, 1.0)])
    ident = seeded.datastream_id
    found = raw_series(sensing_db, ident, Scope.of(TIANHE), start_us=None, end_us=None, limit=5)
    assert len(found) == 1
    for ask in (
        lambda: raw_series(sensing_db, ident, Scope.of(YUEXIU), start_us=None, end_us=None,
                           limit=5),
        lambda: downsampled(sensing_db, ident, Scope.of(YUEXIU), start_us=None, end_us=None,
                            resolution_us=HOUR_US),
        lambda: raw_series(sensing_db, ident + 100, EVERYTHING, start_us=None, end_us=None,
                           limit=5),
    ):  # fmt: skip
        with pytest.raises(EntityNotFoundError, match="Datastream"):
            ask()


def test_a_resolution_too_fine_for_the_range_is_refused(sensing_db: OpsDatabase) -> None:
    seeded = add_datastream(sensing_db)
    ident = seeded.datastream_id
    with pytest.raises(SensorInputError, match="coarser"):
        downsampled(sensing_db, ident, EVERYTHING, start_us=0, end_us=DAY_START,
                    resolution_us=1_000_000)  # fmt: skip
    with pytest.raises(SensorInputError, match="longer than zero"):
        downsampled(sensing_db, ident, EVERYTHING, start_us=0, end_us=DAY_START, resolution_us=0)
    with pytest.raises(SensorInputError, match="negative"):
        raw_series(sensing_db, ident, EVERYTHING, start_us=None, end_us=None, limit=-1)
