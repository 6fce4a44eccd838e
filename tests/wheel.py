"""The project's wheel, built once per session from a copy of the source tree (with the
viewer's build packaged in ``api/viewer_dist``) for the tests of what it ships."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.static import PACKAGED_VIEWER

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", "test-artifacts", "demo-city", "build", "*.egg-info",
)  # fmt: skip


def built_viewer() -> Path:
    """api/viewer_dist, built by npm when it is missing."""
    if not (PACKAGED_VIEWER / "index.html").is_file():
        npm = shutil.which("npm")
        if npm is None or not (ROOT / "viewer" / "node_modules").is_dir():
            pytest.fail("the viewer is not built: run `make viewer` (npm ci, npm run build)")
        subprocess.run([npm, "run", "build"], cwd=ROOT / "viewer", check=True, capture_output=True)
    return PACKAGED_VIEWER


def build_wheel(folder: Path) -> Path:
    """Build the wheel from a copy of the source tree in ``folder``; the wheel's path."""
    built_viewer()
    source = folder / "src"
    shutil.copytree(ROOT, source, ignore=SKIP, symlinks=False)
    # A build from the repository's viewer/dist is not what is packaged: only api/viewer_dist.
    shutil.rmtree(source / "viewer" / "dist", ignore_errors=True)
    wheels = folder / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
               "--wheel-dir", str(wheels), str(source)]  # fmt: skip
    # pip's isolated build fetches setuptools from the index (or its cache); without it, the
    # environment's own setuptools and wheel must do.
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        done = subprocess.run(
            [*command, "--no-build-isolation"], capture_output=True, text=True, timeout=600
        )
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = wheels.glob("cimtwin-*.whl")
    return wheel


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once for the session."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
