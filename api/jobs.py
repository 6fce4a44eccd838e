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

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from huey import SqliteHuey

from api.errors import DOMAIN_ERRORS, ApiError, TilingAfterImportError
from api.usecases.ifc import IMPORT_SPAN, ImportOutcome, import_and_retile, retile, tiling_dict
from bim.geometry import DEFAULT_KERNEL
from bim.georef import UserOrigin
from bim.importer import ImportOptions
from cim.errors import CityNotFoundError
from cim.store import CityStore

log = logging.getLogger(__name__)

JOBS_FILE = "jobs.sqlite"
UPLOADS_DIR = ".uploads"
QUEUE_NAME = "cimtwin"
KEEP_JOBS = 200
# A job whose worker died this many times while running it is failed, not run again.
MAX_RUNS = 2
# Least seconds between two progress writes that change only the percentage.
PROGRESS_INTERVAL = 0.25
Status = Literal["queued", "running", "succeeded", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    file TEXT,
    message TEXT NOT NULL,
    result TEXT,
    error TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    worker INTEGER
)
"""
_COLUMNS = "id, kind, params, status, created, started, finished, progress, file, message, " \
    "result, error, runs"  # fmt: skip


class JobInterruptedError(Exception):
    """Raised in a job's progress callback when its worker is asked to stop."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_job_id() -> str:
    """A fresh job id (32 hex digits)."""
    return uuid.uuid4().hex


