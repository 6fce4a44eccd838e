"""Worker processes that die with the process that started them.

A pool worker blocks on its task queue; when the tiling process is killed (``kill -9``, or
SIGTERM, which Python does not turn into an exception) nothing else would end it, and it
would go on holding the city's files. :func:`die_with_parent` runs first in every worker:
on Linux the kernel sends the worker SIGKILL when its parent dies (``PR_SET_PDEATHSIG``);
elsewhere a thread of the worker watches its parent's pid.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCH_SECONDS = 0.5


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` (the one that started it) dies.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked this process ends; a pool
    started by a thread must therefore be shut down before that thread returns (as
    :class:`tiles.tileset._Runner` is).
    """
    if _request_death_signal():
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def _request_death_signal() -> bool:
    """Ask the kernel for SIGKILL when the parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if not done:
        log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    return done


def _watch(parent: int) -> None:
    """Poll until the parent is gone (this process is then re-parented), then exit."""
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)
