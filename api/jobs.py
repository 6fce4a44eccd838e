"""Background jobs: a persistent queue in the city folder and a jobs table every server reads.

A server records a job in the jobs table and puts its id on a huey queue; both live in
``<city>/jobs.sqlite`` (SQLite, WAL). The worker process (:mod:`api.worker`, one per city)
takes ids off the queue, claims the job in the table, runs it, and writes its progress
and outcome there, so any server process answers ``GET /api/jobs/{id}``, before and after
a restart.

Nothing is lost when a process dies. A queued job stays in the file. A job the worker was
running when it was killed is found ``running`` by the next worker, which runs it again
(an import whose files were already committed resumes at the tiles), at most
:data:`MAX_RUNS` times in all, then marks it failed with the reason. A worker that is
asked to stop puts its job back in the queue.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from huey import SqliteHuey

from api.errors import DOMAIN_ERRORS, ApiError, TilingAfterImportError
from api.isolation import ChildInterruptedError, Limits, run_limited
from api.jobtable import Job, JobTable, Status
from api.simulations import job_result, run_model, scope_of
from api.usecases.ifc import (
    IMPORT_SPAN,
    ImportOutcome,
    import_and_retile,
    import_ifc_files,
    retile,
    tiling_dict,
)
from bim.geometry import DEFAULT_KERNEL
from bim.georef import UserOrigin
from bim.importer import ImportOptions
from cim.layout import CityLayout
from cim.scope import Scope
from cim.store import CityStore

log = logging.getLogger(__name__)

UPLOADS_DIR = CityLayout.UPLOADS
QUEUE_NAME = "cimtwin"
# A job whose worker died this many times while running it is failed, not run again.
MAX_RUNS = 2
# Least seconds between two progress writes that change only the percentage.
PROGRESS_INTERVAL = 0.25


class JobInterruptedError(Exception):
    """Raised in a job's progress callback when its worker is asked to stop."""


def new_job_id() -> str:
    """A fresh job id (32 hex digits)."""
    return uuid.uuid4().hex


def upload_folder(city_dir: Path, job_id: str) -> Path:
    """Where the files uploaded for job ``job_id`` wait until the job ends."""
    return CityLayout(city_dir).upload(job_id)


@dataclass
class JobContext:
    """What a running job sees: its record, its city, progress and checkpoints."""

    table: JobTable
    city_dir: Path
    job: Job
    stopping: threading.Event
    _last: tuple[float, int, str | None, str | None] = (0.0, -1, None, None)

    @property
    def folder(self) -> Path:
        """The job's upload folder."""
        return upload_folder(self.city_dir, self.job.id)

    def progress(self, percent: int, file: str | None, message: str | None) -> None:
        """Record progress (a change of percentage alone at most every 0.25 s).

        Raises
        ------
        JobInterruptedError
            When the worker is asked to stop.
        """
        if self.stopping.is_set():
            raise JobInterruptedError("the worker is stopping")
        when, last_percent, last_file, last_message = self._last
        now = time.monotonic()
        changed = file != last_file or (message is not None and message != last_message)
        if changed or (percent != last_percent and now - when >= PROGRESS_INTERVAL):
            self.table.progress(self.job.id, self.job.runs, percent, file, message)
            self._last = (now, percent, file, message if message is not None else last_message)

    def checkpoint(self, result: Any) -> None:
        """Keep a partial result: a later run of this job resumes from it."""
        self.table.checkpoint(self.job.id, self.job.runs, result)


Work = Callable[[JobContext], Any]


def run_import(context: JobContext) -> dict[str, Any]:
    """The ``import`` job: the uploaded IFC files into the city, then the tiles rewritten.

    The files are parsed and stored in a child process under the import limits
    (:mod:`api.isolation`); the tiles are rewritten here once it committed. A run that finds
    the reports of an earlier run (its files were committed before the worker died) only
    rewrites the tiles.
    """
    params = context.job.params
    paths = [context.folder / item["name"] for item in params["files"]]
    tile = params.get("retile", True)
    done = context.job.result
    if done:
        context.progress(IMPORT_SPAN, None, "resuming at the tiles: the files were imported")
    else:
        try:
            done = run_limited(
                partial(_import_files, context, paths, tile),
                Limits.for_imports(),
                should_stop=context.stopping.is_set,
            )
        except ChildInterruptedError as exc:
            raise JobInterruptedError(str(exc)) from exc
    with CityStore.open(context.city_dir) as store:
        outcome = import_and_retile(
            store,
            paths,
            tile=tile,
            progress=context.progress,
            imported=ImportOutcome(done["reports"]),
        )
    return outcome.to_dict()


def _import_files(context: JobContext, paths: list[Path], tile: bool) -> dict[str, Any]:
    """In the import's child: the files into the store in one transaction, the outcome
    kept as the job's checkpoint once committed."""
    params = context.job.params
    origin = params.get("origin")
    rotation = float(params.get("rotation") or 0.0)
    user_origin = UserOrigin(params["crs"], tuple(origin), rotation) if origin else None
    options = ImportOptions(
        user_origin=user_origin,
        kernel=params.get("kernel", DEFAULT_KERNEL),
        proposed=bool(params.get("proposed", False)),
    )
    with CityStore.open(context.city_dir) as store:
        store.limit_writes(Scope(params.get("scope", "")))  # the importer's jurisdiction
        reports = import_ifc_files(
            store, paths, options, context.progress, IMPORT_SPAN if tile else 100
        )
    outcome = ImportOutcome([report.to_dict() for report in reports]).to_dict()
    context.checkpoint(outcome)
    return outcome


