"""Writes are rate-limited per client address and per credential; reads and sign-in are not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import Rate, RateSettingError, TokenBuckets, is_write
from api.settings import get_settings
from cim.store import CityStore
from tests.signin import signed_in


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    return tmp_path / "city"


@pytest.fixture()
def two_a_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CIMTWIN_WRITE_RATE", "2/minute")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_third_write_in_a_minute_is_refused_with_retry_after(
    city: Path, two_a_minute: None
) -> None:
    app = create_app(city, worker=False)
    client = TestClient(app, client=("203.0.113.1", 50000))
    client.headers.update(signed_in(app, roles=("manager",)))
    assert [client.post("/api/tilings").status_code for _ in range(2)] == [202, 202]
    refused = client.post("/api/tilings")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert "CIMTWIN_WRITE_RATE" in refused.json()["detail"]
    assert refused.headers["x-content-type-options"] == "nosniff"  # headers on a 429 too
    assert client.get("/api/jobs").status_code == 200  # reads go on
    assert client.post("/api/objects/query", json={"limit": 1}).status_code == 200
    assert client.post("/api/auth/token", data={"username": "a"}).status_code != 429
    other = TestClient(app, client=("203.0.113.2", 50000))
    other.headers.update(signed_in(app, roles=("manager",)))
    assert other.post("/api/tilings").status_code == 202  # another caller has its own


def test_one_credential_from_two_addresses_shares_one_bucket(
    city: Path, two_a_minute: None
) -> None:
    app = create_app(city, worker=False)
    token = signed_in(app, roles=("manager",))
    first = TestClient(app, client=("203.0.113.1", 50000))
    second = TestClient(app, client=("203.0.113.2", 50000))
    assert first.post("/api/tilings", headers=token).status_code == 202
    assert second.post("/api/tilings", headers=token).status_code == 202
    assert second.post("/api/tilings", headers=token).status_code == 429
    # no credential: the address's bucket (not spent), then sign-in is asked for
    assert second.post("/api/tilings").status_code == 401


def test_buckets_refill_with_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(2, 60.0), clock=lambda: now[0])
    for _ in range(2):
        assert buckets.wait("a") == 0
        buckets.take("a")
    assert buckets.wait("a") == pytest.approx(30.0)
    now[0] = 30.0
    assert buckets.wait("a") == 0


def test_the_rate_setting_is_checked() -> None:
    assert Rate.parse("30/minute") == Rate(30, 60.0)
    assert Rate.parse(" 5 / second ") == Rate(5, 1.0)
    assert Rate.parse("") is None
    for bad in ("30", "0/minute", "ten/minute", "30/fortnight", "-1/hour"):
        with pytest.raises(RateSettingError, match="CIMTWIN_WRITE_RATE"):
            Rate.parse(bad)


@pytest.mark.parametrize(
    ("method", "path", "limited"),
    [("POST", "/api/imports", True), ("DELETE", "/api/anything", True), ("PUT", "/api", True),
     ("GET", "/api/imports", False), ("OPTIONS", "/api/imports", False),
     ("POST", "/api/auth/token", False), ("POST", "/api/objects/values", False),
     ("POST", "/tiles/x", False)],
)  # fmt: skip
def test_what_counts_as_a_write(method: str, path: str, limited: bool) -> None:
    assert is_write(method, path) is limited


def test_the_server_refuses_to_start_with_a_bad_rate(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIMTWIN_WRITE_RATE", "lots")
    get_settings.cache_clear()
    try:
        with pytest.raises(RateSettingError, match="'lots': expected N/second"):
            create_app(city, worker=False)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
