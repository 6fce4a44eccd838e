"""An import is parsed in a child process with memory and time limits; going over one fails
the job with the reason, kills the child's whole process group and leaves the store as it was."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from api.app import create_app
from api.isolation import (
    ChildFailedError,
    ChildInterruptedError,
    LimitExceededError,
    Limits,
    run_limited,
)
from api.jobs import JobQueue
from api.settings import get_settings
from bim.authoring import BuildingSpec, write_demo_building
from bim.errors import IfcReadError
from bim.importer import import_ifc
from cim.store import CityStore
from tests.api.storedigest import store_digest
from tests.signin import admin_client


@pytest.fixture(scope="module")
def buildings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A building in the city, a new one, and a new one fattened by 400 000 points
    (some 70 MiB more to parse)."""
    folder = tmp_path_factory.mktemp("limits")
    made = {
        name: write_demo_building(BuildingSpec(name, east, 2557860.0, 2), folder / f"{name}.ifc")
        for name, east in (("kept", 430760.0), ("new", 430800.0))
    }
    data = made["new"].read_bytes()
    end = data.index(b"ENDSEC;", data.index(b"DATA;"))
    points = b"".join(b"#%d=IFCCARTESIANPOINT((%d.,2.,3.));\n" % (10**6 + i, i)
                      for i in range(400_000))  # fmt: skip
    made["fat"] = folder / "fat.ifc"
    made["fat"].write_bytes(data[:end] + points + data[end:])
    return made


@pytest.fixture()
def city(tmp_path: Path, buildings: dict[str, Path]) -> Path:
    with CityStore.create(tmp_path / "city", "EPSG:4547") as store:
        import_ifc(store, buildings["kept"])
    return tmp_path / "city"


@pytest.fixture()
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set ``CIMTWIN_IMPORT_*`` through the returned monkeypatch; settings re-read after."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _import_job(city: Path, building: Path, env: dict[str, str], mp: pytest.MonkeyPatch) -> dict:
    """Upload ``building``, then run the queue here with ``env`` set; the finished job."""
    client = admin_client(create_app(city, worker=False))
    response = client.post(
        "/api/imports",
        files=[("files", (building.name, building.read_bytes()))],
        data={"retile": "false"},
    )
    assert response.status_code == 202
    for name, value in env.items():
        mp.setenv(name, value)
    get_settings.cache_clear()
    assert JobQueue(city).drain() == 1
    job = client.get(response.json()["url"]).json()
    for name in env:
        mp.delenv(name)
    get_settings.cache_clear()
    return dict(job)


def _no_children_left() -> bool:
    deadline = time.monotonic() + 5
    while psutil.Process().children(recursive=True):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_an_import_over_its_memory_limit_fails_and_the_next_one_succeeds(
    city: Path, buildings: dict[str, Path], limits: pytest.MonkeyPatch
) -> None:
    before = store_digest(city)
    room = psutil.Process().memory_info().vms // 2**20 + 24  # what this process uses, and a bit
    job = _import_job(city, buildings["fat"], {"CIMTWIN_IMPORT_MEMORY_MB": str(room)}, limits)
    assert job["status"] == "failed"
    assert f"{room} MiB memory limit" in job["error"], job["error"]
    assert store_digest(city) == before
    assert _no_children_left()
    job = _import_job(city, buildings["new"], {}, limits)
    assert job["status"] == "succeeded", job["error"]
    assert store_digest(city) != before


def test_an_import_over_its_time_limit_is_killed_and_reported(
    city: Path, buildings: dict[str, Path], limits: pytest.MonkeyPatch
) -> None:
    before = store_digest(city)
    job = _import_job(city, buildings["new"], {"CIMTWIN_IMPORT_TIMEOUT_S": "0.05"}, limits)
    assert job["status"] == "failed"
    assert "exceeded its 0.05 s time limit" in job["error"]
    assert store_digest(city) == before
    assert _no_children_left()
    assert _import_job(city, buildings["new"], {}, limits)["status"] == "succeeded"


def _sleep_with_a_grandchild(pid_file: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])  # exec'd: only the group kill reaches it
    pid_file.write_text(str(sleeper.pid))
    time.sleep(60)


def test_the_time_limit_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(LimitExceededError, match="exceeded its 1 s time limit"):
        run_limited(lambda: _sleep_with_a_grandchild(pid_file), Limits(4096, 1))
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and psutil.Process(grandchild).status() != "zombie":
        assert time.monotonic() < deadline, "the grandchild outlived the time limit"
        time.sleep(0.05)


def test_a_stop_request_kills_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    asked = time.monotonic() + 0.5
    with pytest.raises(ChildInterruptedError):
        run_limited(
            lambda: _sleep_with_a_grandchild(pid_file),
            Limits(4096, 60),
            should_stop=lambda: time.monotonic() > asked,
        )
    assert _no_children_left()


def test_the_child_returns_results_and_raises_domain_errors_again() -> None:
    assert run_limited(lambda: {"pid": os.getpid()}, Limits(4096, 60))["pid"] != os.getpid()

    def bad_file() -> None:
        raise IfcReadError("a.ifc: not an IFC file")

    with pytest.raises(IfcReadError, match="not an IFC file"):
        run_limited(bad_file, Limits(4096, 60))
    with pytest.raises(ChildFailedError, match="ended by SIGKILL"):
        run_limited(lambda: os.kill(os.getpid(), 9), Limits(4096, 60))
    with pytest.raises(LimitExceededError, match="ran out of its 1 MiB memory limit"):
        run_limited(lambda: None, Limits(1, 60))
