"""IFC files into the city, then the 3D Tiles rewritten: the import use case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from api.errors import TilingAfterImportError
from api.usecases import Progress, no_progress
from bim.importer import (
    ImportOptions,
    ImportReport,
    finish_validation,
    import_ifc,
    validate_again,
)
from cim.store import CityStore
from tiles.errors import TilesError
from tiles.tileset import TILES_DIR, TilingOptions, TilingSummary, write_tileset

# Share of the progress bar the import takes when the tiles are rewritten after it.
IMPORT_SPAN = 90


@dataclass
class ImportOutcome:
    """The reports of one import of several files, and the tiling after it (or None)."""

    reports: list[dict[str, Any]]
    tiling: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"reports": [report dict, ...], "tiling": summary dict with its URL | None}``."""
        return {"reports": self.reports, "tiling": self.tiling}

    @property
    def objects(self) -> int:
        """How many objects the import stored."""
        return sum(sum(r.get("objects_by_class", {}).values()) for r in self.reports)


def import_ifc_files(
    store: CityStore,
    paths: Sequence[Path],
    options: ImportOptions | None = None,
    progress: Progress = no_progress,
    span: int = 100,
) -> list[ImportReport]:
    """Import ``paths`` in one transaction, telling progress from 0 to ``span`` percent."""
    index = {path: i for i, path in enumerate(paths)}

    def on_import(path: Path, percent: int) -> None:
        done = (index[path] + percent / 100) / len(paths)
        progress(int(done * span), path.name, f"importing {path.name}")

    progress(0, paths[0].name if len(paths) == 1 else None, f"reading {len(paths)} file(s)")
    return import_ifc(store, list(paths), options or ImportOptions(), on_import)


def retile(
    store: CityStore,
    options: TilingOptions | None = None,
    progress: Progress = no_progress,
    start: int = 0,
) -> TilingSummary:
    """Rewrite the city's 3D Tiles (unchanged tiles are kept), telling progress from
    ``start`` to 100 percent."""

    def on_tile(done: int, total: int) -> None:
        progress(start + (100 - start) * done // max(total, 1), None, None)

    progress(start, None, "writing tiles")
    return write_tileset(store, options, on_progress=on_tile)


def tiling_dict(summary: TilingSummary) -> dict[str, Any]:
    """A tiling summary as JSON-ready data with the tileset's URL."""
    return {**summary.to_dict(), "tileset": f"/{TILES_DIR}/tileset.json"}


def import_and_retile(
    store: CityStore,
    paths: Sequence[Path],
    options: ImportOptions | None = None,
    *,
    tile: bool = True,
    progress: Progress = no_progress,
    imported: ImportOutcome | None = None,
    on_imported: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
    """Import IFC files into the city, then rewrite its tiles when ``tile``.

    ``imported`` is the outcome of an earlier run that stored the files but stopped
    before tiling: the import is then skipped. ``on_imported`` is told the outcome once
    the import is committed (a job records it, so that a restart resumes at the tiles).

    Raises
    ------
    BimError, CimError
        When the import fails; the store is then unchanged.
    TilingAfterImportError
        When the import succeeded but tiling failed; it carries the outcome as a dict.
    """
    outcome = imported
    reports: list[ImportReport] = []
    if outcome is None:
        # with tiles to write, the schema validation runs beside the tiling, not before it
        options = replace(options or ImportOptions(), defer_validation=tile)
        reports = import_ifc_files(store, paths, options, progress, IMPORT_SPAN if tile else 100)
        outcome = ImportOutcome([r.to_dict() for r in reports])
        if on_imported is not None:
            on_imported(outcome)
    message = f"imported {outcome.objects} objects from {len(outcome.reports)} file(s)"
    if tile:
        failure: TilesError | None = None
        try:
            outcome.tiling = tiling_dict(retile(store, progress=progress, start=IMPORT_SPAN))
        except TilesError as exc:
            failure = exc
        except BaseException:
            for report in reports:
                if report.validation_run is not None:
                    report.validation_run.cancel()
            raise
        _finish_validations(store, outcome, reports, paths)
        if failure is not None:
            raise TilingAfterImportError(
                f"{message}, but tiling failed: {failure}", outcome.to_dict()
            ) from failure
        message += "; tiles rewritten"
    progress(100, None, message)
    return outcome


def _finish_validations(
    store: CityStore, outcome: ImportOutcome, reports: list[ImportReport], paths: Sequence[Path]
) -> None:
    """Wait for the validations deferred by this run, or validate again the files whose
    validation an earlier run lost; update the outcome's reports."""
    if reports:
        for report in reports:
            finish_validation(store, report)
        outcome.reports = [r.to_dict() for r in reports]
        return
    by_name = {path.name: path for path in paths}
    outcome.reports = [
        validate_again(store, report, by_name[report["source"]])
        if report["source"] in by_name
        else report
        for report in outcome.reports
    ]
