"""New versions of a building: detection, atomic swap, diff by GlobalId, history kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from bim.authoring import BuildingSpec, write_demo_building
from bim.errors import BimError
from bim.importer import ImportOptions, import_ifc
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city, store_state, table_rows


def test_same_building_becomes_next_version_with_diff(tmp_path: Path, versions: dict) -> None:
    store = make_city(tmp_path)
    first = import_ifc(store, versions["v1"])
    assert first.version == 1 and first.diff is None
    second = import_ifc(store, versions["v2"])
    assert (second.version, second.replaces) == (2, "hall-v1.ifc")
    assert second.diff is not None
    assert second.diff["removed"] == [versions["removed"]] and second.diff["added"] == []
    assert versions["wall"] in second.diff["changed_properties"]
    assert second.diff["changed_geometry"] == [versions["slab"]]
    assert second.diff["unchanged"] > 20
    assert [s["source"] for s in store.sources(scope=Scope.everything())] == ["hall-v2.ifc"]
    lineage = store.source_versions("hall-v2.ifc", scope=Scope.everything())
    assert [(v["source"], v["version"]) for v in lineage] == [
        ("hall-v1.ifc", 1),
        ("hall-v2.ifc", 2),
    ]
    history = store.object_history(versions["removed"], scope=Scope.everything())
    assert [h["version"] for h in history] == [1]
    assert history[0]["object"].cls == "IfcWindow"
    moved = store.object_history(versions["slab"], scope=Scope.everything())[0]["object"]
    assert moved.digest != store.get_object(versions["slab"], scope=Scope.everything()).digest
    store.close()


def test_check_only_stores_nothing(tmp_path: Path, versions: dict) -> None:
    store = make_city(tmp_path)
    import_ifc(store, versions["v1"])
    before = table_rows(store)
    report = import_ifc(store, versions["v2"], ImportOptions(check_only=True))
    assert report.check_only and report.version == 2 and report.diff is not None
    assert report.validation["errors"] == 0
    assert table_rows(store) == before  # every table, history and LODs included
    store.close()


def test_explicit_replaces_for_a_new_export(tmp_path: Path) -> None:
    store = make_city(tmp_path)
    spec = BuildingSpec("Depot", 430700.0, 2557800.0, storeys=1)
    import_ifc(store, write_demo_building(spec, tmp_path / "depot.ifc"))
    fresh = write_demo_building(spec, tmp_path / "depot-2024.ifc")  # new GlobalIds
    report = import_ifc(store, fresh, ImportOptions(replaces="depot.ifc"))
    assert report.version == 2 and report.diff is not None
    assert report.diff["counts"]["added"] == report.diff["counts"]["removed"] > 0
    with pytest.raises(BimError, match="no such source"):
        import_ifc(store, fresh, ImportOptions(replaces="nothing.ifc"))
    store.close()


def test_failed_new_version_keeps_the_old_one(
    tmp_path: Path, versions: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_city(tmp_path)
    import_ifc(store, versions["v1"])
    before = store_state(store)

    def broken(*_: object, **__: object) -> object:
        raise RuntimeError("kernel crashed")

    monkeypatch.setattr("bim.importer.iterate_shapes", broken)
    with pytest.raises(RuntimeError):
        import_ifc(store, versions["v2"])
    assert store_state(store) == before
    reopened = CityStore.open(store.city_dir)
    assert [s["version"] for s in reopened.sources(scope=Scope.everything())] == [1]
    reopened.close()
    store.close()
