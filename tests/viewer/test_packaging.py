"""The viewer's build ships inside the Python package: an installed wheel serves it without npm."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from api.app import create_app
from api.static import PACKAGED_VIEWER
from tests.signin import admin_client

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.slow
def test_the_wheel_holds_the_built_viewer(tmp_path: Path) -> None:
    built = built_viewer()
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP, symlinks=False)
    # A build from the repository's viewer/dist is not what is packaged: only api/viewer_dist.
    shutil.rmtree(source / "viewer" / "dist", ignore_errors=True)
    wheels = tmp_path / "wheels"
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
    names = set(zipfile.ZipFile(wheel).namelist())
    root = built.parent.parent
    expected = {p.relative_to(root).as_posix() for p in built.rglob("*") if p.is_file()}
    assert expected <= names, sorted(expected - names)[:10]
    for name in ("index.html", "app.js", "i18n.js", "style.js", "cesium/Cesium.js",
                 "cesium/Widgets/widgets.css"):  # fmt: skip
        assert f"api/viewer_dist/{name}" in names


def test_the_packaged_viewer_is_served_without_the_repository_build(
    tmp_path: Path, small_planner_city: Path
) -> None:
    built_viewer()
    client = admin_client(create_app(small_planner_city, viewer_dir=tmp_path / "no-viewer-here"))
    page = client.get("/")
    assert page.status_code == 200 and "cesiumContainer" in page.text
    assert client.get("/i18n.js").status_code == 200
    assert client.get("/cesium/Cesium.js").status_code == 200
