"""A real ``cimtwin serve`` process over a new city, for the tests that talk to it over the
network (the FROST client, the killed server), and an admin's credentials for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from api.auth.accounts import create_key
from api.auth.clock import utc_now
from cim.ops import OpsDatabase
from cim.store import CityStore
from tests.signin import city_headers
from tests.viewer.conftest import free_port


def new_city(folder: Path) -> Path:
    """An empty city (no objects, no jurisdictions)."""
    CityStore.create(folder, "EPSG:4547", "sensing").close()
    return folder


def admin_headers(city: Path) -> dict[str, str]:
    """The bearer token of a new admin of the province, for a server of ``city``."""
    return city_headers(city)


def device_key(city: Path, url: str | None = None, jurisdiction: str = "440000000000") -> str:
    """A new API key that may send observations (``observe``), in the city's operational
    database (``url``: a server database instead)."""
    with OpsDatabase.for_city(city, url) as db:
        _, key = create_key(
            db,
            "device",
            jurisdiction=jurisdiction,
            actions=["observe"],
            now=utc_now(),
            actor="test",
        )
    return key


@contextmanager
def serving(
    city: Path, log: Path, database_url: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``cimtwin serve`` (no job worker) in a process group of its own, on the city's
    operational database or ``database_url``; yields its URL once it answers, and stops it
    after (if it still runs)."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--city", str(city), "--port", str(port)]
    env = {**os.environ, "CIMTWIN_WORKER": "false"}
    if database_url is not None:
        env["CIMTWIN_DATABASE_URL"] = database_url
    with log.open("ab") as out:
        server = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
