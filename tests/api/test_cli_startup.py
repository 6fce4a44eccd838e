"""What a ``cimtwin`` process loads: each command pays for its own modules only.

Start-up is a fixed cost of every command (an IFC import with ``--tile`` on a small model
is mostly start-up). These tests run a real process and name the heavy modules that must
stay out of it, so that a change pulling one back in fails here rather than in a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

#: Loaded by the commands that use them, never by parsing the command line.
NOT_AT_START = (
    "numpy", "pyproj", "shapely", "ifcopenshell",  # the domain's libraries
    "pydantic", "pydantic_settings", "asyncio",  # the settings (pydantic-settings loads asyncio)
    "sqlalchemy", "argon2", "fastapi",  # accounts and the server
    "cim.store", "cim.area", "api.settings", "simulation.models.spec",
)  # fmt: skip


def _python(script: str, cwd: Path) -> list[str]:
    """Run ``script`` in a fresh interpreter on this tree; its printed lines."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        cwd=cwd, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def _loaded(names: tuple[str, ...]) -> str:
    return f"print(sorted(set({names!r}) & set(sys.modules)))"


def test_the_command_line_starts_without_the_modules_of_its_commands(tmp_path: Path) -> None:
    script = "import sys\nfrom api.cli import main\n" + _loaded(NOT_AT_START)
    assert _python(script, tmp_path) == ["[]"]
