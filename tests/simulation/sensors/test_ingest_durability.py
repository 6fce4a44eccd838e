"""Ingest that loses nothing, on SQLite and PostgreSQL: repeats and disorder across batches,
bad rows beside good ones, concurrent writers, a writer killed with SIGKILL mid-ingest, and
ingest going on while an IFC import writes the city store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.scope import Scope
from simulation.sensors.ingest import ingest
from simulation.sensors.records import ObservationIn
from simulation.sensors.series import downsampled, raw_series
from simulation.sensors.state import latest_states
from tests.conftest import OPEN_HOUSE, PROJECT_ROOT
from tests.simulation.sensors.children import SECOND_US, T0
from tests.simulation.sensors.seed import TIANHE, YUEXIU, add_datastream

ALL = Scope.everything()
POINT = {"type": "Point", "coordinates": [113.33, 23.12]}
HOUR_US = 3_600 * SECOND_US
# Between two batches fed during an import (a feed, not a flood: the import needs CPU too).
PAUSE_S = 0.05


def _stored(db: OpsDatabase, datastream_id: int) -> dict[int, tuple[int, float | None]]:
    """phenomenon_us -> (id, result_number) of a datastream's observations."""
    o = t.Observation
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(o.phenomenon_us, o.id, o.result_number).where(o.datastream_id == datastream_id)
        ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_shuffled_batches_with_repeats_store_each_time_once(sensing_db: OpsDatabase) -> None:
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    times = [T0 + k * 60 * SECOND_US for k in range(3_000)]
    rows = [ObservationIn(stream, time_us, float(k)) for k, time_us in enumerate(times)]
    rows += random.Random(7).sample(rows, 900)  # sent again, in other batches
    random.Random(8).shuffle(rows)
    first_id: dict[int, int] = {}
    for start in range(0, len(rows), 700):
        result = ingest(sensing_db, rows[start : start + 700], ALL)
        assert result.rejected == []
        for row, stored_id in zip(rows[start : start + 700], result.ids, strict=True):
            assert stored_id is not None
            assert first_id.setdefault(row.phenomenon_us, stored_id) == stored_id
    stored = _stored(sensing_db, stream)
    assert sorted(stored) == times
    assert {time_us: ident for time_us, (ident, _) in stored.items()} == first_id
    # everything again in one batch: nothing new, the first ids
    again = ingest(sensing_db, [ObservationIn(stream, time_us, -1.0) for time_us in times], ALL)
    assert again.created == [] and again.ids == [first_id[time_us] for time_us in times]
    assert all(value == float(times.index(time_us)) for time_us, (_, value) in stored.items())
    # the read side sees the newest value and every observation, once
    (state,) = latest_states(sensing_db, ALL, now_us=times[-1])
    assert (state.phenomenon_us, state.result) == (times[-1], float(len(times) - 1))
    buckets = downsampled(
        sensing_db, stream, ALL, start_us=None, end_us=None, resolution_us=HOUR_US
    )
    assert [b.count for b in buckets] == [60] * 50
    assert buckets[0].mean == pytest.approx(29.5)
    series = raw_series(sensing_db, stream, ALL, start_us=None, end_us=None, limit=10_000)
    assert [p.phenomenon_us for p in series] == times


def test_every_field_of_an_observation_is_stored_as_given(sensing_db: OpsDatabase) -> None:
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    full = ObservationIn(
        stream, T0, {"open": True, "doors": [1, 2]}, phenomenon_end_us=T0 + 60 * SECOND_US,
        result_us=T0 + 61 * SECOND_US, valid_start_us=T0, valid_end_us=T0 + HOUR_US,
        result_quality={"flag": "checked"}, parameters={"gain": 2.5, "note": "é 水位"},
    )  # fmt: skip
    others = ["dry", 7, False, [1, "a"]]
    rows = [full] + [ObservationIn(stream, T0 + 1 + k, value) for k, value in enumerate(others)]
    result = ingest(sensing_db, rows, ALL)
    assert result.rejected == []
    o = t.Observation
    with sensing_db.engine.connect() as connection:
        stored = connection.execute(
            select(o.id, o.phenomenon_us, o.phenomenon_end_us, o.result_us, o.valid_start_us,
                   o.valid_end_us, o.result_number, o.result_text, o.result_json,
                   o.result_quality, o.parameters, o.feature_id)
            .order_by(o.phenomenon_us)
        ).all()  # fmt: skip
    assert [row[0] for row in stored] == result.ids
    assert tuple(stored[0][1:11]) == (
        T0, T0 + 60 * SECOND_US, T0 + 61 * SECOND_US, T0, T0 + HOUR_US, None, None,
        {"open": True, "doors": [1, 2]}, {"flag": "checked"}, {"gain": 2.5, "note": "é 水位"},
    )  # fmt: skip
    assert [tuple(row[6:11]) for row in stored[1:]] == [
        (None, "dry", None, None, None), (7.0, None, None, None, None),
        (None, None, False, None, None), (None, None, [1, "a"], None, None),
    ]  # fmt: skip
    assert len({row[11] for row in stored}) == 1 and stored[0][11] is not None
    series = raw_series(sensing_db, stream, ALL, start_us=None, end_us=None, limit=10)
    assert [p.result for p in series] == [{"open": True, "doors": [1, 2]}, "dry", 7.0, False,
                                          [1, "a"]]  # fmt: skip


