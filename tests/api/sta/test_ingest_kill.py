"""Nothing acknowledged is lost: a device streams data arrays to a real ``cimtwin serve``,
the server is killed with SIGKILL mid-stream, and every row answered 201 is in the
database, every batch is all there or not at all, and a restarted server takes the stream
up again (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cim.ops import OpsDatabase
from cim.ops import sensor_tables as t
from cim.scope import Scope
from simulation.sensors import write
from tests.api.sta.served import device_key, new_city, serving
from tests.api.sta.writing import STA, datastream, location, observed_property, sensor, thing

CODE = "440106001000"
ROWS = 200  # per batch
ACKNOWLEDGED_BEFORE_KILL = 8  # batches
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _network(db: OpsDatabase) -> list[int]:
    """A located Thing with two Datastreams; their ids."""
    body = {
        **thing(),
        "Locations": [location()],
        "Datastreams": [
            datastream(Sensor=sensor(), ObservedProperty=observed_property(), name=f"stream {i}")
            for i in range(2)
        ],
    }
    write.insert(db, "Things", body, Scope.everything(), place=write.place_in(CODE))
    with db.transaction() as session:
        return list(session.execute(select(t.Datastream.id).order_by(t.Datastream.id)).scalars())


def _batch(streams: list[int], number: int) -> list[dict[str, Any]]:
    """Batch ``number``: ``ROWS`` rows over the datastreams, each at its own second, with
    a result that names the batch and the row."""
    groups = []
    for stream in streams:
        rows = []
        for row in range(ROWS // len(streams)):
            second = number * ROWS + row
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START_US // 1_000_000 + second))
            rows.append([stamp, number * 10_000 + row])
        groups.append(
            {
                "Datastream": {"@iot.id": stream},
                "components": ["phenomenonTime", "result"],
                "dataArray": rows,
            }
        )
    return groups


class Stream(threading.Thread):
    """Posts batch after batch until the server stops answering; keeps what was answered."""

    def __init__(self, url: str, key: str, streams: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.streams = url, key, streams
        self.acknowledged: dict[int, list[str]] = {}  # batch number -> its links
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(headers={"X-API-Key": self.key}, timeout=30) as client:
            while True:
                body = _batch(self.streams, self.sent)
                self.sent += 1
                try:
                    answer = client.post(f"{self.url}{STA}/CreateObservations", json=body)
                except httpx.TransportError:
                    return
                assert answer.status_code == 201, answer.text
                self.acknowledged[self.sent - 1] = answer.json()


def _stored(db: OpsDatabase) -> dict[int, int]:
    """Every stored observation: id -> result (all are whole numbers)."""
    with db.transaction() as session:
        rows = session.execute(select(t.Observation.id, t.Observation.result_number))
        return {found: int(result or 0) for found, result in rows}


@pytest.mark.slow
def test_every_acknowledged_row_survives_sigkill(ops_url: str, tmp_path: Path) -> None:
    city = new_city(tmp_path / "city")
    with OpsDatabase.open(ops_url) as db:
        streams = _network(db)
    key = device_key(city, ops_url, CODE)
    log = tmp_path / "server.log"
    with serving(city, log, ops_url) as (url, server):
        stream = Stream(url, key, streams)
        stream.start()
        deadline = time.monotonic() + 120
        while len(stream.acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert stream.is_alive() and time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
        stream.join(30)
    assert not stream.is_alive()
    with OpsDatabase.open(ops_url) as db:
        stored = _stored(db)
    acknowledged = 0
    for number, links in stream.acknowledged.items():
        assert "error" not in links
        for row, link in enumerate(links):
            expected = number * 10_000 + row % (ROWS // len(streams))
            assert stored.get(_id(link)) == expected, (number, row, link)
            acknowledged += 1
    assert acknowledged >= ACKNOWLEDGED_BEFORE_KILL * ROWS
    in_flight = {r // 10_000 for r in stored.values()} - set(stream.acknowledged)
    for number in in_flight:  # stored whole though its answer was lost, or not at all
        assert [r // 10_000 for r in stored.values()].count(number) == ROWS
    with serving(city, log, ops_url) as (url, _):  # the stream goes on where it stopped
        last = max(stream.acknowledged)
        with httpx.Client(headers={"X-API-Key": key}, timeout=30) as client:
            again = client.post(f"{url}{STA}/CreateObservations", json=_batch(streams, last))
            more = client.post(f"{url}{STA}/CreateObservations", json=_batch(streams, stream.sent))
    assert list(map(_id, again.json())) == list(map(_id, stream.acknowledged[last]))  # once
    assert more.status_code == 201 and "error" not in more.json()


def _id(link: str) -> int:
    """The id of an observation's self link."""
    return int(link.rsplit("(", 1)[1].rstrip(")"))
