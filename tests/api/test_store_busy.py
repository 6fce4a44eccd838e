"""The store serves while it writes: reads answer during an import's write transaction, a
second writer gets a clear "busy" error, and a locked store is never "not a store"."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from api.app import create_app
from api.errors import status_for
from bim.authoring import BuildingSpec, write_demo_building
from bim.importer import import_ifc
from cim import store_sqlite
from cim.errors import NotAStoreError, StoreBusyError
from cim.scope import Scope
from cim.store import STORE_FILE, CityStore
from tests.signin import admin_client


def _copy(small_city: Path, target: Path) -> Path:
    with CityStore.open(small_city) as source:
        source.copy_to(target).close()
    shutil.copytree(small_city / "tiles", target / "tiles")
    return target


def test_reads_answer_while_an_import_holds_its_write_transaction(
    small_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT", 0.5)
    city = _copy(small_city, tmp_path / "city")
    spec = BuildingSpec("East Hall", 430830.0, 2557860.0, storeys=2)
    ifc = write_demo_building(spec, tmp_path / "east.ifc")
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow_progress(_path: Path, _done: int) -> None:  # keeps the transaction open
        holding.set()
        release.wait(timeout=300)

    def run_import() -> None:
        try:
            with CityStore.open(city) as store:
                import_ifc(store, ifc, on_progress=slow_progress)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    importer = threading.Thread(target=run_import)
    importer.start()
    try:
        assert holding.wait(timeout=300), "the import never reported progress"
        with CityStore.open(city) as second:  # the import really holds the write lock
            with pytest.raises(StoreBusyError, match="busy: another import"), second.transaction():
                pass
            walls = second.objects(cls="IfcWall", scope=Scope.everything())
        client = admin_client(create_app(city))
        reads = [
            "/api/city",
            "/api/objects?limit=5",
            f"/api/objects/{walls[0].id}",
            "/api/search?q=Hall",
            "/api/stats",
            "/ogc/collections/IfcWall/items?limit=3&bbox=113.3,23.1,113.4,23.2",
            "/ogc/collections",
            "/tiles/tileset.json",
        ]
        for url in reads:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.text)
        query = client.post("/api/objects/query", json={"bbox": [113.3, 23.1, 113.4, 23.2]})
        assert query.status_code == 200 and query.json()["total"] > 0
        values = client.post("/api/objects/values", json={"attribute": "height"})
        assert values.status_code == 200
        # another process, with the default busy timeout: `cimtwin info` answers at once
        info = subprocess.run(
            [sys.executable, "-m", "api.cli", "info", "--city", str(city)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert info.returncode == 0, info.stderr
        assert "East Hall" not in info.stdout  # the import has not committed yet
        names = {o["name"] for o in client.get("/api/objects?class=IfcBuilding").json()["objects"]}
        assert "East Hall" not in names
    finally:
        release.set()
        importer.join(timeout=600)
    assert not failures, failures
    with CityStore.open(city) as store:
        assert "East Hall" in {
            b.name for b in store.objects(cls="IfcBuilding", scope=Scope.everything())
        }


def test_a_writer_waits_for_another_then_fails_with_a_clear_busy_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT", 0.2)
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    with CityStore.open(tmp_path / "city") as first, CityStore.open(tmp_path / "city") as second:
        with first.transaction(), pytest.raises(StoreBusyError) as raised, second.transaction():
            pass
        assert "not a CIMTwin city store" not in str(raised.value)
        assert status_for(raised.value) == 503
        with second.transaction():  # free again once the first one commits
            pass


def test_a_locked_store_is_busy_not_a_non_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_sqlite, "BUSY_TIMEOUT", 0.2)
    CityStore.create(tmp_path / "city", "EPSG:4547").close()
    locker = sqlite3.connect(tmp_path / "city" / STORE_FILE, isolation_level=None)
    try:
        locker.execute("PRAGMA locking_mode = EXCLUSIVE")  # readers locked out, even in WAL
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreBusyError, match="busy"):
            CityStore.open(tmp_path / "city")
        client = admin_client(create_app(tmp_path / "city"))
        answer = client.get("/api/city")
        assert answer.status_code == 503
        assert "busy" in answer.json()["detail"]
        assert "not a CIMTwin city store" not in answer.text
    finally:
        locker.close()
    with CityStore.open(tmp_path / "city") as store:
        assert store.counts_by_class(scope=Scope.everything()) == {}


@pytest.mark.parametrize(
    "content",
    [b"this is not sqlite at all\n" * 100, b""],
    ids=["garbage", "empty"],
)
def test_a_file_that_is_not_a_store_is_named_so(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / STORE_FILE).write_bytes(content)
    with pytest.raises(NotAStoreError, match="not a CIMTwin city store"):
        CityStore.open(tmp_path / "junk")


def test_a_geopackage_of_another_program_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    conn = sqlite3.connect(tmp_path / "other" / STORE_FILE)
    conn.execute("PRAGMA application_id = 1196444487")  # "GPKG"
    conn.execute("CREATE TABLE gpkg_contents (table_name TEXT)")
    conn.close()
    with pytest.raises(NotAStoreError, match="without the city_meta table"):
        CityStore.open(tmp_path / "other")
