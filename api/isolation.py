"""Running untrusted parsing in a child process with an address-space and a wall-clock limit.

An uploaded file is parsed by third-party code (the IFC reader, the geometry kernels)
that may need unbounded memory or time for a hostile or broken file. :func:`run_limited`
forks a child in a process group of its own, caps its address space (``RLIMIT_AS``),
runs the work there and sends back its result through a pipe. When the time is up, or
the caller asks to stop, the whole group is killed; the work's store transaction was
then never committed, so nothing stored changes.

The limits come from ``CIMTWIN_IMPORT_MEMORY_MB`` and ``CIMTWIN_IMPORT_TIMEOUT_S``.
Each process of the group (the child and any process it forks) has its own address-space
cap: the limit bounds one parser, not their sum.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from api.errors import DOMAIN_ERRORS, ApiError
from api.settings import get_settings
from bim.children import die_with_parent

T = TypeVar("T")

# Exit status of a child that ran out of memory (no allocation is needed to tell it).
EXIT_OUT_OF_MEMORY = 86
# Seconds between two looks at the child, the clock and the stop request.
POLL = 0.2
# An error raised with the address space this close to its cap is taken for a failed
# allocation.
NEAR_CAP = 64 * 2**20


class LimitExceededError(ApiError):
    """Work run by :func:`run_limited` went over its time or memory limit and was stopped."""


class ChildFailedError(ApiError):
    """The child running the work ended without a result (a crash, or killed from outside)."""


class ChildInterruptedError(Exception):
    """The caller asked to stop while the child was running: it was killed."""


@dataclass(frozen=True)
class Limits:
    """The limits of one child: address space in MiB and wall-clock time in seconds."""

    memory_mb: float
    timeout_s: float

    @classmethod
    def for_imports(cls) -> Limits:
        """The limits of an import from the settings."""
        settings = get_settings()
        return cls(settings.import_memory_mb, settings.import_timeout_s)

    def describe_memory(self) -> str:
        """``ran out of its 4096 MiB memory limit``."""
        return f"ran out of its {self.memory_mb:g} MiB memory limit (CIMTWIN_IMPORT_MEMORY_MB)"

    def describe_time(self) -> str:
        """``exceeded its 1800 s time limit``."""
        return f"exceeded its {self.timeout_s:g} s time limit (CIMTWIN_IMPORT_TIMEOUT_S)"


def run_limited(
    work: Callable[[], T],
    limits: Limits,
    *,
    what: str = "import",
    should_stop: Callable[[], bool] = lambda: False,
) -> T:
    """Run ``work`` in a forked child under ``limits`` and return what it returns.

    ``work`` and its result must be picklable only on the way back (the child is a fork:
    it sees the caller's memory). A domain error raised by ``work`` is raised here again.

    Raises
    ------
    LimitExceededError
        When the child ran out of memory or time (the message says which, naming ``what``).
    ChildFailedError
        When the child died without a result, or ``work`` failed with a non-domain error.
    ChildInterruptedError
        When ``should_stop()`` turned true while the child ran.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main, args=(work, limits, sender, os.getpid()), name=f"limited {what}"
    )
    child.start()
    sender.close()
    assert child.pid is not None
    with suppress(OSError):  # the child does the same: whichever runs first
        os.setpgid(child.pid, child.pid)
    try:
        message = _await(child, receiver, limits, what, should_stop)
    finally:
        receiver.close()
        _kill_group(child.pid)
        child.join()
    return _outcome(message, child.exitcode, limits, what)


def _await(
    child: Any, receiver: Connection, limits: Limits, what: str, should_stop: Callable[[], bool]
) -> tuple[str, Any] | None:
    """The child's message, or None when it ended without one."""
    deadline = time.monotonic() + limits.timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LimitExceededError(f"the {what} {limits.describe_time()} and was stopped")
        if should_stop():
            raise ChildInterruptedError(f"the {what} was stopped")
        ready = wait([receiver, child.sentinel], timeout=min(POLL, left))
        if receiver in ready:
            try:
                message: tuple[str, Any] = receiver.recv()
            except EOFError:
                return None
            return message
        if child.sentinel in ready:
            return None


def _outcome(
    message: tuple[str, Any] | None, exitcode: int | None, limits: Limits, what: str
) -> Any:
    """The result of the work, or the error that tells how the child ended."""
    if message is not None:
        kind, value = message
        if kind == "result":
            return value
        if isinstance(value, BaseException):
            raise value
        raise ChildFailedError(f"the {what} failed: {value}")
    if exitcode == EXIT_OUT_OF_MEMORY:
        raise LimitExceededError(f"the {what} {limits.describe_memory()}")
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        raise ChildFailedError(
            f"the {what} process was ended by {name}; it may have "
            + limits.describe_memory().replace("ran out", "run out")
        )
    raise ChildFailedError(f"the {what} process ended with status {exitcode} and no result")


def _child_main(work: Callable[[], Any], limits: Limits, sender: Connection, parent: int) -> None:
    """In the child: its own process group, the limits, the work, the result to the pipe."""
    die_with_parent(parent)
    with suppress(OSError):
        os.setpgid(0, 0)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = int(limits.memory_mb * 2**20)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if _address_space("VmSize") >= cap:  # the limit leaves nothing to parse with
        os._exit(EXIT_OUT_OF_MEMORY)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        message: tuple[str, Any] = ("result", work())
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    except DOMAIN_ERRORS as exc:
        if _out_of_memory(exc, cap):
            os._exit(EXIT_OUT_OF_MEMORY)
        message = ("error", exc)
    except Exception as exc:
        if _out_of_memory(exc, cap):
            os._exit(EXIT_OUT_OF_MEMORY)
        message = ("error", f"internal error: {exc}")
    try:
        sender.send(message)
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    except (pickle.PicklingError, TypeError, AttributeError):
        sender.send(("error", f"{type(message[1]).__name__}: {message[1]}"))
    sender.close()


def _out_of_memory(exc: BaseException, cap: int) -> bool:
    """Whether ``exc`` came from a failed allocation: a MemoryError (or SQLite's "out of
    memory") in its chain, or any error once the process came near its cap (a failed
    ``mmap`` surfaces as SQLite's "disk I/O error", for one)."""
    if _address_space("VmPeak") >= cap - NEAR_CAP:
        return True
    seen: BaseException | None = exc
    for _ in range(16):
        if seen is None:
            return False
        if isinstance(seen, MemoryError) or "out of memory" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _address_space(field: str) -> int:
    """``VmSize`` or ``VmPeak`` of this process in bytes (0 where /proc is missing)."""
    with suppress(OSError), open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(field.encode() + b":"):
                return int(line.split()[1]) * 1024
    return 0


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group (it and what it forked), if any is left."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
