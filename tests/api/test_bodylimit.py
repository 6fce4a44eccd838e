"""Request bodies other than uploads are capped (413), whether or not they say their length."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from tests.conftest import make_city
from tests.signin import admin_client


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CIMTWIN_MAX_BODY_MB", "0.01")  # 10 KiB
    get_settings.cache_clear()
    make_city(tmp_path, "EPSG:4547").close()
    with admin_client(create_app(tmp_path / "city", worker=False)) as test_client:
        yield test_client
    get_settings.cache_clear()


def _big_polygon_query(vertices: int) -> dict[str, object]:
    ring = [[113.0 + i * 1e-6, 23.0] for i in range(vertices)] + [[113.0, 23.1], [113.0, 23.0]]
    return {"polygon": {"type": "Polygon", "coordinates": [ring]}}


def test_a_body_over_the_cap_is_refused_by_its_length(client: TestClient) -> None:
    answer = client.post("/api/objects/query", json=_big_polygon_query(2000))
    assert answer.status_code == 413
    assert "request body larger than" in answer.json()["detail"]


def test_a_body_without_length_is_stopped_once_over_the_cap(client: TestClient) -> None:
    chunk = b'{"bbox": [' + b" " * 4096

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield chunk

    answer = client.post(
        "/api/objects/query", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


def test_a_small_body_passes(client: TestClient) -> None:
    answer = client.post("/api/objects/query", json={"bbox": [113.32, 23.11, 113.33, 23.12]})
    assert answer.status_code == 200, answer.text
