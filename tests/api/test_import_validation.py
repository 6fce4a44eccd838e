"""Schema validation beside the tiling: the import commits, the tiles are written, and the
report (returned and stored) gets the validation once it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.usecases.ifc import ImportOutcome, import_and_retile
from bim.authoring import BuildingSpec, write_demo_building
from bim.check import to_text
from bim.importer import PENDING_VALIDATION, ImportOptions, import_ifc
from cim.scope import Scope
from cim.store import CityStore
from tests.conftest import make_city

FINISHED = {"errors": 0, "warnings": 0, "issues": []}


def _hall(tmp_path: Path) -> Path:
    return write_demo_building(BuildingSpec("Hall", 430760.0, 2557880.0), tmp_path / "hall.ifc")


def _stored_validation(city: Path) -> dict[str, Any]:
    with CityStore.open(city) as reader:  # another connection: what is committed
        report: dict[str, Any] = reader.sources(scope=Scope.everything())[0]["report"]
    return dict(report["validation"])


def test_validation_runs_beside_the_tiling_and_reaches_both_reports(tmp_path: Path) -> None:
    path, seen = _hall(tmp_path), []
    with make_city(tmp_path) as store:

        def on_progress(_percent: int, _file: str | None, message: str | None) -> None:
            if message == "writing tiles":
                seen.append(_stored_validation(store.city_dir))

        outcome = import_and_retile(store, [path], progress=on_progress)
        assert seen == [PENDING_VALIDATION]  # committed, tiling starts, validation runs
        assert outcome.tiling is not None
        assert outcome.reports[0]["validation"] == FINISHED
        assert _stored_validation(store.city_dir) == FINISHED


def test_without_tiles_the_import_waits_for_its_validation(tmp_path: Path) -> None:
    with make_city(tmp_path) as store:
        outcome = import_and_retile(store, [_hall(tmp_path)], tile=False)
        assert outcome.reports[0]["validation"] == FINISHED
        assert _stored_validation(store.city_dir) == FINISHED


def test_a_validation_lost_with_its_process_is_run_again_when_the_tiling_resumes(
    tmp_path: Path,
) -> None:
    path = _hall(tmp_path)
    with make_city(tmp_path) as store:
        report = import_ifc(store, path, ImportOptions(defer_validation=True))
        assert report.validation_run is not None
        report.validation_run.cancel()  # as if the process had died after the commit
        pending = report.to_dict()
        assert pending["validation"] == PENDING_VALIDATION and "validation_run" not in pending
        assert "schema validation: pending" in to_text(pending)
        assert _stored_validation(store.city_dir) == PENDING_VALIDATION
        outcome = import_and_retile(store, [path], imported=ImportOutcome([pending]))
        assert outcome.reports[0]["validation"] == FINISHED
        assert _stored_validation(store.city_dir) == FINISHED
