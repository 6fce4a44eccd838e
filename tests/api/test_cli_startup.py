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

from tests.conftest import KNOWN_FILES, PROJECT_ROOT, REVIT

#: Loaded by the commands that use them, never by parsing the command line.
NOT_AT_START = (
    "numpy", "pyproj", "shapely", "ifcopenshell",  # the domain's libraries
    "pydantic", "pydantic_settings", "asyncio",  # the settings (pydantic-settings loads asyncio)
    "sqlalchemy", "argon2", "fastapi",  # accounts and the server
    "cim.store", "cim.area", "api.settings", "simulation.models.spec",
)  # fmt: skip

#: Never loaded by ``import ifc --tile``: the server, its settings, the accounts, the
#: simulations, the rasters, and the IFC schema's rule module (IfcOpenShell imports it on
#: ``getattr`` of a name the entity lacks; the schema validation's own process loads it).
NOT_IN_AN_IFC_IMPORT = (
    "pydantic_settings", "asyncio", "sqlalchemy", "alembic", "argon2", "fastapi",
    "starlette", "rasterio", "api.settings", "cim.ops.database", "cim.area",
    "simulation.models.spec", "ifcopenshell.express.rules.IFC2X3",
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


def test_an_ifc_import_with_tiles_loads_only_what_it_uses(
    shared_data: Path, tmp_path: Path
) -> None:
    """The one command a user runs, through the console script's entry point.

    The garbage collector runs a few times while the two commands load their modules and
    work (about 130 times at Python's default threshold), and not at all at the exit.
    """
    city, ifc = tmp_path / "city", shared_data / "ifc" / REVIT
    commands = [
        ["init", "--city", str(city), "--crs", KNOWN_FILES[REVIT].crs],
        ["import", "ifc", str(ifc), "--city", str(city), "--tile"],
    ]
    script = "\n".join([
        "import gc, sys",
        "from api.cli import main",
        "before = gc.get_stats()[0]['collections']",
        *(f"sys.argv = ['cimtwin', *{args!r}]\ntry:\n    main()\nexcept SystemExit as end:\n"
          f"    assert not end.code, end.code" for args in commands),
        _loaded(NOT_IN_AN_IFC_IMPORT),
        "print(gc.get_stats()[0]['collections'] - before < 40)",
        "print(gc.get_freeze_count() > 0)",
    ])  # fmt: skip
    assert _python(script, tmp_path) == ["[]", "True", "True"]
    assert (city / "tiles" / "tileset.json").is_file()
