"""The jobs table: one row per job in ``<city>/jobs.sqlite`` (SQLite, WAL), read by every
server process and written by the worker, so a job's state outlives both.

Every write is one short transaction; the writes of a run are guarded by its run number.
A job carries the jurisdiction of whoever submitted it, and the reads that answer callers
(:meth:`JobTable.get`, :meth:`JobTable.recent`) take the caller's scope, as the city store's do.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cim.errors import CityNotFoundError
from cim.layout import CityLayout
from cim.scope import Scope, check_code

JOBS_FILE = CityLayout.JOBS
# Finished jobs kept (the oldest are forgotten); unfinished ones are always kept.
KEEP_JOBS = 200
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
    worker INTEGER,
    jurisdiction TEXT
)
"""
_COLUMNS = "id, kind, params, status, created, started, finished, progress, file, message, " \
    "result, error, runs, jurisdiction"  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
    jurisdiction: str | None = None  # the submitter's 12-digit code (None: seen by all-seeing)

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data, with its URL."""
        return {**self.__dict__, "url": f"/api/jobs/{self.id}"}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Job:
        """A job from a row of :data:`_COLUMNS`."""
        (job_id, kind, params, status, created, started, finished, progress, file, message,
         result, error, runs, jurisdiction) = row  # fmt: skip
        return cls(job_id, kind, json.loads(params), status, created, started, finished,
                   progress, file, message, None if result is None else json.loads(result),
                   error, runs, jurisdiction)  # fmt: skip


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
            columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            if "jurisdiction" not in columns:  # a table made before jobs had one
                db.execute("ALTER TABLE jobs ADD COLUMN jurisdiction TEXT")

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
        if job.jurisdiction is not None:
            check_code(job.jurisdiction)
        with self._db() as db:
            db.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    job.jurisdiction,
                ),
            )
            db.execute(
                "DELETE FROM jobs WHERE finished IS NOT NULL AND rowid NOT IN"
                " (SELECT rowid FROM jobs ORDER BY rowid DESC LIMIT ?)",
                (KEEP_JOBS,),
            )

    def get(self, job_id: str, *, scope: Scope) -> Job | None:
        """The job with ``job_id`` when its jurisdiction is in ``scope``, or None (a job
        outside it is not told apart from a missing one)."""
        inside, values = scope.sql("jurisdiction")
        with self._db() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND {inside}", (job_id, *values)
            ).fetchone()
        return None if row is None else Job.from_row(row)

    def recent(self, *, scope: Scope) -> list[Job]:
        """Every kept job in ``scope``, newest first."""
        inside, values = scope.sql("jurisdiction")
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE {inside} ORDER BY rowid DESC", values
            ).fetchall()
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
        return self.get(job_id, scope=Scope.everything()) if claimed else None

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
