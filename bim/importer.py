"""Importing IFC files into a city store: checked, placed, versioned, in one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, overload

import ifcopenshell

from bim import check, versions
from bim.errors import BimError, IfcReadError
from bim.geometry import DEFAULT_KERNEL, REFERENCE_KERNEL, check_kernels, iterate_shapes
from bim.georef import Georeference, UserOrigin, candidates, resolve
from bim.ingest import ModelIngest, result_dict
from bim.reader import open_ifc, read_schema
from cim.conflate import conflate
from cim.model import file_sha256
from cim.scope import Scope
from cim.store import CityStore
from cim.vocabulary import PLANNING_STATUS, PROPOSED

ProgressCallback = Callable[[Path, int], None]


@dataclass(frozen=True)
class ImportOptions:
    """How to import.

    Attributes
    ----------
    user_origin:
        Place the model here instead of by its own georeference.
    kernel, fallback_kernel:
        IfcOpenShell geometry library tried first, and the one that meshes, element by
        element, what the first fails on or gets wrong (None: no second try); see
        :mod:`bim.geometry`.
    threads, workers:
        Iterator threads per geometry process, and geometry processes (default: one per
        core).
    replaces:
        The source this file is a new version of (default: the source that holds one of
        its IfcBuilding GlobalIds, or the source of the same file name).
    check_only:
        Run everything, report, and store nothing.
    validate:
        Run ``ifcopenshell.validate`` for the report (in a child process at the lowest
        CPU priority, see :class:`bim.check.Validation`).
    defer_validation:
        Commit without waiting for the validation: the report (and the source record)
        say it is pending until :func:`finish_validation` adds it, so that a caller can
        tile while it runs. Ignored with ``check_only``.
    proposed:
        Mark every object of the import as a proposal (``planning_status = "proposed"``):
        what-if models (sunlight) count it only in their "with proposed" case.
    """

    user_origin: UserOrigin | None = None
    kernel: str = DEFAULT_KERNEL
    fallback_kernel: str | None = REFERENCE_KERNEL
    threads: int | None = None
    workers: int | None = None
    replaces: str | None = None
    check_only: bool = False
    validate: bool = True
    defer_validation: bool = False
    proposed: bool = False


@dataclass
class ImportReport:
    """What an import did and found, for the user and for the store's source record."""

    source: str
    schema: str
    application: str
    georeference: dict[str, Any]
    version: int = 1
    replaces: str | None = None
    replaced_objects: int = 0
    objects_by_class: dict[str, int] = field(default_factory=dict)
    elements_with_mesh: int = 0
    triangles: int = 0
    without_mesh: list[dict[str, str]] = field(default_factory=list)
    tessellated_by_cimtwin: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    kernel: str = DEFAULT_KERNEL
    kernel_fallback: list[dict[str, str]] = field(default_factory=list)
    outside_storeys: list[str] = field(default_factory=list)
    lods: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    diff: dict[str, Any] | None = None
    replaces_gis: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    check_only: bool = False
    seconds: float = 0.0
    #: the deferred validation still running (see :func:`finish_validation`)
    validation_run: check.Validation | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = dict(self.__dict__)
        data.pop("validation_run")
        return data

    def to_text(self) -> str:
        """The report as readable lines."""
        return check.to_text(self.to_dict())


class _CheckOnlyRollbackError(Exception):
    """Raised inside the transaction to roll back a check-only run."""


