"""A ``kill -9`` of ``cimtwin import ifc`` takes its children with it and changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import LOCAL_ORIGIN, OPEN_HOUSE, PROJECT_ROOT, TEKLA, make_city

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

ORIGIN = ",".join(str(v) for v in LOCAL_ORIGIN)


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid``, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _holders(path: Path) -> set[int]:
    """Processes with ``path`` open."""
    holders = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if str(path) in links:
            holders.add(int(entry.name))
    return holders


def _import(files: list[Path], city: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from api.cli import main; main()", "import", "ifc"]
    command += [*map(str, files), "--city", str(city), "--origin", ORIGIN]
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_killed_import_leaves_no_process_and_no_change(ifc_dir: Path, tmp_path: Path) -> None:
    make_city(tmp_path).close()
    city = tmp_path / "city"
    store_file = next(city.glob("*.gpkg"))
    process = _import([ifc_dir / TEKLA], city)
    try:
        # The validation child and the geometry children exist once the model is open.
        assert _wait_until(lambda: len(_children(process.pid)) >= 2, 120), process.poll()
        children = _children(process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _wait_until(lambda: not any(_alive(pid) for pid in children), 10)
    assert _wait_until(lambda: not _holders(store_file), 10)
    with CityStore.open(city) as store:
        assert (
            store.sources(scope=Scope.everything()) == []
            and list(store.objects(scope=Scope.everything())) == []
        )
    done = _import([ifc_dir / OPEN_HOUSE], city)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()
    with CityStore.open(city) as store:
        assert [s["source"] for s in store.sources(scope=Scope.everything())] == [OPEN_HOUSE]
        assert len(list(store.objects(scope=Scope.everything()))) > 0
