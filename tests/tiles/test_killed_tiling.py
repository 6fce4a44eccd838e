"""A killed tiling leaves no process behind, and its lock does not stop the next one."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import PROJECT_ROOT, make_city
from tests.oracles.tileset_check import check_tileset
from tests.tiles.blocks import add_blocks
from tiles.errors import TilingBusyError
from tiles.folders import LOCK_FILE, exclusive
from tiles.tileset import TilingOptions, write_tileset

BLOCKS = 4_000  # enough that drawing lasts well beyond the moment it is seen to start
TILE = ["tile", "--workers", "2", "--max-features", "10", "--no-compress"]
WAIT_SECONDS = 300.0
POLL_SECONDS = 0.02
HOLD_LOCK = """
import sys
from pathlib import Path
from tiles.folders import exclusive
with exclusive(Path(sys.argv[1]), "a tiling of the test city"):
    print("held", flush=True)
    sys.stdin.read()
"""


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _cli(city: Path, *args: str) -> list[str]:
    return _python("-c", "from api.cli import main; main()", *args, "--city", str(city))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def _wait_until_drawing(process: subprocess.Popen[bytes], city: Path) -> list[psutil.Process]:
    """The pool workers of a running ``tile``, once they have written a first tile."""
    parent = psutil.Process(process.pid)
    content = city / ".tiles.partial" / "content"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"tile ended (code {process.returncode}) before it could be killed")
        workers = parent.children(recursive=True)
        if len(workers) >= 2 and content.is_dir() and any(content.iterdir()):
            return workers
        time.sleep(POLL_SECONDS)
    pytest.fail("tile did not start drawing in time")


@pytest.fixture(scope="module")
def big_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = make_city(tmp_path_factory.mktemp("killed"))
    add_blocks(store, BLOCKS, spacing=12.0)
    store.close()
    return store.city_dir


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_tile_kills_its_workers_and_the_next_tile_runs(
    big_city: Path, sig: signal.Signals
) -> None:
    shutil.rmtree(big_city / "tiles", ignore_errors=True)  # else tiles are linked, not drawn
    process = subprocess.Popen(_cli(big_city, *TILE), env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        workers = _wait_until_drawing(process, big_city)
        process.send_signal(sig)
        assert process.wait(timeout=60) == -sig
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    for survivor in alive:  # the test fails, but leaves nothing running
        survivor.kill()
    assert not alive, f"workers outlived the killed tile: {[w.pid for w in alive]}"
    assert (big_city / LOCK_FILE).read_text().strip() == str(process.pid)
    again = subprocess.run(_cli(big_city, *TILE), env=_env(), capture_output=True, text=True,
                           timeout=900, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"from process {process.pid}, which ended without releasing it" in again.stderr
    assert check_tileset(big_city / "tiles" / "tileset.json") == []
    assert sorted(p.name for p in big_city.iterdir()) == ["city.gpkg", "tiles"]


def test_a_tiling_is_refused_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_blocks(store, 20)
    holder = subprocess.Popen(_python("-c", HOLD_LOCK, str(store.city_dir)), env=_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(TilingBusyError, match=f"already running \\(process {holder.pid}\\)"):
            write_tileset(store, TilingOptions(max_features=5))
        assert not (store.city_dir / "tiles").exists()
    finally:
        holder.communicate("", timeout=60)  # ends its stdin: it releases the lock and exits
    assert holder.returncode == 0
    write_tileset(store, TilingOptions(max_features=5))
    store.close()


def test_a_second_tiling_in_the_same_process_is_refused(tmp_path: Path) -> None:
    what = "a tiling of the test city"
    with exclusive(tmp_path, what):
        busy = pytest.raises(TilingBusyError, match="already running \\(in this process\\)")
        with busy, exclusive(tmp_path, what):
            pass
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / LOCK_FILE).exists()


def test_the_lock_of_a_dead_holder_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = subprocess.run(_python("-c", "import os; print(os.getpid())"), capture_output=True,
                          text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    (tmp_path / LOCK_FILE).write_text(f"{pid}\n")  # as a killed holder leaves it
    with caplog.at_level(logging.WARNING), exclusive(tmp_path, "a tiling of the test city"):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert f"from process {pid}, which ended without releasing it" in caplog.text
    assert not (tmp_path / LOCK_FILE).exists()
