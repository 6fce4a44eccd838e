"""Writing output folders so that readers never see a half-written one, one writer at a time."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cim.layout import CityLayout
from tiles.errors import TilingBusyError

log = logging.getLogger(__name__)
LOCK_FILE = CityLayout.TILING_LOCK
_held: set[Path] = set()  # the folders this process holds the lock of
_held_guard = threading.Lock()


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``staging`` folder (two renames, old one removed)."""
    retired = final.with_name(f".{final.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """Hold the lock file ``folder/.tiling.lock`` for the duration; fail at once when another
    process (or another thread of this one) holds it.

    The lock is a POSIX record lock: it belongs to this process alone (forked workers do
    not inherit it) and the kernel releases it when the process dies, however it dies. The
    file records the holder's pid, so a busy error names the holder, and is removed on
    release; a file still there when the lock is free was left by a holder that was killed:
    it is taken over, with a log line.
    """
    key = folder.resolve()
    with _held_guard:
        if key in _held:
            raise TilingBusyError(f"{what} is already running (in this process)")
        _held.add(key)
    try:
        with _lock_file(folder / LOCK_FILE, what):
            yield
    finally:
        with _held_guard:
            _held.discard(key)


@contextmanager
def _lock_file(path: Path, what: str) -> Iterator[None]:
    handle = _acquire(path, what)
    try:
        left_by = _recorded_pid(handle)
        if left_by is not None:
            log.warning("taking over the lock of %s from process %d, which ended without"
                        " releasing it", what, left_by)  # fmt: skip
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)  # before closing: the lock still covers the removal
        os.close(handle)  # releases the lock


def _acquire(path: Path, what: str) -> int:
    """An open descriptor of ``path`` holding its lock; raise when another process has it."""
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                os.close(handle)
                raise
            holder = _recorded_pid(handle)
            os.close(handle)
            by = f" (process {holder})" if holder is not None else ""
            raise TilingBusyError(f"{what} is already running{by}") from exc
        if _same_file(handle, path):
            return handle
        os.close(handle)  # removed by its last holder meanwhile: lock the new one


def _same_file(handle: int, path: Path) -> bool:
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(handle)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _recorded_pid(handle: int) -> int | None:
    text = os.pread(handle, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
