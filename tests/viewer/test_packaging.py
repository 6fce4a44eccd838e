"""The viewer's build ships inside the Python package: an installed wheel serves it without npm."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from api.app import create_app
from tests.signin import admin_client
from tests.wheel import built_viewer


@pytest.mark.slow
def test_the_wheel_holds_the_built_viewer(project_wheel: Path) -> None:
    built = built_viewer()
    names = set(zipfile.ZipFile(project_wheel).namelist())
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
