"""Every read of the city store answers within the caller's scope: a town sees its own
objects and none of another town's, the province sees both, and objects outside every
jurisdiction only the unlimited scope."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely

from cim import search
from cim.area import city_extent
from cim.errors import JurisdictionCodeError, ObjectNotFoundError
from cim.export import ExportError, export_cityjson, export_geopackage
from cim.model import CityObject
from cim.scope import Scope
from cim.stats import district_stats
from cim.store import CityStore
from tests.scoped_city import (
    PLACES,
    TOWN_A,
    TOWN_B,
    ScopedCity,
    build_scoped_city,
    scopes,
)

EVERYTHING = Scope.everything()
SCOPES = dict(scopes())


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ScopedCity:
    return build_scoped_city(tmp_path_factory.mktemp("scoped") / "city")


@pytest.fixture()
def store(city: ScopedCity) -> Iterator[CityStore]:
    with CityStore.open(city.folder) as opened:
        yield opened


def _found(store: CityStore, ids: set[str], scope: Scope) -> set[str]:
    found = set()
    for object_id in ids:
        with contextlib.suppress(ObjectNotFoundError):
            found.add(store.get_object(object_id, scope=scope).id)
    return found


def _tile_ids(store: CityStore, scope: Scope) -> set[str]:
    fids = [r.fid for r in store.records(scope=EVERYTHING)]
    return {row.record.id for row in store.tile_rows(fids, scope=scope)}


def _summary_ids(store: CityStore, scope: Scope, tmp: Path) -> set[str]:
    index = tmp / f"index-{scope.prefix or 'all'}.sqlite"
    index.unlink(missing_ok=True)
    store.copy_mesh_summaries(index, (), (), scope=scope)
    with sqlite3.connect(index) as conn:
        fids = {fid for (fid,) in conn.execute("SELECT fid FROM objects")}
    return {r.id for r in store.records(scope=EVERYTHING) if r.fid in fids}


def _export_ids(store: CityStore, scope: Scope, tmp: Path) -> set[str]:
    out = tmp / f"export-{scope.prefix or 'all'}.city.json"
    try:
        export_cityjson(store, out, scope=scope)
    except ExportError:  # nothing to export in this scope
        return set()
    return set(json.loads(out.read_text())["CityObjects"])


def _everywhere() -> shapely.Geometry:
    return shapely.box(PLACES["A"][0] - 100, PLACES["A"][1] - 100, PLACES["B"][0] + 200,
                       PLACES["far"][1] + 200)  # fmt: skip


# Each read, as the set of object ids it reveals to a scope.
READS: dict[str, Callable[[CityStore, Scope, ScopedCity, Path], set[str]]] = {
    "get_object": lambda s, sc, c, t: _found(s, c.visible_ids(EVERYTHING), sc),
    "objects": lambda s, sc, c, t: {o.id for o in s.objects(scope=sc)},
    "objects paged": lambda s, sc, c, t: {o.id for o in s.objects(limit=100, scope=sc)},
    "objects of a parent": lambda s, sc, c, t: {
        o.id for p in ("A-storey", "B-storey") for o in s.objects(parent_id=p, scope=sc)
    },
    "objects_in_box": lambda s, sc, c, t: {
        o.id for o in s.objects_in_box(None, _everywhere().bounds, scope=sc)
    },
    "objects_in_box of a class": lambda s, sc, c, t: {
        o.id for o in s.objects_in_box("building", None, scope=sc)
    },
    "feature_page": lambda s, sc, c, t: {
        o.id for o in s.feature_page("building", None, {"use": "residential"}, 50, scope=sc).items
    },
    "records": lambda s, sc, c, t: {r.id for r in s.records(scope=sc)},
    "records by id": lambda s, sc, c, t: {
        r.id for r in s.records(c.visible_ids(EVERYTHING), scope=sc)
    },
    "text_matches": lambda s, sc, c, t: {r.id for r in s.text_matches("hall", scope=sc)},
    "ancestors": lambda s, sc, c, t: {
        a.id
        for w in ("A-wall", "B-wall")
        if w in _found(s, {w}, sc)
        for a in s.ancestors(w, scope=sc)
    },
    "mesh_index": lambda s, sc, c, t: {e.object_id for e in s.mesh_index(scope=sc)},
    "meshes": lambda s, sc, c, t: set(s.meshes(c.visible_ids(EVERYTHING), scope=sc)),
    "lods": lambda s, sc, c, t: set(s.lods("LOD1", scope=sc)),
    "source_state": lambda s, sc, c, t: set(s.source_state("blocks.gpkg", scope=sc)),
    "source_of_building": lambda s, sc, c, t: {
        b for b in ("A-bldg", "B-bldg") if s.source_of_building(b, scope=sc) is not None
    },
    "object_history": lambda s, sc, c, t: {
        e["object"].id for e in s.object_history("B-wall", scope=sc)
    },
    "tile_rows": lambda s, sc, c, t: _tile_ids(s, sc),
    "building_records": lambda s, sc, c, t: set(
        s.building_records(c.visible_ids(EVERYTHING), scope=sc)
    ),
    "lod_blobs": lambda s, sc, c, t: set(s.lod_blobs(c.visible_ids(EVERYTHING), "LOD1", scope=sc)),
    "copy_mesh_summaries": lambda s, sc, c, t: _summary_ids(s, sc, t),
    "search": lambda s, sc, c, t: {h.id for h in search.search(s, "Pearl Road", 100, scope=sc)},
    "values": lambda s, sc, c, t: set(search.values(s, "height", scope=sc)),
    "values per building": lambda s, sc, c, t: set(
        search.values(s, "height", per_building=True, scope=sc)
    ),
    "export_cityjson": lambda s, sc, c, t: _export_ids(s, sc, t),
}


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("scope_name", SCOPES)
def test_a_read_reveals_exactly_what_the_scope_holds(
    read: str, scope_name: str, city: ScopedCity, store: CityStore, tmp_path: Path
) -> None:
    scope = SCOPES[scope_name]
    whole = READS[read](store, EVERYTHING, city, tmp_path)
    # the read reaches town B, so that a town A scope has something to leave out
    assert whole & city.ids["B"], read
    assert READS[read](store, scope, city, tmp_path) == whole & city.visible_ids(scope)


def test_the_scopes_see_what_the_codes_say(city: ScopedCity, store: CityStore) -> None:
    everything = {o.id for o in store.objects(scope=EVERYTHING)}
    assert city.visible_ids(SCOPES["town A"]) == city.ids["A"]
    assert city.visible_ids(SCOPES["province"]) == city.ids["A"] | city.ids["B"]
    assert everything == city.ids["A"] | city.ids["B"] | city.ids["far"]
    assert {o.id for o in store.objects(scope=SCOPES["province"])} == everything - city.ids["far"]
    assert store.objects(scope=SCOPES["other province"]) == []


def test_a_read_by_id_outside_the_scope_is_not_found_like_a_missing_one(
    store: CityStore,
) -> None:
    town_a = Scope.of(TOWN_A)
    with pytest.raises(ObjectNotFoundError) as outside:
        store.get_object("B-wall", scope=town_a)
    with pytest.raises(ObjectNotFoundError) as missing:
        store.get_object("Z-wall", scope=town_a)
    assert str(outside.value).replace("B-wall", "Z-wall") == str(missing.value)
    with pytest.raises(ObjectNotFoundError):
        store.ancestors("B-wall", scope=town_a)
    with pytest.raises(ObjectNotFoundError):
        store.source_versions("b2.ifc", scope=town_a)
    assert [v["source"] for v in store.source_versions("b2.ifc", scope=Scope.of(TOWN_B))] == [
        "b.ifc",
        "b2.ifc",
    ]
    assert store.get_object("far.gpkg:far", scope=EVERYTHING).cls == "building"
    with pytest.raises(ObjectNotFoundError):
        store.get_object("far.gpkg:far", scope=SCOPES["province"])


@pytest.mark.parametrize("scope_name", SCOPES)
def test_counts_and_sources_count_only_what_is_in_scope(
    scope_name: str, city: ScopedCity, store: CityStore
) -> None:
    scope = SCOPES[scope_name]
    visible = city.visible_ids(scope)
    assert sum(store.counts_by_class(scope=scope).values()) == len(visible)
    assert store.count_objects(scope=scope) == len(visible)
    assert store.count_objects(cls="building", scope=scope) == len(
        [i for i in visible if i.startswith(("blocks", "far"))]
    )
    assert {s["source"] for s in store.sources(scope=scope)} == city.visible_sources(scope)
    by_source = store.object_counts_by_source(scope=scope)
    assert sum(by_source.values()) == len(visible)
    assert set(by_source) <= city.visible_sources(scope)
    page = store.feature_page("building", None, {}, 1, scope=scope)
    assert page.matched == len([i for i in visible if i.startswith(("blocks", "far"))])


def test_extents_cover_only_the_scope(store: CityStore) -> None:
    (ax, ay), (bx, _) = PLACES["A"], PLACES["B"]
    town_a, county = Scope.of(TOWN_A), SCOPES["county"]
    footprints = store.footprint_extent(scope=town_a)
    assert footprints is not None
    assert footprints[0] == pytest.approx(ax - 10, abs=0.5)
    assert footprints[2] == pytest.approx(ax + 60, abs=0.5)  # the annex, not town B
    meshes = store.extent(scope=town_a)
    assert meshes is not None and meshes[3] == pytest.approx(ax + 60)
    assert meshes[5] == pytest.approx(12.0)  # town B's wall is 24 m high
    whole = store.extent(scope=county)
    assert whole is not None and whole[3] == pytest.approx(bx + 60) and whole[5] == 24.0
    everything = store.footprint_extent(scope=EVERYTHING)
    assert everything is not None and everything[3] > PLACES["far"][1]
    assert store.footprint_extent(scope=county)[3] < PLACES["far"][1]  # type: ignore[index]
    assert store.extent(scope=SCOPES["other province"]) is None
    assert store.footprint_extent(scope=SCOPES["other province"]) is None
    extents = store.class_extents(scope=town_a)
    assert extents["building"].max_x == pytest.approx(ax + 60, abs=0.5)
    assert "building" not in store.class_extents(scope=SCOPES["other province"])
    assert city_extent(store, scope=town_a).bounds == pytest.approx(
        (ax - 10, ay - 10, ax + 60, ay + 50), abs=0.5
    )


def test_statistics_count_the_buildings_of_the_scope(store: CityStore) -> None:
    area = _everywhere()
    counts = {
        name: district_stats(store, area, scope=scope)["buildings"]
        for name, scope in SCOPES.items()
    }
    assert counts == {"town A": 2, "town B": 2, "county": 4, "province": 4,
                      "other province": 0, "everything": 5}  # fmt: skip
    town_a = district_stats(store, area, scope=Scope.of(TOWN_A))
    assert town_a["height"]["max"] == 12.0  # B's building (24 m) is left out


def test_the_geopackage_export_holds_only_the_scope(store: CityStore, tmp_path: Path) -> None:
    out = tmp_path / "a.gpkg"
    written = export_geopackage(store, out, scope=Scope.of(TOWN_A))
    assert written["building"] == 1
    frame = pyogrio.read_dataframe(out, layer="building")
    assert list(frame["object_id"]) == ["blocks.gpkg:A"]


def test_jurisdictions_are_set_by_id_and_checked(tmp_path: Path) -> None:
    with CityStore.create(tmp_path / "c", "EPSG:4547") as store:
        with store.transaction() as writer:
            writer.add_object(CityObject("x", "building", source="s"))
            writer.add_object(CityObject("y", "building", source="s"))
            assert writer.set_jurisdictions({"x": TOWN_A, "y": TOWN_B}) == 2
        with pytest.raises(JurisdictionCodeError), store.transaction() as writer:
            writer.set_jurisdictions({"x": "4401"})
        with pytest.raises(ObjectNotFoundError, match="'z'"), store.transaction() as writer:
            writer.set_jurisdictions({"x": None, "z": TOWN_A})
        # both refusals rolled back: x kept its code
        assert [o.id for o in store.objects(scope=Scope.of(TOWN_A))] == ["x"]
        with store.transaction() as writer:
            writer.set_jurisdictions({"x": None})
        assert store.objects(scope=Scope.of(TOWN_A)) == []
        assert {o.id for o in store.objects(scope=EVERYTHING)} == {"x", "y"}
