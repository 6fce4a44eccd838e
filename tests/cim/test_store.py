"""The city store: creating and opening, transactions, round trips, and GDAL readability."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from cim import gpkg
from cim.errors import (
    CimError,
    CityExistsError,
    CityNotFoundError,
    CrsError,
    ObjectNotFoundError,
    QueryError,
)
from cim.model import CityObject, Material, MeshPart
from cim.scope import Scope
from cim.store import STORE_FILE, CityStore
from tests.conftest import LOCAL_CRS, add_boxes, box_mesh, make_city, store_state, table_rows

X0, Y0 = 432700.0, 2557900.0


def _square(x: float, y: float, size: float) -> Polygon:
    return Polygon([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def test_create_then_open(tmp_path: Path) -> None:
    store = CityStore.create(tmp_path / "tianhe", LOCAL_CRS, name="Tianhe district")
    assert store.path == tmp_path / "tianhe" / STORE_FILE
    assert store.path.is_file()
    assert store.crs == LOCAL_CRS
    assert store.srs_id == 4547
    assert store.name == "Tianhe district"
    assert store.counts_by_class(scope=Scope.everything()) == {}
    assert store.extent(scope=Scope.everything()) is None
    assert store.sources(scope=Scope.everything()) == []
    store.close()
    assert not (tmp_path / "tianhe" / "city.gpkg.partial").exists()
    with CityStore.open(tmp_path / "tianhe") as reopened:
        assert (reopened.crs, reopened.name, reopened.srs_id) == (
            LOCAL_CRS,
            "Tianhe district",
            4547,
        )


def test_name_defaults_to_folder_and_crs_is_normalised(tmp_path: Path) -> None:
    with CityStore.create(tmp_path / "karlsruhe", "epsg:25832") as store:
        assert store.name == "karlsruhe"
        assert store.crs == "EPSG:25832"


def test_create_twice_raises_city_exists(tmp_path: Path) -> None:
    make_city(tmp_path).close()
    before = (tmp_path / "city" / STORE_FILE).read_bytes()
    with pytest.raises(CityExistsError, match="already holds a city"):
        CityStore.create(tmp_path / "city", LOCAL_CRS)
    assert (tmp_path / "city" / STORE_FILE).read_bytes() == before


def test_create_refuses_a_geographic_crs_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(CrsError, match="not a projected CRS"):
        CityStore.create(tmp_path / "geo", "EPSG:4326")
    assert not (tmp_path / "geo").exists()


def test_open_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CityNotFoundError, match="does not exist"):
        CityStore.open(tmp_path / "nowhere")


def test_open_folder_without_store(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CityNotFoundError, match=r"city\.gpkg is missing"):
        CityStore.open(tmp_path / "empty")


def test_open_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / STORE_FILE).write_bytes(b"this is not sqlite at all\n" * 100)
    with pytest.raises(CimError, match="not a CIMTwin city store"):
        CityStore.open(tmp_path / "junk")


def _fill(store: CityStore) -> None:
    add_boxes(store, 5, source="first.ifc")
    with store.transaction() as writer:
        writer.add_object(
            CityObject(
                "storey-1",
                "IfcBuildingStorey",
                "Ground floor",
                source="second.ifc",
                attributes={"psets": {"Pset_BuildingStoreyCommon": {"AboveGround": True}}},
                footprint=_square(X0, Y0, 30.0),
                base_height=10.0,
                top_height=14.0,
            )
        )
        writer.add_object(
            CityObject("wall-1", "IfcWall", "Wall", parent_id="storey-1", source="second.ifc")
        )
        writer.add_mesh("wall-1", [box_mesh((X0, Y0, 10.0), (X0 + 5, Y0 + 0.3, 13.0))])
        writer.record_source("second.ifc", "/data/second.ifc", "ab" * 32, "ifc", {"n": 2})


def test_failed_transaction_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _fill(store)
    before_state, before_rows = store_state(store), table_rows(store)
    assert before_state["counts"] == {"IfcBuildingStorey": 1, "IfcWall": 6}
    assert len(before_state["sources"]) == 2

    with pytest.raises(RuntimeError, match="midway"), store.transaction() as writer:
        assert writer.remove_source("first.ifc") == 5
        writer.add_object(CityObject("new-1", "IfcSlab", "Slab", source="third.ifc"))
        writer.add_mesh("new-1", [box_mesh((X0, Y0, 0.0), (X0 + 50, Y0 + 50, 1.0))])
        writer.record_source("third.ifc", "", "", "ifc", {})
        raise RuntimeError("failure midway through the import")

    assert store_state(store) == before_state
    assert table_rows(store) == before_rows
    # the store still works after the rollback
    add_boxes(store, 1, source="after.ifc")
    assert store.counts_by_class(scope=Scope.everything())["IfcWall"] == 7
    store.close()


def test_remove_source_removes_objects_meshes_and_record(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _fill(store)
    with store.transaction() as writer:
        assert writer.remove_source("second.ifc") == 2
    assert store.counts_by_class(scope=Scope.everything()) == {"IfcWall": 5}
    assert [s["source"] for s in store.sources(scope=Scope.everything())] == ["first.ifc"]
    assert "wall-1" not in {entry.object_id for entry in store.mesh_index(scope=Scope.everything())}
    store.close()


def test_duplicate_object_id_raises(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_boxes(store, 2, source="a.ifc")
    clash = r"a\.ifc-0 \(IfcSlab\) already exists, from source a\.ifc"
    with pytest.raises(CimError, match=clash), store.transaction() as writer:
        writer.add_object(CityObject("a.ifc-0", "IfcSlab", source="b.ifc"))
    with pytest.raises(CimError, match="already exists"), store.transaction() as writer:
        writer.add_object(CityObject("twice", "IfcSlab", source="b.ifc"))
        writer.add_object(CityObject("twice", "IfcSlab", source="b.ifc"))
    assert store.counts_by_class(scope=Scope.everything()) == {"IfcWall": 2}
    store.close()


def test_objects_queries_and_ancestors(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _fill(store)
    assert [o.id for o in store.objects(cls="IfcBuildingStorey", scope=Scope.everything())] == [
        "storey-1"
    ]
    assert [o.id for o in store.objects(parent_id="storey-1", scope=Scope.everything())] == [
        "wall-1"
    ]
    assert [o.id for o in store.ancestors("wall-1", scope=Scope.everything())] == ["storey-1"]
    storey = store.get_object("storey-1", scope=Scope.everything())
    assert storey.attributes == {"psets": {"Pset_BuildingStoreyCommon": {"AboveGround": True}}}
    assert (storey.base_height, storey.top_height) == (10.0, 14.0)
    with pytest.raises(ObjectNotFoundError, match="nope"):
        store.get_object("nope", scope=Scope.everything())
    store.close()


@pytest.mark.parametrize(
    ("footprint", "expected"),
    [
        (_square(X0, Y0, 10.0), MultiPolygon([_square(X0, Y0, 10.0)])),
        (
            Polygon(
                _square(X0, Y0, 10.0).exterior.coords,
                [list(_square(X0 + 2, Y0 + 2, 3.0).exterior.coords)[::-1]],
            ),
            None,
        ),
        (MultiPolygon([_square(X0, Y0, 1.0), _square(X0 + 5.123456789, Y0, 2.0)]), None),
        (
            GeometryCollection([_square(X0, Y0, 4.0), LineString([(X0, Y0), (X0 + 9, Y0 + 9)])]),
            MultiPolygon([_square(X0, Y0, 4.0)]),
        ),
        (LineString([(X0, Y0), (X0 + 9, Y0 + 9)]), "none"),
        (Point(X0, Y0), "none"),
        (None, "none"),
    ],
    ids=["polygon", "polygon-with-hole", "multipolygon", "collection", "line", "point", "none"],
)
def test_footprint_round_trip(
    tmp_path: Path, footprint: shapely.Geometry | None, expected: object
) -> None:
    store = make_city(tmp_path)
    with store.transaction() as writer:
        writer.add_object(CityObject("obj", "IfcSlab", source="s", footprint=footprint))
    stored = store.get_object("obj", scope=Scope.everything()).footprint
    if expected == "none":
        assert stored is None
    else:
        want = expected if expected is not None else footprint
        if isinstance(want, Polygon):
            want = MultiPolygon([want])
        assert isinstance(stored, MultiPolygon)
        assert shapely.equals_exact(stored, want, tolerance=0.0)
    store.close()


def test_geometry_blob_is_a_geopackage_blob(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    footprint = MultiPolygon([_square(X0, Y0, 10.0), _square(X0 + 20, Y0 + 30, 5.0)])
    with store.transaction() as writer:
        writer.add_object(CityObject("obj", "IfcSlab", source="s", footprint=footprint))
    conn = sqlite3.connect(store.path)
    (blob,) = conn.execute("SELECT geom FROM city_objects").fetchone()
    contents = conn.execute(
        "SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents"
        " WHERE table_name = 'city_objects'"
    ).fetchone()
    conn.close()
    assert blob[:2] == b"GP"
    assert blob[2] == 0  # version 1
    assert blob[3] & 1 == 1  # little endian
    assert (blob[3] >> 1) & 0b111 == 1  # XY envelope
    srs_id, min_x, max_x, min_y, max_y = struct.unpack_from("<i4d", blob, 4)
    assert srs_id == 4547
    assert (min_x, min_y, max_x, max_y) == footprint.bounds
    assert contents == (*footprint.bounds, 4547)
    store.close()


@pytest.mark.parametrize("envelope", [0, 1, 2, 3, 4])
def test_decode_geometry_accepts_every_envelope(envelope: int) -> None:
    polygon = MultiPolygon([_square(1.0, 2.0, 3.0)])
    doubles = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}[envelope]
    header = b"GP" + bytes([0, 1 | envelope << 1]) + struct.pack("<i", 4547)
    blob = header + struct.pack(f"<{doubles}d", *range(doubles)) + shapely.to_wkb(polygon)
    assert shapely.equals_exact(gpkg.decode_geometry(blob), polygon, tolerance=0.0)
    assert gpkg.decode_geometry(None) is None
    with pytest.raises(ValueError, match="not a GeoPackage"):
        gpkg.decode_geometry(b"XX" + blob[2:])


def test_mesh_round_trip_is_exact(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    rng = np.random.default_rng(7)
    vertices = np.column_stack(
        [
            X0 + rng.uniform(0, 100, 50),
            Y0 + rng.uniform(0, 100, 50),
            rng.uniform(-5, 50, 50),
        ]
    )
    vertices[0] = (432700.123456789012, 2557900.987654321098, 1e-9)
    faces = rng.integers(0, 50, size=(40, 3)).astype(np.uint32)
    parts = [
        MeshPart(Material("glass", (0.1, 0.2, 0.3, 0.4)), vertices, faces),
        MeshPart(Material("concrete"), vertices[:10] + 0.5, faces[:3] % 10),
    ]
    with store.transaction() as writer:
        writer.add_object(CityObject("obj", "IfcCurtainWall", "Facade", source="s"))
        writer.add_mesh("obj", parts)
    loaded = store.meshes(["obj", "absent"], scope=Scope.everything())["obj"]
    assert len(loaded) == 2
    for original, back in zip(parts, loaded, strict=True):
        assert back.material == original.material
        assert back.vertices.dtype == np.float64
        assert np.array_equal(back.vertices, original.vertices)
        assert back.faces.dtype == np.uint32
        assert np.array_equal(back.faces, original.faces)
    (entry,) = store.mesh_index(scope=Scope.everything())
    assert (entry.object_id, entry.cls, entry.name) == ("obj", "IfcCurtainWall", "Facade")
    low = np.minimum(vertices.min(axis=0), (vertices[:10] + 0.5).min(axis=0))
    high = np.maximum(vertices.max(axis=0), (vertices[:10] + 0.5).max(axis=0))
    assert entry.bounds == (*low.tolist(), *high.tolist())
    assert entry.triangles == 43
    assert store.extent(scope=Scope.everything()) == entry.bounds
    store.close()


def test_meshes_load_in_chunks(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    ids = add_boxes(store, 1203)
    meshes = store.meshes(ids, scope=Scope.everything())
    assert sorted(meshes) == sorted(ids)
    assert all(len(parts) == 1 and len(parts[0].faces) == 12 for parts in meshes.values())
    store.close()


def _ogrinfo() -> str:
    path = shutil.which("ogrinfo")
    if path is None:
        pytest.fail("GDAL's ogrinfo is not installed (apt-get install gdal-bin)", pytrace=False)
    return path


def test_ogrinfo_reads_the_store(tmp_path: Path) -> None:
    ogrinfo = _ogrinfo()
    store = make_city(tmp_path)
    _fill(store)
    store.close()
    listing = subprocess.run(
        [ogrinfo, "-ro", str(tmp_path / "city" / STORE_FILE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for layer in ("city_objects", "object_meshes", "sources", "city_meta"):
        assert layer in listing
    assert "city_objects (Multi Polygon)" in listing
    summary = subprocess.run(
        [ogrinfo, "-ro", "-so", str(tmp_path / "city" / STORE_FILE), "city_objects"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Feature Count: 7" in summary
    assert 'ID["EPSG",4547]' in summary
    meshes = subprocess.run(
        [ogrinfo, "-ro", "-so", str(tmp_path / "city" / STORE_FILE), "object_meshes"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Feature Count: 6" in meshes


def test_pyogrio_reads_objects_with_crs_and_geometry(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    footprints = {
        "a": MultiPolygon([_square(X0, Y0, 10.0)]),
        "b": MultiPolygon([_square(X0 + 50, Y0, 5.0), _square(X0 + 70, Y0 + 5, 2.0)]),
    }
    with store.transaction() as writer:
        for object_id, footprint in footprints.items():
            writer.add_object(
                CityObject(
                    object_id, "IfcWall", f"wall {object_id}", source="s", footprint=footprint
                )
            )
        writer.add_object(CityObject("c", "IfcBuilding", "no footprint", source="s"))
    store.close()
    frame = pyogrio.read_dataframe(tmp_path / "city" / STORE_FILE, layer="city_objects")
    assert frame.crs is not None
    assert frame.crs.to_epsg() == 4547
    assert sorted(frame["object_id"]) == ["a", "b", "c"]
    by_id = frame.set_index("object_id")
    for object_id, footprint in footprints.items():
        assert shapely.equals_exact(by_id.geometry[object_id], footprint, tolerance=0.0)
        assert by_id.loc[object_id, "name"] == f"wall {object_id}"
    assert by_id.geometry["c"] is None
    layers = dict(pyogrio.list_layers(tmp_path / "city" / STORE_FILE).tolist())
    assert layers["city_objects"] == "MultiPolygon"


def test_layer_extent_grows_with_additions_and_shrinks_after_removals(tmp_path: Path) -> None:
    store = make_city(tmp_path)

    def contents() -> tuple[float, ...]:
        conn = sqlite3.connect(store.path)
        try:
            row = conn.execute(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents"
                " WHERE table_name = 'city_objects'"
            ).fetchone()
        finally:
            conn.close()
        return tuple(row)

    with store.transaction() as writer:
        writer.add_object(CityObject("a", "IfcSlab", source="s1", footprint=_square(X0, Y0, 10.0)))
    assert contents() == (X0, Y0, X0 + 10.0, Y0 + 10.0)
    with store.transaction() as writer:  # a second transaction merges its envelope
        writer.add_object(CityObject("b", "IfcSlab", source="s2",
                                     footprint=_square(X0 + 50, Y0 - 5, 5.0)))  # fmt: skip
        writer.add_object(CityObject("c", "IfcSlab", source="s2"))  # no footprint
    assert contents() == (X0, Y0 - 5, X0 + 55.0, Y0 + 10.0)
    with store.transaction() as writer:
        writer.remove_source("s2")
    assert contents() == (X0, Y0, X0 + 10.0, Y0 + 10.0)
    store.close()


def test_typed_rows_for_search_values_and_the_tiler(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    _fill(store)
    with store.transaction() as writer:
        writer.add_object(CityObject("b-1", "IfcBuilding", "Hall_1%", source="third.ifc",
                                     attributes={"addr:street": "Tianhe Road"}))  # fmt: skip
        writer.add_lod("b-1", "LOD1", "third.ifc", 3.0, box_mesh((X0, Y0, 0), (X0 + 1, Y0 + 1, 3)))
    records = {r.id: r for r in store.records(scope=Scope.everything())}
    storey = records["storey-1"]
    assert (storey.cls, storey.name, storey.base_height, storey.top_height) == (
        "IfcBuildingStorey", "Ground floor", 10.0, 14.0)  # fmt: skip
    assert storey.attributes()["psets"]["Pset_BuildingStoreyCommon"]["AboveGround"] is True
    assert [
        r.id for r in store.records(["wall-1", "b-1", "missing"], scope=Scope.everything())
    ] == ["wall-1", "b-1"]
    assert {r.id for r in store.records(cls="IfcWall", scope=Scope.everything())} == {"wall-1"} | {
        f"first.ifc-{i}" for i in range(5)}  # fmt: skip
    assert [r.id for r in store.text_matches("tianhe road", scope=Scope.everything())] == [
        "b-1"
    ]  # attributes, any case
    assert [r.id for r in store.text_matches("_1%", scope=Scope.everything())] == [
        "b-1"
    ]  # LIKE wildcards are literal
    assert [r.id for r in store.text_matches("%", scope=Scope.everything())] == ["b-1"]
    rows = list(
        store.tile_rows(
            [records["wall-1"].fid, records["first.ifc-0"].fid], scope=Scope.everything()
        )
    )
    assert [row.record.id for row in rows] == ["first.ifc-0", "wall-1"]  # row id order
    wall = rows[1]
    assert wall.mesh.triangle_count == 12 and len(wall.mesh.vertices) == 8 * 24
    assert json.loads(wall.mesh.material)["name"] == "grey"
    assert wall.footprint() is None and wall.record.content()[0] == "wall-1"
    assert (
        store.building_records(["b-1", "nope"], scope=Scope.everything())["b-1"].name == "Hall_1%"
    )
    lod = store.lod_blobs(["b-1", "nope"], "LOD1", scope=Scope.everything())
    assert list(lod) == ["b-1"] and lod["b-1"].triangle_count == 12
    store.close()


def test_encoding_many_footprints_matches_encoding_one_at_a_time() -> None:
    footprints = [
        None,
        _square(X0, Y0, 10.0),
        MultiPolygon([_square(X0, Y0, 1.0), _square(X0 + 5, Y0, 2.0)]),
        GeometryCollection([_square(X0, Y0, 3.0), LineString([(0, 0), (1, 1)])]),
        LineString([(X0, Y0), (X0 + 1, Y0 + 1)]),
        Polygon(),
        Point(X0, Y0),
        _square(X0 - 7.5, Y0 + 0.25, 0.125),
    ]
    many = gpkg.encode_geometries(footprints, 4547)
    assert many == [gpkg.encode_geometry(f, 4547) for f in footprints]
    assert [blob is None for blob in many] == [True, False, False, False, True, True, True, False]
    assert gpkg.encode_geometries([], 4547) == []


def test_pages_past_what_sqlite_counts_are_refused_clearly(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    add_boxes(store, 3)
    assert [o.id for o in store.objects(limit=2, offset=1, scope=Scope.everything())] == [
        "synthetic-1",
        "synthetic-2",
    ]
    for limit, offset in ((2, 2**63), (2**63, 0), (2, -1)):
        with pytest.raises(QueryError, match="2\\^63"):
            store.objects(limit=limit, offset=offset, scope=Scope.everything())
    store.close()
