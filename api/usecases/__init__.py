"""Use cases: what the command line, the HTTP jobs and the demo do, each one function.

The CLI parses its arguments and calls one of these; a job of the worker calls the same
function with its stored parameters; the demo strings several together. Progress goes
through one callback type, :data:`Progress`.
"""

from __future__ import annotations

from collections.abc import Callable

# progress(percent 0-100, current file name or None, message or None)
Progress = Callable[[int, str | None, str | None], None]


def no_progress(_percent: int, _file: str | None, _message: str | None) -> None:
    """A progress callback that ignores what it is told."""
