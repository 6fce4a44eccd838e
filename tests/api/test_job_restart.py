"""Jobs survive their processes: the real server and worker, killed with SIGKILL, restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.jobs import UPLOADS_DIR
from cim.scope import Scope
from cim.store import CityStore
from tests.signin import admin_client, city_headers
from tests.viewer.conftest import free_port

MODEL = "AC20-FZK-Haus.ifc"
ORIGIN = "430700,2557800,10"


# The bearer token of an admin of the city under test (set by the ``city`` fixture).
HEADERS: dict[str, str] = {}


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    HEADERS.clear()
    HEADERS.update(city_headers(tmp_path / "city"))
    return tmp_path / "city"


def get(url: str, **options: Any) -> httpx.Response:
    """GET as the city's admin."""
    return httpx.get(url, headers=HEADERS, **options)


def post(url: str, **options: Any) -> httpx.Response:
    """POST as the city's admin."""
    return httpx.post(url, headers=HEADERS, **options)


@contextmanager
def serving(city: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`cimtwin serve` in a process group of its own; yields its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--city", str(city), "--port", str(port)]
    with log.open("ab") as out:
        server = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.TransportError):
                if get(f"{url}/api/worker", timeout=2).json()["running"]:
                    break
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server or its worker did not start"
            time.sleep(0.1)
        yield url, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


def poll(url: str, until: Any, seconds: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = get(url, timeout=5).json()
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job stuck: {job}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _import_running(url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    """Upload the model, wait until its job runs; the worker's pid and the running job."""
    worker = get(f"{url}/api/worker").json()["pid"]
    answer = post(f"{url}/api/imports", files=[("files", (MODEL, data))], data={"origin": ORIGIN})
    assert answer.status_code == 202, answer.text
    job_url = url + answer.json()["url"]
    running = poll(job_url, lambda job: job["status"] != "queued" and job["progress"] > 0)
    assert running["status"] == "running", running
    return worker, running


@pytest.mark.slow
def test_a_job_running_when_server_and_worker_are_killed_resumes_after_a_restart(
    city: Path, ifc_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    data = (ifc_dir / MODEL).read_bytes()
    with serving(city, log) as (url, server):
        worker, running = _import_running(url, data)
        os.killpg(server.pid, signal.SIGKILL)
        os.killpg(worker, signal.SIGKILL)
        server.wait(30)
    deadline = time.monotonic() + 30
    while alive(worker):
        assert time.monotonic() < deadline, "the worker survived SIGKILL"
        time.sleep(0.05)
    assert (city / UPLOADS_DIR / running["id"]).is_dir(), "the upload must wait for the rerun"

    with serving(city, log) as (url, _):
        job_url = f"{url}/api/jobs/{running['id']}"
        done = poll(job_url, lambda job: job["status"] in ("succeeded", "failed"))
        assert done["status"] == "succeeded", (done, log.read_text())
        assert done["runs"] == 2
        (report,) = done["result"]["reports"]
        assert report["source"] == MODEL and report["objects_by_class"]["IfcBuilding"] == 1
        assert done["result"]["tiling"]["features"] > 0
        assert get(f"{url}/api/city").json()["sources"] == [MODEL]
    assert not (city / UPLOADS_DIR / running["id"]).exists()
    with CityStore.open(city) as store:
        assert [s["source"] for s in store.sources(scope=Scope.everything())] == [
            MODEL
        ]  # imported once


@pytest.mark.slow
def test_a_server_stopped_mid_job_stops_its_worker_and_the_job_waits_in_the_queue(
    city: Path, ifc_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    data = (ifc_dir / MODEL).read_bytes()
    with serving(city, log) as (url, server):
        worker, running = _import_running(url, data)
        server.send_signal(signal.SIGINT)  # Ctrl-C
        server.wait(60)
    assert not alive(worker), "the worker outlived its server"
    with admin_client(create_app(city, worker=False)) as client:
        waiting = client.get(f"/api/jobs/{running['id']}").json()
    assert waiting["status"] == "queued" and waiting["runs"] == 0, waiting
    assert waiting["message"].startswith("interrupted: the worker stopped")
    with serving(city, log) as (url, _):
        done = poll(f"{url}/api/jobs/{running['id']}", lambda job: job["finished"] is not None)
    assert done["status"] == "succeeded" and done["runs"] == 1, done


def test_a_job_queued_without_a_worker_runs_when_one_starts(city: Path, ifc_dir: Path) -> None:
    data = (ifc_dir / "IfcOpenHouse_IFC4.ifc").read_bytes()
    with admin_client(create_app(city, worker=False)) as client:
        answer = client.post(
            "/api/imports",
            files=[("files", ("house.ifc", data))],
            data={"origin": ORIGIN, "retile": "false"},
        )
        assert client.get("/api/worker").json() == {"running": False, "pid": None}
    job_url = answer.json()["url"]
    command = [sys.executable, "-m", "api.cli", "worker", "--city", str(city), "--burst"]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "ran 1 job(s)" in ran.stderr
    with admin_client(create_app(city, worker=False)) as client:
        job = client.get(job_url).json()
    assert job["status"] == "succeeded", job
    assert job["runs"] == 1 and job["result"]["reports"][0]["source"] == "house.ifc"


def test_a_second_worker_for_a_city_is_refused(city: Path) -> None:
    with admin_client(create_app(city)) as client:
        deadline = time.monotonic() + 60
        while not (state := client.get("/api/worker").json())["running"]:
            assert time.monotonic() < deadline, "the app's worker did not start"
            time.sleep(0.1)
        command = [sys.executable, "-m", "api.cli", "worker", "--city", str(city)]
        ran = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert ran.returncode == 1
        assert f"a job worker already runs for {city} (process {state['pid']})" in ran.stderr
    deadline = time.monotonic() + 30
    while alive(state["pid"]):
        assert time.monotonic() < deadline, "the worker outlived the app"
        time.sleep(0.05)
