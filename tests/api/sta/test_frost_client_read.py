"""A real SensorThings client reads the server: the FROST Python client (``frost-sta-client``)
lists, finds, navigates, expands, filters, orders and counts, and follows ``@iot.nextLink``
page after page, against the app served by uvicorn on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import frost_sta_client as fsc
import pytest
import requests
import uvicorn
from fastapi import FastAPI
from frost_sta_client.service.auth_handler import AuthHandler

from tests.api.sta import readdata
from tests.api.sta.readdata import AIR_OBSERVATIONS, TOWN_A, StaApp
from tests.signin import signed_in

sta = readdata.sta  # the fixture
ALL_OBSERVATIONS = AIR_OBSERVATIONS + 3 + 2 + readdata.RIVER_OBSERVATIONS


class BearerAuth(AuthHandler):  # type: ignore[misc]
    """The client's authentication hook, giving this server's bearer token."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__()
        self.headers = headers

    def add_auth_header(self) -> Any:
        def authorize(request: requests.PreparedRequest) -> requests.PreparedRequest:
            request.headers.update(self.headers)
            return request

        return authorize


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(sta: StaApp) -> Iterator[str]:
    """The app on a free loopback port: its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(sta.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _service(app: FastAPI, base: str, **account: Any) -> Any:
    return fsc.SensorThingsService(
        f"{base}/sta/v1.1", auth_handler=BearerAuth(signed_in(app, **account))
    )


def test_the_client_lists_finds_and_navigates(sta: StaApp, served: str) -> None:
    service = _service(sta.app, served)
    names = [thing.name for thing in service.things().query().list()]
    assert names == ["Weather station", "Pump house", "River gauge"]
    station = service.things().find(1)
    assert station.properties == {"cityObject": "A-bldg", "owner": "Tianhe"}
    streams = list(station.get_datastreams().query().list())
    assert [stream.name for stream in streams] == ["Air temperature"]
    assert streams[0].unit_of_measurement.symbol == "degC"
    first = service.observations().find(1)
    assert first.result == 20


def test_the_client_pages_through_a_filtered_ordered_collection(sta: StaApp, served: str) -> None:
    service = _service(sta.app, served)
    warm = (
        service.observations().query().filter("result gt 24").orderby("phenomenonTime", "ASC")
        .top(2).list()
    )  # fmt: skip
    assert warm.next_link is not None  # two of three on the first page
    assert [observation.result for observation in warm] == [24.5, 25, 25.5]
    counted = service.observations().query().count().top(5).list()
    assert counted.count == ALL_OBSERVATIONS
    ids = [observation.id for observation in counted]
    assert len(ids) == len(set(ids)) == ALL_OBSERVATIONS


def test_the_client_expands_and_sees_its_scope_only(sta: StaApp, served: str) -> None:
    service = _service(sta.app, served, roles=("viewer",), jurisdiction=TOWN_A)
    things = list(service.things().query().expand("Datastreams($orderby=name asc)").list())
    assert [thing.name for thing in things] == ["Weather station", "Pump house"]
    pump_streams = things[1].datastreams
    assert [stream.name for stream in pump_streams] == ["Pump flags", "Pump status"]
    with pytest.raises(Exception, match="404"):
        service.things().find(3)