def test_the_latest_value_and_extents_follow_batches_of_any_kind(sensing_db: OpsDatabase) -> None:
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    minute = 60 * SECOND_US
    d = t.Datastream

    def stored_state() -> tuple[object, ...]:
        with sensing_db.engine.connect() as connection:
            row = connection.execute(
                select(d.latest_phenomenon_us, d.latest_result_number,
                       d.latest_result_json.is_(None), d.phenomenon_start_us,
                       d.phenomenon_end_us, d.result_start_us, d.result_end_us)
                .where(d.id == stream)
            ).one()  # fmt: skip
        return tuple(row)

    def latest() -> object:
        (state,) = latest_states(sensing_db, ALL, now_us=T0 + 10 * minute)
        return state.result

    ingest(
        sensing_db, [ObservationIn(stream, T0 + 2 * minute, "dry", result_us=T0 + 5 * minute)], ALL
    )
    assert latest() == "dry"
    ingest(sensing_db, [ObservationIn(stream, T0 + minute, 5.0)], ALL)  # older, no result time
    assert latest() == "dry"
    assert stored_state() == (T0 + 2 * minute, None, False, T0 + minute, T0 + 2 * minute,
                              T0 + 5 * minute, T0 + 5 * minute)  # fmt: skip
    ingest(sensing_db, [ObservationIn(stream, T0 + 3 * minute, {"a": 1}, result_us=T0)], ALL)
    assert latest() == {"a": 1}
    ingest(sensing_db, [ObservationIn(stream, T0 + 4 * minute, 7.0,
                                      phenomenon_end_us=T0 + 6 * minute)], ALL)  # fmt: skip
    assert latest() == 7.0
    assert stored_state() == (T0 + 4 * minute, 7.0, True, T0 + minute, T0 + 6 * minute,
                              T0, T0 + 5 * minute)  # fmt: skip


def test_each_bad_row_is_rejected_and_every_good_row_lands(sensing_db: OpsDatabase) -> None:
    ours = add_datastream(sensing_db, jurisdiction=TIANHE, location=POINT).datastream_id
    theirs = add_datastream(sensing_db, jurisdiction=YUEXIU, location=POINT).datastream_id
    rows: list[ObservationIn] = []
    bad: dict[int, str] = {}
    for k in range(200):
        time_us = T0 + k * SECOND_US
        if k % 10 == 3:
            bad[len(rows)] = f"Datastream {theirs}"
            rows.append(ObservationIn(theirs, time_us, 1.0))
        elif k % 10 == 7:
            bad[len(rows)] = "result"
            rows.append(ObservationIn(ours, time_us, None))
        elif k % 10 == 9:
            bad[len(rows)] = "finite"
            rows.append(ObservationIn(ours, time_us, float("nan")))
        else:
            rows.append(ObservationIn(ours, time_us, float(k)))
    result = ingest(sensing_db, rows, Scope.of(TIANHE))
    assert [r.index for r in result.rejected] == sorted(bad)
    for rejected in result.rejected:
        assert bad[rejected.index] in rejected.reason
    assert [i for i, ident in enumerate(result.ids) if ident is None] == sorted(bad)
    good = {row.phenomenon_us for i, row in enumerate(rows) if i not in bad}
    assert set(_stored(sensing_db, ours)) == good
    assert _stored(sensing_db, theirs) == {}
    # the same rows from the other district: theirs land, ours are refused, row by row
    other = ingest(sensing_db, rows, Scope.of(YUEXIU))
    refused = [r.index for r in other.rejected]
    assert refused == [i for i, row in enumerate(rows) if row.datastream_id == ours]
    assert len(_stored(sensing_db, theirs)) == 20


