"""Requests carrying photos have a body cap of their own (six photos of the largest size and
a MiB of fields), above the cap of other requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app, photo_body_bytes
from api.settings import get_settings
from tests.api.incidents.conftest import lonlat
from tests.scoped_city import TOWN_A, ScopedCity
from tests.signin import signed_in
from tests.simulation.incidents.people import png_bytes


@pytest.fixture()
def inspector(
    scoped_city: ScopedCity, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("CIMTWIN_MAX_BODY_MB", "0.01")  # 10 KiB for other requests
    monkeypatch.setenv("CIMTWIN_MAX_PHOTO_MB", "0.01")  # photos up to 10 KiB each
    monkeypatch.setenv("CIMTWIN_DATABASE_URL", f"sqlite:///{tmp_path}/ops.sqlite")
    get_settings.cache_clear()
    app = create_app(scoped_city.folder, worker=False)
    client = TestClient(app)
    client.headers.update(signed_in(app, roles=("operator",), jurisdiction=TOWN_A))
    yield client
    get_settings.cache_clear()


def test_six_photos_pass_where_other_bodies_are_capped(inspector: TestClient) -> None:
    assert photo_body_bytes(0.01) == int(1.06 * 2**20)
    lon, lat = lonlat("A")
    form = {"category": "road_damage", "title": "Pothole", "lon": str(lon), "lat": str(lat)}
    photo = png_bytes() + b"\x00" * 9000  # 9 KiB each: 54 KiB in all
    answer = inspector.post(
        "/api/incidents",
        data=form,
        files=[("photos", (f"{i}.png", photo, "image/png")) for i in range(6)],
    )
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["steps"][0]["attachments"]) == 6
    big_query = {"polygon": {"type": "Polygon", "coordinates": [[[113.0, 23.0]] * 3000]}}
    assert inspector.post("/api/objects/query", json=big_query).status_code == 413


def test_a_body_over_the_photo_cap_is_refused(inspector: TestClient) -> None:
    over = photo_body_bytes(0.01) + 1
    answer = inspector.post(
        "/api/incidents",
        content=b"x" * over,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert answer.status_code == 413
