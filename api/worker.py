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
import ctypes
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
from cim.layout import CityLayout
from cim.store import CityStore

log = logging.getLogger(__name__)

LOCK_FILE = CityLayout.WORKER_LOCK
# Seconds between two looks at an empty queue: from POLL_MIN, growing to POLL_MAX.
POLL_MIN = 0.1
POLL_MAX = 1.0
# Seconds the server waits for its worker to stop before killing it.
STOP_WAIT = 15.0
PR_SET_PDEATHSIG = 1


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

    Jobs run in this thread, and no other thread runs, so a job may fork (the geometry
    kernel's child, the tiler's pool) safely.

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
        finishing = _stop_on_signals(queue.stopping, say)
        if parent is not None:
            _die_with(parent)
        say(f"job worker for {city_dir} started (process {os.getpid()})")
        delay = POLL_MIN
        while not (queue.stopping.is_set() or finishing.is_set()):
            if parent is not None and os.getppid() != parent:
                say("the server is gone: stopping")
                break
            task = queue.huey.dequeue()
            if task is None:
                queue.stopping.wait(delay)
                delay = min(delay * 1.5, POLL_MAX)
                continue
            delay = POLL_MIN
            queue.huey.execute(task)
        queue.release_running("interrupted: the worker stopped; it runs again when a worker starts")
        say("job worker stopped")


def _stop_on_signals(stopping: threading.Event, say: Callable[[str], None]) -> threading.Event:
    """SIGTERM sets ``stopping`` (the running job stops at its next progress call and goes
    back to the queue); a first SIGINT sets the returned event (finish the job, then stop),
    a second one ``stopping``. A child a job forked (the geometry kernel's, the tiler's
    pool) inherits the handlers: there they act as the default one, so it can be stopped."""
    finishing = threading.Event()
    owner = os.getpid()

    def as_default(signum: int) -> bool:
        if os.getpid() == owner:
            return False
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return True

    def terminate(signum: int, _frame: object) -> None:
        if not as_default(signum):
            stopping.set()

    def interrupt(signum: int, _frame: object) -> None:
        if as_default(signum):
            return
        if finishing.is_set():
            stopping.set()
        else:
            finishing.set()
            say("finishing the running job (Ctrl-C again to stop it now)")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, interrupt)
    return finishing


def _die_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when ``parent`` dies (Linux); the
    main loop also checks between jobs."""
    if not sys.platform.startswith("linux"):
        return
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def start_worker_process(city_dir: Path) -> subprocess.Popen[bytes]:
    """Start a worker for ``city_dir`` in a process of its own (a new interpreter, in its
    own session so that a terminal's Ctrl-C reaches the server only); it stops when this
    process is gone."""
    command = [sys.executable, "-m", "api.worker", "--city", str(city_dir),
               "--parent", str(os.getpid())]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True)


def stop_worker_process(process: subprocess.Popen[bytes], timeout: float = STOP_WAIT) -> None:
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