def test_concurrent_writers_of_the_same_times_store_each_once(sensing_db: OpsDatabase) -> None:
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    rows = [ObservationIn(stream, T0 + k * SECOND_US, float(k)) for k in range(2_000)]
    answers: dict[str, list[int | None]] = {}
    failures: list[BaseException] = []

    def writer(name: str, order: list[ObservationIn]) -> None:
        ids: list[int | None] = []
        try:
            for start in range(0, len(order), 250):
                ids += ingest(sensing_db, order[start : start + 250], ALL).ids
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        answers[name] = ids

    backwards = list(reversed(rows))
    threads = [
        threading.Thread(target=writer, args=("forwards", rows)),
        threading.Thread(target=writer, args=("backwards", backwards)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    stored = _stored(sensing_db, stream)
    assert len(stored) == len(rows)
    forwards = dict(zip((r.phenomenon_us for r in rows), answers["forwards"], strict=True))
    backwards_ids = dict(
        zip((r.phenomenon_us for r in backwards), answers["backwards"], strict=True)
    )
    assert forwards == backwards_ids == {time_us: ident for time_us, (ident, _) in stored.items()}


def _child(*args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.simulation.sensors.children", *args],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _lines(process: subprocess.Popen[str]) -> Iterator[str]:
    assert process.stdout is not None
    for line in process.stdout:
        yield line.strip()


def test_a_writer_killed_mid_ingest_loses_nothing_it_acknowledged(
    sensing_db: OpsDatabase, ops_url: str
) -> None:
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    size = 2_000
    process = _child("ingest", ops_url, str(stream), "1000", str(size))
    acked = 0
    try:
        for line in _lines(process):
            assert line.startswith("acked "), line
            acked = int(line.split()[1])
            if acked >= 8 * size:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    assert acked >= 8 * size
    stored = _stored(sensing_db, stream)
    # every acknowledged observation is there; beyond them, whole batches only (the one
    # committed before its acknowledgement was printed), never part of one
    assert len(stored) >= acked
    assert (len(stored) - acked) % size == 0 and len(stored) - acked <= size
    expected = [T0 + k * SECOND_US for k in range(len(stored))]
    assert sorted(stored) == expected
    assert all(
        value == float(k) for k, (_, value) in enumerate(v for _, v in sorted(stored.items()))
    )
    # the datastream's latest value moved in the same transactions
    (state,) = latest_states(sensing_db, ALL, now_us=expected[-1])
    assert state.phenomenon_us == expected[-1]
    # and the database takes the next batch
    more = ingest(sensing_db, [ObservationIn(stream, expected[-1] + SECOND_US, -1.0)], ALL)
    assert more.rejected == [] and len(more.created) == 1


@pytest.mark.slow
def test_ingest_flows_while_an_ifc_import_writes_the_city(
    sensing_db: OpsDatabase, ifc_dir: Path, tmp_path: Path
) -> None:
    """The import pauses inside its write transaction until the test has stored three
    batches: ingest never waits for the city store (an ordering check, not a timing one)."""
    stream = add_datastream(sensing_db, location=POINT).datastream_id
    gate = tmp_path / "go-on"
    process = _child("import", str(ifc_dir / OPEN_HOUSE), str(tmp_path / "city"), str(gate))
    lines = _lines(process)
    try:
        assert next(lines) == "started"
        assert next(lines).startswith("progress ")  # inside the import's transaction, paused
        for batch in range(3):
            rows = [ObservationIn(stream, T0 + (batch * 500 + i) * SECOND_US, float(i))
                    for i in range(500)]  # fmt: skip
            result = ingest(sensing_db, rows, ALL)
            assert result.rejected == [] and len(result.created) == 500
        assert process.poll() is None  # the import is still holding its transaction
        gate.touch()
        rest = list(lines)
    finally:
        if process.poll() is None and not gate.exists():
            process.kill()
        process.wait(timeout=180)
    stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    assert rest[-1].startswith("done ") and int(rest[-1].split()[1]) > 0
    assert len(_stored(sensing_db, stream)) == 1500
