"""Background jobs: a small in-process runner with one worker thread, and the import job.

Imports write to one SQLite store, so jobs run one at a time in the order they came. A job
is a record the API serves as JSON while the worker updates it; the runner keeps the last
:data:`KEEP_JOBS` of them in memory (they are lost when the server restarts).
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bim.errors import BimError
from bim.importer import ImportOptions, import_ifc
from cim.errors import CimError
from cim.store import CityStore
from tiles.errors import TilesError
from tiles.tileset import TILES_DIR, write_tileset

log = logging.getLogger(__name__)

KEEP_JOBS = 200
DOMAIN_ERRORS = (CimError, BimError, TilesError)
Status = Literal["queued", "running", "succeeded", "failed"]
# progress(percent, file name or None, message or None); raises JobCancelledError on shutdown.
Progress = Callable[[int, str | None, str | None], None]
Work = Callable[[Progress], Any]


class JobCancelledError(Exception):
    """Raised inside a job's progress callback when the runner shuts down."""


class JobFailedError(Exception):
    """A job failed after producing part of its result, which the job keeps."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    """A fresh job id (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass
class Job:
    """One unit of background work and what the API tells about it."""

    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    status: Status = "queued"
    created: str = field(default_factory=_now)
    started: str | None = None
    finished: str | None = None
    progress: int = 0
    file: str | None = None
    message: str = "queued"
    result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data, with its URL."""
        return {**self.__dict__, "url": f"/api/jobs/{self.id}"}


@dataclass
class _Entry:
    job: Job
    work: Work
    cleanup: Path | None


class JobRunner:
    """Runs submitted jobs one at a time on a worker thread started on first use."""

    def __init__(self, keep: int = KEEP_JOBS) -> None:
        self._keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[_Entry | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        kind: str,
        work: Work,
        *,
        job_id: str | None = None,
        params: dict[str, Any] | None = None,
        cleanup: Path | None = None,
    ) -> dict[str, Any]:
        """Queue ``work``; ``cleanup`` is a folder removed when the job ends. Returns the job."""
        job = Job(id=job_id or new_job_id(), kind=kind, params=dict(params or {}))
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError("the job runner is shut down")
            self._jobs[job.id] = job
            self._forget_old()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cimtwin-jobs", daemon=True)
                self._thread.start()
            self._queue.put(_Entry(job, work, cleanup))
            return job.to_dict()

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job with ``job_id`` as JSON-ready data, or None when unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.to_dict()

    def recent(self) -> list[dict[str, Any]]:
        """Every kept job, newest first."""
        with self._lock:
            return [job.to_dict() for job in reversed(self._jobs.values())]

    def shutdown(self, timeout: float = 10.0) -> None:
        """Fail the queued jobs, ask the running one to stop, and wait up to ``timeout`` s."""
        self._stopping.set()
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                break
            if entry is not None:
                self._end(entry, "failed", error="cancelled: the server shut down")
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond the kept number (call with the lock held)."""
        excess = len(self._jobs) - self._keep
        if excess > 0:
            done = [j.id for j in self._jobs.values() if j.finished is not None]
            for job_id in done[:excess]:
                del self._jobs[job_id]

    def _run(self) -> None:
        while (entry := self._queue.get()) is not None:
            if self._stopping.is_set():
                self._end(entry, "failed", error="cancelled: the server shut down")
                continue
            self._execute(entry)

    def _execute(self, entry: _Entry) -> None:
        job = entry.job
        with self._lock:
            job.status, job.started, job.message = "running", _now(), "started"

        def progress(percent: int, file: str | None, message: str | None) -> None:
            if self._stopping.is_set():
                raise JobCancelledError("cancelled: the server shut down")
            with self._lock:
                job.progress = max(0, min(100, int(percent)))
                job.file = file
                if message is not None:
                    job.message = message

        try:
            result = entry.work(progress)
        except JobCancelledError as exc:
            self._end(entry, "failed", error=str(exc))
        except JobFailedError as exc:
            self._end(entry, "failed", exc.result, _one_line(exc, entry.cleanup))
        except DOMAIN_ERRORS as exc:
            self._end(entry, "failed", error=_one_line(exc, entry.cleanup))
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._end(entry, "failed", error=f"internal error: {_one_line(exc, entry.cleanup)}")
        else:
            self._end(entry, "succeeded", result=result)

    def _end(
        self, entry: _Entry, status: Status, result: Any = None, error: str | None = None
    ) -> None:
        if entry.cleanup is not None:
            shutil.rmtree(entry.cleanup, ignore_errors=True)
        with self._lock:
            job = entry.job
            job.status, job.finished, job.error, job.result = status, _now(), error, result
            job.file = None
            if status == "succeeded":
                job.progress = 100
            else:
                job.message = "failed"


def _one_line(exc: BaseException, folder: Path | None) -> str:
    """The error as one line, with the server's upload folder left out of file paths."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if folder is not None:
        text = text.replace(f"{folder}/", "").replace(str(folder), "")
    return text


@dataclass(frozen=True)
class ImportRequest:
    """What an import job does: IFC files into the city in ``city_dir``, then maybe tiles."""

    city_dir: Path
    paths: list[Path]
    options: ImportOptions
    retile: bool = True


def run_import(request: ImportRequest, progress: Progress) -> dict[str, Any]:
    """Import the files in one transaction, then rewrite the tiles when asked.

    Returns
    -------
    dict
        ``{"reports": [ImportReport.to_dict(), ...], "tiling": TilingSummary dict | None}``.

    Raises
    ------
    BimError, CimError
        When the import fails; the store is then unchanged.
    JobFailedError
        When the import succeeded but tiling failed; it carries the reports.
    """
    paths = request.paths
    span = 90 if request.retile else 100
    index = {path: i for i, path in enumerate(paths)}

    def on_import(path: Path, percent: int) -> None:
        done = (index[path] + percent / 100) / len(paths)
        progress(int(done * span), path.name, f"importing {path.name}")

    def on_tile(done: int, total: int) -> None:
        progress(span + (100 - span) * done // max(total, 1), None, None)

    progress(0, paths[0].name if len(paths) == 1 else None, f"reading {len(paths)} file(s)")
    with CityStore.open(request.city_dir) as store:
        reports = [r.to_dict() for r in import_ifc(store, paths, request.options, on_import)]
        result: dict[str, Any] = {"reports": reports, "tiling": None}
        objects = sum(sum(r.get("objects_by_class", {}).values()) for r in reports)
        message = f"imported {objects} objects from {len(paths)} file(s)"
        if request.retile:
            progress(span, None, "writing tiles")
            try:
                summary = write_tileset(store, on_progress=on_tile)
            except TilesError as exc:
                raise JobFailedError(f"{message}, but tiling failed: {exc}", result) from exc
            result["tiling"] = {**summary.to_dict(), "tileset": f"/{TILES_DIR}/tileset.json"}
            message += "; tiles rewritten"
    progress(100, None, message)
    return result