def run_tiling(context: JobContext) -> dict[str, Any]:
    """The ``tile`` job: rewrite the city's 3D Tiles (unchanged tiles are kept)."""
    with CityStore.open(context.city_dir) as store:
        summary = retile(store, progress=context.progress)
    context.progress(100, None, f"{summary.tiles} tiles, {summary.written} drawn")
    return {"tiling": tiling_dict(summary)}


def run_simulation(context: JobContext) -> dict[str, Any]:
    """The ``simulate`` job: a model run over the city in the submitter's scope, its result
    stored (:mod:`api.simulations`); answers the run id, the model and its summary."""
    params = context.job.params
    record = run_model(
        context.city_dir,
        params["model"],
        params.get("parameters") or {},
        scope_of(params.get("scope")),
        lambda percent, message: context.progress(percent, None, message),
        params.get("trigger"),
        jurisdiction=context.job.jurisdiction,
    )
    return job_result(record)


WORKS: dict[str, Work] = {"import": run_import, "tile": run_tiling, "simulate": run_simulation}


class JobQueue:
    """The jobs of one city: the table, and the huey queue that hands them to the worker."""

    def __init__(self, city_dir: Path, stopping: threading.Event | None = None) -> None:
        self.city_dir = city_dir
        self.table = JobTable(city_dir)
        self.stopping = stopping or threading.Event()
        self.huey = SqliteHuey(
            QUEUE_NAME, filename=str(self.table.path), results=False, utc=True, timeout=30
        )
        self._task = self.huey.task(name="run_job")(self.run)

    def submit(
        self,
        kind: str,
        params: dict[str, Any],
        job_id: str | None = None,
        jurisdiction: str | None = None,
    ) -> Job:
        """Record a job of ``kind`` (a key of :data:`WORKS`) and queue it; ``jurisdiction`` is
        the submitter's code (callers whose scope holds it see the job)."""
        if kind not in WORKS:
            raise ApiError(f"unknown job kind {kind!r}")
        job = Job(id=job_id or new_job_id(), kind=kind, params=params, jurisdiction=jurisdiction)
        self.table.add(job)
        self.enqueue(job.id)
        return job

    def enqueue(self, job_id: str) -> None:
        """Put ``job_id`` on the queue (the task's id is the job's)."""
        self.huey.enqueue(self._task.s(job_id, id=job_id))

    def waiting(self) -> set[str]:
        """The ids of the jobs on the queue."""
        return {str(task.id) for task in self.huey.pending()}

    def recover(self) -> list[str]:
        """Queue again what a dead worker left; call it with the worker lock held.

        A job found running lost its run: it is queued again, or failed after
        :data:`MAX_RUNS` runs. A queued job missing from the queue (its server died
        between the two writes) is queued. Returns what was done, one line per job.
        """
        waiting = self.waiting()
        done = []
        for job in self.table.unfinished():
            if job.status == "running" and job.runs >= MAX_RUNS:
                reason = (
                    f"the worker stopped {job.runs} times while running this job (killed,"
                    " or out of memory?); it is not run again"
                )
                self.table.fail(job.id, reason)
                shutil.rmtree(upload_folder(self.city_dir, job.id), ignore_errors=True)
                done.append(f"job {job.id} failed: {reason}")
                continue
            if job.status == "running":
                self.table.requeue(
                    job.id,
                    f"resumed: the worker stopped while running it (run {job.runs} of"
                    f" at most {MAX_RUNS})",
                )
                done.append(f"job {job.id} resumed after its worker stopped")
            if job.id not in waiting:
                self.enqueue(job.id)
                if job.status == "queued":
                    done.append(f"job {job.id} queued again")
        return done

    def release_running(self, message: str) -> None:
        """Put the jobs this process is running back in the queue (the worker stops)."""
        for job in self.table.running_in(os.getpid()):
            self.table.release(job.id, job.runs, message)

    def drain(self) -> int:
        """Run the queued jobs in this thread until the queue is empty; return how many."""
        count = 0
        while not self.stopping.is_set() and (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)
            count += 1
        return count

    def run(self, job_id: str) -> None:
        """Run job ``job_id`` here, recording its outcome (the queue's one task)."""
        job = self.table.claim(job_id, os.getpid())
        if job is None:
            log.info("job %s is not queued (finished, or run by another worker)", job_id)
            return
        context = JobContext(self.table, self.city_dir, job, self.stopping)
        log.info("job %s (%s), run %d", job.id, job.kind, job.runs)
        try:
            result = WORKS[job.kind](context)
        except JobInterruptedError:
            self.table.release(job.id, job.runs, "interrupted: the worker stopped; it runs again"
                               " when a worker starts")  # fmt: skip
            return
        except TilingAfterImportError as exc:
            self._end(context, "failed", exc.result, _one_line(exc, context.folder))
        except DOMAIN_ERRORS as exc:
            self._end(context, "failed", error=_one_line(exc, context.folder))
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._end(context, "failed", error=f"internal error: {_one_line(exc, context.folder)}")
        else:
            self._end(context, "succeeded", result)

    def _end(
        self, context: JobContext, status: Status, result: Any = None, error: str | None = None
    ) -> None:
        if self.table.finish(context.job.id, context.job.runs, status, result, error):
            shutil.rmtree(context.folder, ignore_errors=True)


def _one_line(exc: BaseException, folder: Path) -> str:
    """The error as one line, with the server's upload folder left out of file paths."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.replace(f"{folder}/", "").replace(str(folder), "")