@overload
def import_ifc(
    store: CityStore, paths: Path, options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport: ...  # fmt: skip


@overload
def import_ifc(
    store: CityStore, paths: Sequence[Path], options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[ImportReport]: ...  # fmt: skip


def import_ifc(
    store: CityStore,
    paths: Path | Sequence[Path],
    options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport | list[ImportReport]:
    """Import IFC files into ``store`` in one transaction: all of them or none.

    Given one path, returns its report; given a sequence, a report per file. Every file is
    checked (header, schema, end, georeference) before anything is written. A file that
    holds a building already in the city (same IfcBuilding GlobalId), or has the name of an
    imported source, replaces that source as its next version; the old one moves to history.

    Raises
    ------
    BimError
        When a file cannot be read or placed; the store is then untouched.
    """
    if isinstance(paths, Path):
        return import_ifc(store, [paths], options, on_progress)[0]
    options = options or ImportOptions()
    check_kernels(options.kernel, options.fallback_kernel)
    names = [path.name for path in paths]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise IfcReadError(f"two files share the name {duplicates[0]}: rename one")
    if options.replaces and len(paths) != 1:
        raise BimError("--replaces applies to one file at a time")
    prepared = [_prepare(path, options) for path in paths]
    reports: list[ImportReport] = []
    try:
        with store.transaction() as _:
            for file in prepared:
                progress = None if on_progress is None else partial(on_progress, file.path)
                reports.append(_import_one(store, file, options, progress))
            links = conflate(store).links
            for report in reports:
                report.replaces_gis = {b: links[b] for b in _buildings(report, store) if b in links}
            if options.check_only:
                raise _CheckOnlyRollbackError
    except _CheckOnlyRollbackError:
        pass
    except BaseException:
        for report in reports:
            if report.validation_run is not None:
                report.validation_run.cancel()
        raise
    return reports


#: the report's ``validation`` while a deferred validation runs
PENDING_VALIDATION: dict[str, Any] = {"pending": True}


def finish_validation(store: CityStore, report: ImportReport) -> None:
    """Wait for the deferred validation of ``report``; put it in the report and the store.

    Does nothing when the report has no validation running.
    """
    run = report.validation_run
    if run is None:
        return
    report.validation_run = None
    report.validation = run.result()
    _record_validation(store, report.to_dict())


def validate_again(store: CityStore, report: dict[str, Any], path: Path) -> dict[str, Any]:
    """The report of an import whose deferred validation was lost (its process ended
    before it did), with ``path`` validated here; the source record updated.

    Reports whose validation is not pending are returned unchanged.
    """
    if report.get("validation") != PENDING_VALIDATION:
        return report
    report = {**report, "validation": check.validate_file(str(path))}
    _record_validation(store, report)
    return report


def _record_validation(store: CityStore, report: dict[str, Any]) -> None:
    with store.transaction() as writer:
        writer.update_source_report(report["source"], report["version"], report)


@dataclass(frozen=True)
class _CheckedFile:
    """A file that passed the checks before writing: its schema, model and placement."""

    path: Path
    schema: str
    model: ifcopenshell.file
    georef: Georeference


def _prepare(path: Path, options: ImportOptions) -> _CheckedFile:
    schema = read_schema(path)
    model = open_ifc(path)
    return _CheckedFile(path, schema, model, resolve(model, options.user_origin))


def _import_one(
    store: CityStore,
    file: _CheckedFile,
    options: ImportOptions,
    on_progress: Callable[[int], None] | None,
) -> ImportReport:
    started = time.perf_counter()
    path = file.path
    validation = check.Validation(file.model) if options.validate else None
    try:
        report = _ingest(store, file, options, on_progress)
        if validation is not None and options.defer_validation and not options.check_only:
            report.validation = dict(PENDING_VALIDATION)
        else:
            report.validation = validation.result() if validation is not None else {}
            validation = None
        report.seconds = round(time.perf_counter() - started, 3)
        store.writer().record_source(
            path.name, str(path), file_sha256(path), "ifc", report.to_dict(), report.version,
            report.replaces,
        )  # fmt: skip
    except BaseException:
        if validation is not None:
            validation.cancel()
        raise
    report.validation_run = validation
    return report


def _ingest(
    store: CityStore,
    file: _CheckedFile,
    options: ImportOptions,
    on_progress: Callable[[int], None] | None,
) -> ImportReport:
    path, model, georef = file.path, file.model, file.georef
    report = ImportReport(path.name, file.schema, _application(model), georef.to_dict())
    report.check_only = options.check_only
    report.kernel = options.kernel
    writer = store.writer()
    replaced = _replaced_source(store, model, path.name, options.replaces)
    old_state = store.source_state(replaced, scope=Scope.everything()) if replaced else {}
    if replaced:
        report.replaced_objects = len(old_state)
        report.version = writer.archive_source(replaced, replaced_by=path.name) + 1
        report.replaces = replaced
    marks = {PLANNING_STATUS: PROPOSED} if options.proposed else None
    ingest = ModelIngest(model, georef, store.crs, writer, path.name, marks)
    shapes = iterate_shapes(
        model, options.kernel, options.threads, on_progress, options.fallback_kernel,
        options.workers,
    )  # fmt: skip
    for shape in shapes:
        ingest.add_shape(shape)
    ingest.finish()
    for key, value in result_dict(ingest.result).items():
        setattr(report, key, value)
    if replaced:
        report.diff = versions.diff(
            old_state, store.source_state(path.name, scope=Scope.everything())
        )
    findings = check.unit_findings(model)
    findings += check.georeference_findings(georef, candidates(model), store.crs)
    findings += _ingest_findings(report)
    report.findings = [f.to_dict() for f in findings]
    return report


def _replaced_source(
    store: CityStore, model: ifcopenshell.file, name: str, explicit: str | None
) -> str | None:
    """The source this file is a new version of, if any."""
    current = {s["source"] for s in store.sources(scope=Scope.everything())}
    if explicit is not None:
        if explicit not in current:
            raise BimError(f"--replaces {explicit!r}: the city has no such source")
        return explicit
    holders = {
        store.source_of_building(b.GlobalId, scope=Scope.everything())
        for b in model.by_type("IfcBuilding")
    }
    holders.discard(None)
    if len(holders) > 1:
        raise BimError(
            f"{name} holds buildings from several sources ({', '.join(sorted(map(str, holders)))}):"
            " split the file or import it with --replaces"
        )
    if holders:
        return str(holders.pop())
    return name if name in current else None


def _ingest_findings(report: ImportReport) -> list[check.Finding]:
    findings = []
    if report.outside_storeys:
        findings.append(check.Finding(
            "warning", "outside-storeys",
            f"{len(report.outside_storeys)} elements are not contained in any storey",
            report.outside_storeys,
        ))  # fmt: skip
    meshless = [i["id"] for i in report.without_mesh if i["class"] != "IfcOpeningElement"]
    if meshless:
        findings.append(check.Finding(
            "warning", "without-geometry",
            f"{len(meshless)} products with a representation have no mesh", meshless,
        ))  # fmt: skip
    if report.kernel_fallback:
        kernels = sorted({i["kernel"] for i in report.kernel_fallback})
        findings.append(check.Finding(
            "info", "kernel-fallback",
            f"{len(report.kernel_fallback)} elements meshed by {', '.join(kernels)}"
            f" instead of {report.kernel} (it failed on them or differed)",
            [i["id"] for i in report.kernel_fallback],
        ))  # fmt: skip
    if report.failed:
        findings.append(check.Finding(
            "error", "element-failed", f"{len(report.failed)} elements failed and were skipped",
            [i["id"] for i in report.failed],
        ))  # fmt: skip
    return findings


def _buildings(report: ImportReport, store: CityStore) -> list[str]:
    return [
        o.id
        for o in store.objects(cls="IfcBuilding", scope=Scope.everything())
        if o.source == report.source
    ]


def _application(model: ifcopenshell.file) -> str:
    header = model.header.file_name
    return str(getattr(header, "originating_system", "") or "")
