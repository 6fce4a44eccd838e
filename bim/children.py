"""Child processes that never outlive the process that started them.

A forked child asks Linux to send it SIGKILL when its parent ends (``PR_SET_PDEATHSIG``
through ``prctl``), so that a ``kill -9`` of an import leaves no kernel or validation
process behind holding the city store open. The request survives no ``exec`` and is tied
to the thread that forked: the importer forks from the thread that waits for the child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Make the calling (forked) process die when ``parent_pid`` ends.

    Called first thing in the child. When the parent has already gone (it died between
    the fork and this call) the child ends at once.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
