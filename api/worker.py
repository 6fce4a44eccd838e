"""The job worker: a process of its own that runs a city's queued jobs, one at a time.

Run it alone with ``cimtwin worker --city DIR`` (or ``python -m api.worker --city DIR``);
``cimtwin serve`` starts one beside the server and stops it with the server. One worker
per city: it holds an exclusive lock on ``<city>/.worker.lock`` (the kernel releases it
when the process dies, however it dies), and a second one exits with a message.

At start the worker recovers what a dead worker left (:meth:`api.jobs.JobQueue.recover`),
then huey's consumer runs the queue with one worker thread. SIGTERM (what the server
sends) stops at once: the running job is put back in the queue and runs again at the
next start. SIGINT (Ctrl-C) lets the running job finish first; a second one stops at once.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from api.errors import DOMAIN_ERRORS, WorkerBusyError
from api.jobs import JobQueue
from cim.store import CityStore

log = logging.getLogger(__name__)

LOCK_FILE = ".worker.lock"
# Seconds a stopping worker waits for its job to reach a progress call and put itself back.
STOP_WAIT = 10.0
# Seconds between two checks that the parent process (the server) is still alive.
PARENT_POLL = 0.5


@contextmanager
def worker_lock(city_dir: Path, wait: float = 2.0) -> Iterator[None]:
    """Hold the city's worker lock, with this process's id in the lock file.

    Raises
    ------
    WorkerBusyError
        When another process holds it for ``wait`` seconds.
    """
    handle = os.open(city_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = _read_pid(handle)
                    raise WorkerBusyError(
                        f"a job worker already runs for {city_dir}"
                        + (f" (process {pid})" if pid else "")
                    ) from None
                time.sleep(0.05)
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)  # releases the lock


def running_worker(city_dir: Path) -> int | None:
    """The process id of the worker running for ``city_dir``, or None when there is none."""
    path = city_dir / LOCK_FILE
    if not path.is_file():
        return None
    handle = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(handle) or -1
        return None
    finally:
        os.close(handle)


def _read_pid(handle: int) -> int | None:
    text = os.pread(handle, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def run_worker(
    city_dir: Path,
    *,
    parent: int | None = None,
    burst: bool = False,
    say: Callable[[str], None] = log.info,
) -> None:
    """Run the jobs of the city in ``city_dir`` until stopped (``burst``: until the queue is
    empty); with ``parent``, stop when that process is gone. Call from the main thread.

    Raises
    ------
    CityNotFoundError, WorkerBusyError
        When there is no city, or another worker runs for it.
    """
    CityStore.open(city_dir).close()
    with worker_lock(city_dir):
        queue = JobQueue(city_dir)
        for line in queue.recover():
            say(line)
        if burst:
            say(f"ran {queue.drain()} job(s); the queue is empty")
            return
        if parent is not None:
            _watch_parent(parent)
        consumer = queue.huey.create_consumer(
            workers=1, worker_type="thread", periodic=False, check_worker_health=True
        )
        say(f"job worker for {city_dir} started (process {os.getpid()})")
        consumer.run()
        queue.stopping.set()
        for _, thread in consumer.worker_threads:
            thread.join(STOP_WAIT)
        queue.release_running("interrupted: the worker stopped; it runs again when a worker starts")
        say("job worker stopped")


def _watch_parent(parent: int) -> None:
    """Send this process SIGTERM once ``parent`` is gone (the server was killed)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="cimtwin-parent-watch", daemon=True).start()


def start_worker_process(city_dir: Path) -> subprocess.Popen[bytes]:
    """Start a worker for ``city_dir`` in a process of its own (a new interpreter, in its
    own session so that a terminal's Ctrl-C reaches the server only); it stops when this
    process is gone."""
    command = [sys.executable, "-m", "api.worker", "--city", str(city_dir),
               "--parent", str(os.getpid())]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True)


def stop_worker_process(process: subprocess.Popen[bytes], timeout: float = STOP_WAIT + 5) -> None:
    """Stop a worker started by :func:`start_worker_process` (SIGTERM, then SIGKILL)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """``python -m api.worker --city DIR [--parent PID] [--burst]``."""
    parser = argparse.ArgumentParser(prog="python -m api.worker", description=__doc__)
    parser.add_argument("--city", type=Path, required=True, help="the city folder")
    parser.add_argument("--parent", type=int, help="stop when this process is gone")
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    try:
        run_worker(args.city, parent=args.parent, burst=args.burst, say=log.info)
    except DOMAIN_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
