"""Every third-party import is a declared dependency, and every runtime dependency is used.

The imports are read with ``ast`` (those inside functions too), each imported top-level module
is matched to the installed distributions that provide it, and one of those must be declared:
in ``[project] dependencies`` for the product packages, in those or the ``dev`` and ``bench``
extras for the tests and the benchmarks.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("cim", "bim", "tiles", "simulation", "api")
# Runtime dependencies no module imports by name, and who uses them.
USED_INDIRECTLY = {
    "pyarrow": "geopandas.read_parquet (GeoParquet import)",
    "python-multipart": "FastAPI's form and file upload parsing",
    "psycopg": "SQLAlchemy's postgresql+psycopg driver (CIMTWIN_DATABASE_URL)",
}


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> set[str]:
    """Distribution names of the runtime dependencies and of the given extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    names = set()
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match is not None, f"unreadable requirement {requirement!r}"
        names.add(normalized(match.group(1)))
    return names


def imported(folders: Iterable[str]) -> dict[str, set[str]]:
    """``{top-level module: files importing it}`` for absolute imports under ``folders``."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    relative = path.relative_to(ROOT).as_posix()
                    found.setdefault(module.partition(".")[0], set()).add(relative)
    return found


@cache
def providers() -> dict[str, frozenset[str]]:
    """``{top-level module: distributions installing it}``, compiled modules included.

    ``importlib.metadata.packages_distributions`` misses top-level extension modules (such as
    ``mapbox_earcut``) on Python 3.11, so the installed files are read here.
    """
    found: dict[str, set[str]] = {}
    for module, names in importlib.metadata.packages_distributions().items():
        found.setdefault(module, set()).update(normalized(n) for n in names)
    for distribution in importlib.metadata.distributions():
        name = normalized(distribution.metadata["Name"])
        for file in distribution.files or ():
            if file.suffix not in (".py", ".so", ".pyd") and len(file.parts) == 1:
                continue
            top = file.parts[0] if len(file.parts) > 1 else file.name.partition(".")[0]
            if top.isidentifier():
                found.setdefault(top, set()).add(name)
    return {module: frozenset(names) for module, names in found.items()}


def undeclared(imports: dict[str, set[str]], allowed: set[str], local: set[str]) -> list[str]:
    """One line per third-party module whose distribution is not in ``allowed``."""
    problems = []
    for module, files in sorted(imports.items()):
        if module in sys.stdlib_module_names or module in local or module == "__future__":
            continue
        sources = providers().get(module)
        if not sources:
            problems.append(f"{module} (imported by {sorted(files)[0]}) is not installed")
        elif not sources & allowed:
            problems.append(
                f"{module} (imported by {sorted(files)[0]}) comes from {'/'.join(sorted(sources))},"
                " which pyproject.toml does not declare"
            )
    return problems


def test_undeclared_imports_are_reported() -> None:
    """The check itself: an import of an installed but undeclared distribution is caught."""
    imports = {"numpy": {"x.py"}, "pytest": {"x.py"}, "cim": {"x.py"}, "json": {"x.py"}}
    assert undeclared(imports, declared(), set(PRODUCT)) == [
        "pytest (imported by x.py) comes from pytest, which pyproject.toml does not declare"
    ]
    assert undeclared(imports, declared("dev"), set(PRODUCT)) == []


def test_every_import_of_the_product_is_a_runtime_dependency() -> None:
    assert undeclared(imported(PRODUCT), declared(), set(PRODUCT)) == []


@pytest.mark.parametrize(
    ("folder", "extras"), [("tests", ("dev",)), ("bench", ("dev", "bench"))]
)  # fmt: skip
def test_every_import_of_the_tests_and_benchmarks_is_declared(
    folder: str, extras: tuple[str, ...]
) -> None:
    local = {*PRODUCT, "tests", *(p.stem for p in (ROOT / folder).glob("*.py"))}
    assert undeclared(imported([folder]), declared(*extras), local) == []


def test_every_runtime_dependency_is_used() -> None:
    """A runtime dependency no product module imports (py3dtiles, once) belongs in an extra."""
    imports = imported(PRODUCT)
    used = {name for module in imports for name in providers().get(module, ())}
    unused = declared() - used - set(USED_INDIRECTLY)
    assert not unused, f"declared but never imported by {', '.join(PRODUCT)}: {sorted(unused)}"