def upload_folder(city_dir: Path, job_id: str) -> Path:
    """Where the files uploaded for job ``job_id`` wait until the job ends."""
    return city_dir / UPLOADS_DIR / job_id


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
    runs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data, with its URL."""
        return {**self.__dict__, "url": f"/api/jobs/{self.id}"}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Job:
        """A job from a row of :data:`_COLUMNS`."""
        (job_id, kind, params, status, created, started, finished, progress, file, message,
         result, error, runs) = row  # fmt: skip
        return cls(job_id, kind, json.loads(params), status, created, started, finished,
                   progress, file, message, None if result is None else json.loads(result),
                   error, runs)  # fmt: skip


class JobTable:
    """The jobs of one city in ``<city>/jobs.sqlite``: every write is one short transaction.

    Writes of a run are guarded by its run number, so a run that lost its job (the job
    was failed or given to another run meanwhile) changes nothing.
    """

    def __init__(self, city_dir: Path) -> None:
        if not city_dir.is_dir():
            raise CityNotFoundError(f"city folder {city_dir} does not exist")
        self.path = city_dir / JOBS_FILE
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    def _write(self, sql: str, *args: Any) -> int:
        with self._db() as db:
            return db.execute(sql, args).rowcount

    def add(self, job: Job) -> None:
        """Record a new job and forget the oldest finished ones beyond :data:`KEEP_JOBS`."""
        with self._db() as db:
            db.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.kind,
                    json.dumps(job.params),
                    job.status,
                    job.created,
                    job.started,
                    job.finished,
                    job.progress,
                    job.file,
                    job.message,
                    None if job.result is None else json.dumps(job.result),
                    job.error,
                    job.runs,
                ),
            )
            db.execute(
                "DELETE FROM jobs WHERE finished IS NOT NULL AND rowid NOT IN"
                " (SELECT rowid FROM jobs ORDER BY rowid DESC LIMIT ?)",
                (KEEP_JOBS,),
            )

    def get(self, job_id: str) -> Job | None:
        """The job with ``job_id``, or None."""
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def recent(self) -> list[Job]:
        """Every kept job, newest first."""
        with self._db() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY rowid DESC").fetchall()
        return [Job.from_row(row) for row in rows]

    def unfinished(self) -> list[Job]:
        """The queued and running jobs, oldest first."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY rowid"
            ).fetchall()
        return [Job.from_row(row) for row in rows]

    def claim(self, job_id: str, worker: int) -> Job | None:
        """Mark a queued job running in process ``worker``; None when it is not queued."""
        claimed = self._write(
            "UPDATE jobs SET status = 'running', runs = runs + 1, worker = ?,"
            " started = COALESCE(started, ?), message = 'started'"
            " WHERE id = ? AND status = 'queued'",
            worker,
            _now(),
            job_id,
        )
        return self.get(job_id) if claimed else None

    def progress(
        self, job_id: str, run: int, percent: int, file: str | None, message: str | None
    ) -> None:
        """Record the progress of run ``run``; a ``message`` of None keeps the last one."""
        self._write(
            "UPDATE jobs SET progress = ?, file = ?, message = COALESCE(?, message)"
            " WHERE id = ? AND runs = ? AND status = 'running'",
            max(0, min(100, int(percent))),
            file,
            message,
            job_id,
            run,
        )

    def checkpoint(self, job_id: str, run: int, result: Any) -> None:
        """Record a partial result that a later run resumes from."""
        self._write(
            "UPDATE jobs SET result = ? WHERE id = ? AND runs = ? AND status = 'running'",
            json.dumps(result),
            job_id,
            run,
        )

    def finish(
        self, job_id: str, run: int, status: Status, result: Any = None, error: str | None = None
    ) -> bool:
        """End run ``run`` of a job as succeeded or failed; False when it was not running."""
        return bool(
            self._write(
                "UPDATE jobs SET status = ?, finished = ?, result = ?, error = ?, file = NULL,"
                " worker = NULL, progress = CASE WHEN ? = 'succeeded' THEN 100 ELSE progress END,"
                " message = CASE WHEN ? = 'succeeded' THEN message ELSE 'failed' END"
                " WHERE id = ? AND runs = ? AND status = 'running'",
                status,
                _now(),
                None if result is None else json.dumps(result),
                error,
                status,
                status,
                job_id,
                run,
            )
        )

    def release(self, job_id: str, run: int, message: str) -> bool:
        """Put a running job back in the queue without counting the run (a clean stop)."""
        return bool(
            self._write(
                "UPDATE jobs SET status = 'queued', runs = runs - 1, worker = NULL, file = NULL,"
                " message = ? WHERE id = ? AND runs = ? AND status = 'running'",
                message,
                job_id,
                run,
            )
        )

    def requeue(self, job_id: str, message: str) -> bool:
        """Put back in the queue a job whose run was lost (the run still counts)."""
        return bool(
            self._write(
                "UPDATE jobs SET status = 'queued', worker = NULL, file = NULL, message = ?"
                " WHERE id = ? AND status = 'running'",
                message,
                job_id,
            )
        )

    def fail(self, job_id: str, error: str) -> bool:
        """Fail a job that is not finished (it will not run again)."""
        return bool(
            self._write(
                "UPDATE jobs SET status = 'failed', finished = ?, error = ?, worker = NULL,"
                " file = NULL, message = 'failed' WHERE id = ? AND status IN ('queued', 'running')",
                _now(),
                error,
                job_id,
            )
        )

    def running_in(self, worker: int) -> list[Job]:
        """The jobs that process ``worker`` is running."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE status = 'running' AND worker = ?", (worker,)
            ).fetchall()
        return [Job.from_row(row) for row in rows]


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

    A run that finds the reports of an earlier run (its files were committed before the
    worker died) only rewrites the tiles.
    """
    params = context.job.params
    origin = params.get("origin")
    user_origin = UserOrigin(params["crs"], tuple(origin)) if origin else None
    options = ImportOptions(user_origin=user_origin, kernel=params.get("kernel", DEFAULT_KERNEL))
    done = context.job.result
    imported = ImportOutcome(done["reports"]) if done else None
    if imported is not None:
        context.progress(IMPORT_SPAN, None, "resuming at the tiles: the files were imported")
    with CityStore.open(context.city_dir) as store:
        outcome = import_and_retile(
            store,
            [context.folder / item["name"] for item in params["files"]],
            options,
            tile=params.get("retile", True),
            progress=context.progress,
            imported=imported,
            on_imported=lambda outcome: context.checkpoint(outcome.to_dict()),
        )
    return outcome.to_dict()


def run_tiling(context: JobContext) -> dict[str, Any]:
    """The ``tile`` job: rewrite the city's 3D Tiles (unchanged tiles are kept)."""
    with CityStore.open(context.city_dir) as store:
        summary = retile(store, progress=context.progress)
    context.progress(100, None, f"{summary.tiles} tiles, {summary.written} drawn")
    return {"tiling": tiling_dict(summary)}


WORKS: dict[str, Work] = {"import": run_import, "tile": run_tiling}


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

    def submit(self, kind: str, params: dict[str, Any], job_id: str | None = None) -> Job:
        """Record a job of ``kind`` (a key of :data:`WORKS`) and queue it."""
        if kind not in WORKS:
            raise ApiError(f"unknown job kind {kind!r}")
        job = Job(id=job_id or new_job_id(), kind=kind, params=params)
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
