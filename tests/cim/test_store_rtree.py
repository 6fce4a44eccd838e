"""The GeoPackage R-tree spatial index: GDAL sees it, writes keep it right, queries use it,
bulk loads fill it in one statement, and stores of format 2 get it when opened."""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from cim import gpkg, store_rtree
from cim.errors import CimError, QueryError
from cim.model import CityObject
from cim.scope import Scope
from cim.store import STORE_FILE, CityStore
from cim.store_rows import Box
from tests.conftest import box_mesh, make_city

X0, Y0 = 432700.0, 2557900.0
RTREE = store_rtree.RTREE_TABLE


def _square(x: float, y: float, size: float) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def _grid(store: CityStore, count: int, source: str = "grid", bulk: bool = False) -> None:
    """``count`` squares of 10 m on a 20 m grid, 10 to a row."""
    objects = [
        CityObject(f"{source}-{i}", "building", f"block {i}", source=source,
                   footprint=_square(X0 + 20 * (i % 10), Y0 + 20 * (i // 10), 10.0),
                   attributes={"use": "office" if i % 2 else "home", "levels": i % 4,
                               "height": 3.5 * (i % 3), "listed": i % 5 == 0})
        for i in range(count)
    ]  # fmt: skip
    with store.transaction() as writer:
        if bulk:
            writer.add_objects(objects)
        else:
            for obj in objects:
                writer.add_object(obj)


def _raw(store: CityStore) -> sqlite3.Connection:
    """A second connection to the store, with the functions the triggers need."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    store_rtree.register_functions(conn)
    return conn


def _index(store: CityStore) -> dict[int, tuple[float, float, float, float]]:
    conn = _raw(store)
    try:
        rows = conn.execute(f"SELECT id, minx, maxx, miny, maxy FROM {RTREE}").fetchall()
    finally:
        conn.close()
    return {row[0]: row[1:] for row in rows}


def _fids(store: CityStore) -> dict[str, int]:
    conn = _raw(store)
    try:
        return dict(conn.execute("SELECT object_id, fid FROM city_objects").fetchall())
    finally:
        conn.close()


def _encloses(entry: tuple[float, float, float, float], bounds: tuple[float, ...]) -> bool:
    """The R-tree's single-precision box holds the exact one, within a float32 step."""
    min_x, max_x, min_y, max_y = entry
    step = 0.5  # float32 spacing near 2.5e6 is 0.25 m
    low_x, low_y, high_x, high_y = bounds
    return (low_x - step <= min_x <= low_x and high_x <= max_x <= high_x + step
            and low_y - step <= min_y <= low_y and high_y <= max_y <= high_y + step)  # fmt: skip


def test_the_index_is_declared_like_gdal_declares_it(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    conn = _raw(store)
    try:
        triggers = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                (gpkg.OBJECTS_TABLE,),
            )
        }
        extension = conn.execute(
            "SELECT table_name, column_name, extension_name, definition, scope FROM gpkg_extensions"
        ).fetchall()
    finally:
        conn.close()
    suffixes = ("insert", "update2", "update4", "update5", "update6", "update7", "delete")
    assert triggers == {f"{RTREE}_{suffix}" for suffix in suffixes}
    assert extension == [
        ("city_objects", "geom", "gpkg_rtree_index", store_rtree.EXTENSION_DEFINITION, "write-only")
    ]
    assert store_rtree.EXTENSION_DEFINITION.endswith("#extension_rtree")
    store.close()


def test_writes_keep_the_index_right(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 4)
    with store.transaction() as writer:
        writer.add_object(CityObject("bare", "building", source="other"))  # no footprint
    fids = _fids(store)
    index = _index(store)
    assert set(index) == {fids[f"grid-{i}"] for i in range(4)}
    for i in range(4):
        footprint = store.get_object(f"grid-{i}", scope=Scope.everything()).footprint
        assert footprint is not None and _encloses(index[fids[f"grid-{i}"]], footprint.bounds)

    conn = _raw(store)  # geometry updates, as another GeoPackage writer would make them
    try:
        moved = _square(X0 + 500, Y0 + 500, 4.0)
        conn.execute("UPDATE city_objects SET geom = ? WHERE object_id = 'grid-0'",
                     (gpkg.encode_geometry(moved, 4547),))  # fmt: skip
        conn.execute("UPDATE city_objects SET geom = NULL WHERE object_id = 'grid-1'")
        conn.execute("UPDATE city_objects SET geom = ? WHERE object_id = 'bare'",
                     (gpkg.encode_geometry(_square(X0, Y0 - 50, 5.0), 4547),))  # fmt: skip
        conn.execute("UPDATE city_objects SET fid = 9999 WHERE object_id = 'grid-2'")
    finally:
        conn.close()
    index = _index(store)
    assert _encloses(index[fids["grid-0"]], moved.bounds)  # update6
    assert fids["grid-1"] not in index  # update2
    assert fids["bare"] in index  # update7
    assert fids["grid-2"] not in index and 9999 in index  # update5
    with store.transaction() as writer:
        writer.remove_source("grid")  # delete
    assert set(_index(store)) == {fids["bare"]}
    store.close()


def _ogr(*args: str) -> subprocess.CompletedProcess[str]:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.fail("GDAL's ogrinfo is not installed (apt-get install gdal-bin)", pytrace=False)
    environment = {**os.environ, "CPL_DEBUG": "ON"}
    return subprocess.run([ogrinfo, "-ro", *args], capture_output=True, text=True, check=True,
                          env=environment)  # fmt: skip


def test_ogrinfo_reports_and_uses_the_spatial_index(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 30)
    store.close()
    path = str(tmp_path / "city" / STORE_FILE)
    has_index = _ogr(path, "-sql", "SELECT HasSpatialIndex('city_objects', 'geom')")
    assert "HasSpatialIndex (Integer) = 1" in has_index.stdout
    summary = _ogr("-so", path, "city_objects")
    assert "Feature Count: 30" in summary.stdout
    # a 30 x 30 m window over the grid's first cell corner: four squares meet it
    window = [str(v) for v in (X0 + 5, Y0 + 5, X0 + 25, Y0 + 25)]
    found = _ogr("-spat", *window, "-q", path, "city_objects")
    assert f'"{RTREE}"' in found.stderr  # GDAL filtered through the index
    ids = {line.split("=")[1].strip() for line in found.stdout.splitlines()
           if line.strip().startswith("object_id")}  # fmt: skip
    assert ids == {"grid-0", "grid-1", "grid-10", "grid-11"}
    for run in (has_index, summary, found):
        assert "ERROR" not in run.stderr and "Warning" not in run.stderr, run.stderr


def test_pyogrio_reads_a_bounding_box(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 30, bulk=True)
    store.close()
    frame = pyogrio.read_dataframe(tmp_path / "city" / STORE_FILE, layer="city_objects",
                                   bbox=(X0 + 35, Y0 + 15, X0 + 45, Y0 + 45))  # fmt: skip
    assert sorted(frame["object_id"]) == ["grid-12", "grid-22"]  # x 40-50, y 20-30 and 40-50


def test_box_queries_go_through_the_index(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 30)
    box = (X0 - 1, Y0 - 1, X0 + 31, Y0 + 11)
    assert [o.id for o in store.objects_in_box("building", box, scope=Scope.everything())] == [
        "grid-0",
        "grid-1",
    ]
    assert [o.id for o in store.objects_in_box(None, Box(*box), scope=Scope.everything())] == [
        "grid-0",
        "grid-1",
    ]
    conn = _raw(store)  # an object missing from the index is not found by a box
    try:
        conn.execute(f"DELETE FROM {RTREE} WHERE id = ?", (_fids(store)["grid-1"],))
    finally:
        conn.close()
    assert [o.id for o in store.objects_in_box("building", box, scope=Scope.everything())] == [
        "grid-0"
    ]
    assert len(store.objects_in_box("building", None, scope=Scope.everything())) == 30
    # exact: the index's rounding never adds an object whose envelope misses the box
    assert (
        store.objects_in_box(
            "building", (X0 + 10.01, Y0, X0 + 19.99, Y0 + 5), scope=Scope.everything()
        )
        == []
    )
    store.close()


@pytest.mark.parametrize(
    "box",
    [(math.nan, Y0, X0, Y0), (X0, Y0, math.inf, Y0 + 1), (X0 + 5, Y0, X0, Y0 + 1),
     (X0, Y0 + 5, X0 + 1, Y0)],
    ids=["nan", "infinite", "x inverted", "y inverted"],
)  # fmt: skip
def test_a_bad_box_is_refused(tmp_path: Path, box: tuple[float, float, float, float]) -> None:
    store = make_city(tmp_path)
    _grid(store, 3)
    with pytest.raises(QueryError, match="bounding box"):
        store.objects_in_box("building", box, scope=Scope.everything())
    store.close()


def test_feature_pages_count_filter_and_page_in_sql(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 30)
    page = store.feature_page("building", limit=7, offset=21, scope=Scope.everything())
    assert page.matched == 30 and [o.id for o in page.items] == [f"grid-{i}" for i in range(21, 28)]
    assert page.has_next
    last = store.feature_page("building", limit=7, offset=28, scope=Scope.everything())
    assert [o.id for o in last.items] == ["grid-28", "grid-29"] and not last.has_next
    box = Box(X0 - 1, Y0 - 1, X0 + 200, Y0 + 11)  # the first row of ten
    offices = store.feature_page(
        "building", box, {"use": "office"}, limit=100, scope=Scope.everything()
    )
    assert [o.id for o in offices.items] == [f"grid-{i}" for i in (1, 3, 5, 7, 9)]
    assert (
        store.feature_page("building", None, {"levels": "3"}, scope=Scope.everything()).matched == 7
    )  # integers
    assert (
        store.feature_page("building", None, {"height": "7.0"}, scope=Scope.everything()).matched
        == 10
    )  # reals
    assert (
        store.feature_page("building", None, {"listed": "true"}, scope=Scope.everything()).matched
        == 6
    )  # booleans
    assert (
        store.feature_page("building", None, {"name": "block 4"}, scope=Scope.everything()).matched
        == 1
    )  # columns
    assert (
        store.feature_page("building", None, {"nothing": "x"}, scope=Scope.everything()).matched
        == 0
    )
    with pytest.raises(QueryError, match="2\\^63"):
        store.feature_page("building", offset=2**63, scope=Scope.everything())
    store.close()


def test_class_extents_come_from_the_index(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 12)
    with store.transaction() as writer:
        writer.add_object(CityObject("road-1", "road", source="roads",
                                     footprint=_square(X0 - 100, Y0 - 100, 3.0)))  # fmt: skip
    extents = store.class_extents(scope=Scope.everything())
    assert set(extents) == {"building", "road"}
    building = extents["building"]
    expected = (X0, Y0, X0 + 190, Y0 + 30)
    assert building.min_x <= expected[0] and building.min_y <= expected[1]
    assert building.max_x >= expected[2] and building.max_y >= expected[3]
    assert building.max_x - expected[2] < 0.5 and expected[0] - building.min_x < 0.5
    store.close()


def test_a_bulk_load_fills_the_index_in_one_statement(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 5, source="before")
    _grid(store, 300, source="bulk", bulk=True)
    fids = _fids(store)
    index = _index(store)
    assert set(index) == set(fids.values())
    assert _encloses(index[fids["bulk-299"]], _square(X0 + 180, Y0 + 580, 10.0).bounds)
    assert (
        len(store.objects_in_box("building", (X0, Y0, X0 + 5, Y0 + 5), scope=Scope.everything()))
        == 2
    )
    # the trigger is back: one object added the usual way is indexed too
    with store.transaction() as writer:
        writer.add_object(CityObject("late", "building", source="late",
                                     footprint=_square(X0 - 40, Y0, 5.0)))  # fmt: skip
    assert _fids(store)["late"] in _index(store)
    store.close()


def test_a_failed_bulk_load_leaves_store_and_trigger_as_they_were(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 5, source="first")
    before = _index(store)
    clash = [CityObject("fresh", "building", source="second", footprint=_square(X0, Y0, 1.0)),
             CityObject("first-3", "building", source="second")]  # fmt: skip
    with (
        pytest.raises(CimError, match=r"first-3 \(building\) already exists, from source first"),
        store.transaction() as writer,
    ):
        writer.add_objects(clash)
    twice = [CityObject("same", "building", source="s"), CityObject("same", "building", source="s")]
    with (
        pytest.raises(CimError, match="same appears 2 times in one import"),
        store.transaction() as writer,
    ):
        writer.add_objects(twice)
    assert _index(store) == before
    assert "fresh" not in _fids(store)
    with store.transaction() as writer:
        writer.add_object(
            CityObject("later", "building", source="x", footprint=_square(X0, Y0, 2.0))
        )
    assert _fids(store)["later"] in _index(store)
    store.close()


def _as_format_2(path: Path) -> None:
    """Turn a store into what CIMTwin wrote before the index: format 2, rollback journal."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_%'"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute(f"DROP TABLE {RTREE}")
    conn.execute("DROP TABLE gpkg_extensions")
    _drop_jurisdiction_column(conn)
    conn.execute("UPDATE city_meta SET value = '2' WHERE key = 'format_version'")
    conn.close()


def _drop_jurisdiction_column(conn: sqlite3.Connection) -> None:
    """Undo format 4 (the objects' jurisdiction column), as a format 2 or 3 store lacks it."""
    conn.execute("DROP INDEX idx_objects_jurisdiction")
    conn.execute("DROP INDEX idx_objects_class_jurisdiction")
    for table in ("city_objects", "object_history"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN jurisdiction")


def test_a_store_of_format_2_gets_its_index_when_opened(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 20)
    with store.transaction() as writer:
        writer.add_mesh("grid-0", [box_mesh((X0, Y0, 0.0), (X0 + 10, Y0 + 10, 3.0))])
    store.close()
    path = tmp_path / "city" / STORE_FILE
    _as_format_2(path)
    with CityStore.open(tmp_path / "city") as upgraded:
        conn = _raw(upgraded)
        try:
            (version,) = conn.execute(
                "SELECT value FROM city_meta WHERE key = 'format_version'"
            ).fetchone()
            (journal,) = conn.execute("PRAGMA journal_mode").fetchone()
        finally:
            conn.close()
        assert (version, journal) == (gpkg.FORMAT_VERSION, "wal")
        assert set(_index(upgraded)) == set(_fids(upgraded).values())
        assert [
            o.id
            for o in upgraded.objects_in_box(
                "building", (X0, Y0, X0 + 1, Y0 + 1), scope=Scope.everything()
            )
        ] == ["grid-0"]
        assert upgraded.meshes(["grid-0"], scope=Scope.everything())["grid-0"][0].faces.shape == (
            12,
            3,
        )
    has_index = _ogr(str(path), "-sql", "SELECT HasSpatialIndex('city_objects', 'geom')")
    assert "HasSpatialIndex (Integer) = 1" in has_index.stdout
    with CityStore.open(tmp_path / "city") as again:  # the second opening changes nothing
        assert len(_index(again)) == 20


def test_a_store_of_format_3_gets_the_jurisdiction_column_when_opened(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _grid(store, 3)
    store.close()
    conn = sqlite3.connect(tmp_path / "city" / STORE_FILE)
    _drop_jurisdiction_column(conn)
    conn.execute("UPDATE city_meta SET value = '3' WHERE key = 'format_version'")
    conn.commit()
    conn.close()
    with CityStore.open(tmp_path / "city") as upgraded:
        conn = _raw(upgraded)
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(city_objects)")}
            indexes = {row[1] for row in conn.execute("PRAGMA index_list(city_objects)")}
            (version,) = conn.execute(
                "SELECT value FROM city_meta WHERE key = 'format_version'"
            ).fetchone()
        finally:
            conn.close()
        assert "jurisdiction" in columns and "idx_objects_jurisdiction" in indexes
        assert "idx_objects_class_jurisdiction" in indexes
        assert version == gpkg.FORMAT_VERSION == "4"
        assert len(_index(upgraded)) == 3


def test_the_store_is_in_wal_mode_from_its_creation(tmp_path: Path) -> None:
    make_city(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "city" / STORE_FILE)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_the_triggers_functions_read_every_blob_form() -> None:
    conn = sqlite3.connect(":memory:")
    store_rtree.register_functions(conn)
    square = MultiPolygon([_square(1.0, 2.0, 3.0)])
    with_envelope = gpkg.encode_geometry(square, 4547)
    assert with_envelope is not None
    no_envelope = with_envelope[:3] + bytes([with_envelope[3] & 0b1]) + with_envelope[4:8] + (
        shapely.to_wkb(square, byte_order=1))  # fmt: skip
    empty = with_envelope[:3] + bytes([with_envelope[3] | 0b1_0000]) + with_envelope[4:]
    query = "SELECT ST_IsEmpty(?), ST_MinX(?), ST_MaxX(?), ST_MinY(?), ST_MaxY(?)"
    for blob in (with_envelope, no_envelope):
        assert conn.execute(query, [blob] * 5).fetchone() == (0, 1.0, 4.0, 2.0, 5.0)
    assert conn.execute(query, [empty] * 5).fetchone() == (1, None, None, None, None)
    assert conn.execute(query, [None] * 5).fetchone() == (None, None, None, None, None)
    assert conn.execute(query, [b"not a geometry"] * 5).fetchone() == (1, None, None, None, None)
    conn.close()
