"""The jobs table and queue in one process: claims, recovery after a dead worker, the lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from api import jobs, jobtable
from api.errors import WorkerBusyError
from api.jobs import MAX_RUNS, JobContext, JobInterruptedError, JobQueue, upload_folder
from api.worker import running_worker, worker_lock
from bim.errors import IfcReadError
from cim.errors import CityNotFoundError, JurisdictionCodeError
from cim.scope import Scope


@pytest.fixture()
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobQueue:
    """A queue whose ``test`` jobs run what ``params["do"]`` names."""

    def work(context: JobContext) -> Any:
        do = context.job.params["do"]
        context.progress(50, "a.ifc", "half way")
        if do == "fail":
            raise IfcReadError(f"{context.folder}/a.ifc: not an IFC file")
        if do == "bug":
            raise ZeroDivisionError("division by zero")
        if do == "stop":
            context.stopping.set()
            context.progress(60, None, None)
        return {"done": do, "runs": context.job.runs}

    monkeypatch.setitem(jobs.WORKS, "test", work)
    (tmp_path / "city").mkdir()
    return JobQueue(tmp_path / "city")


def test_jobs_run_in_order_and_their_errors_are_one_line(queue: JobQueue) -> None:
    folder = upload_folder(queue.city_dir, "second")
    folder.mkdir(parents=True)
    ids = [queue.submit("test", {"do": do}, job_id).id
           for do, job_id in (("ok", "first"), ("fail", "second"), ("bug", "third"))]  # fmt: skip
    assert queue.waiting() == set(ids)
    assert queue.drain() == 3
    first, second, third = (queue.table.get(job_id, scope=Scope.everything()) for job_id in ids)
    assert first and first.status == "succeeded" and first.result == {"done": "ok", "runs": 1}
    assert first.progress == 100 and first.message == "half way" and first.file is None
    assert second and second.status == "failed" and second.error == "a.ifc: not an IFC file"
    assert not folder.exists()
    assert third and third.error == "internal error: division by zero"
    assert [job.id for job in queue.table.recent(scope=Scope.everything())] == ids[::-1]


def test_a_job_left_running_by_a_dead_worker_runs_again(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "ok"})
    assert queue.huey.dequeue() is not None  # the dead worker took it off the queue ...
    assert queue.table.claim(job.id, worker=999_999)  # ... and started it
    assert queue.recover() == [f"job {job.id} resumed after its worker stopped"]
    resumed = queue.table.get(job.id, scope=Scope.everything())
    assert resumed and resumed.status == "queued" and "worker stopped" in resumed.message
    assert queue.drain() == 1
    done = queue.table.get(job.id, scope=Scope.everything())
    assert done and done.status == "succeeded" and done.result == {"done": "ok", "runs": 2}


def test_a_job_whose_worker_died_every_run_fails_with_the_reason(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "ok"})
    folder = upload_folder(queue.city_dir, job.id)
    folder.mkdir(parents=True)
    for _ in range(MAX_RUNS):
        queue.huey.dequeue()
        assert queue.table.claim(job.id, worker=999_999)
        queue.recover()
    failed = queue.table.get(job.id, scope=Scope.everything())
    assert failed and failed.status == "failed" and failed.finished
    assert failed.error and f"stopped {MAX_RUNS} times while running this job" in failed.error
    assert queue.waiting() == set() and not folder.exists()


def test_a_queued_job_missing_from_the_queue_is_queued_again(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "ok"})
    queue.huey.dequeue()  # the server died between its two writes
    assert queue.recover() == [f"job {job.id} queued again"]
    assert queue.waiting() == {job.id}
    assert queue.recover() == []  # nothing twice


def test_a_task_for_a_job_no_longer_queued_does_nothing(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "ok"})
    queue.enqueue(job.id)  # a duplicate
    assert queue.drain() == 2
    done = queue.table.get(job.id, scope=Scope.everything())
    assert done and done.status == "succeeded" and done.runs == 1


def test_a_stopping_worker_puts_its_job_back_without_counting_the_run(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "stop"})
    queue.run(job.id)
    back = queue.table.get(job.id, scope=Scope.everything())
    assert back and back.status == "queued" and back.runs == 0
    assert back.message.startswith("interrupted: the worker stopped")


def test_progress_raises_once_the_worker_stops(queue: JobQueue) -> None:
    job = queue.submit("test", {"do": "ok"})
    claimed = queue.table.claim(job.id, worker=1)
    assert claimed
    stopping = threading.Event()
    context = JobContext(queue.table, queue.city_dir, claimed, stopping)
    context.progress(10, "x.ifc", "importing x.ifc")
    row = queue.table.get(job.id, scope=Scope.everything())
    assert row and (row.progress, row.file, row.message) == (10, "x.ifc", "importing x.ifc")
    stopping.set()
    with pytest.raises(JobInterruptedError):
        context.progress(11, "x.ifc", None)


def test_only_the_newest_finished_jobs_are_kept(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobtable, "KEEP_JOBS", 3)
    ids = []
    for _ in range(4):
        ids.append(queue.submit("test", {"do": "ok"}).id)
        queue.drain()
    waiting = queue.submit("test", {"do": "ok"}).id
    assert [job.id for job in queue.table.recent(scope=Scope.everything())] == [
        waiting,
        ids[3],
        ids[2],
    ]


def test_one_worker_per_city(tmp_path: Path) -> None:
    assert running_worker(tmp_path) is None
    with worker_lock(tmp_path):
        assert running_worker(tmp_path) is not None
        with pytest.raises(WorkerBusyError, match="already runs"), worker_lock(tmp_path, wait=0):
            pass
    assert running_worker(tmp_path) is None


def test_a_missing_city_has_no_jobs(tmp_path: Path) -> None:
    with pytest.raises(CityNotFoundError):
        JobQueue(tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_jobs_are_read_within_the_scope_of_their_submitters_jurisdiction(
    queue: JobQueue,
) -> None:
    town_a, town_b = "440106001000", "440106002000"
    mine = queue.submit("test", {"do": "ok"}, jurisdiction=town_a).id
    theirs = queue.submit("test", {"do": "ok"}, jurisdiction=town_b).id
    nobodys = queue.submit("test", {"do": "ok"}).id
    seen = {name: {job.id for job in queue.table.recent(scope=scope)}
            for name, scope in (("a", Scope.of(town_a)), ("county", Scope.of("440106000000")),
                                ("all", Scope.everything()))}  # fmt: skip
    assert seen == {"a": {mine}, "county": {mine, theirs}, "all": {mine, theirs, nobodys}}
    assert queue.table.get(theirs, scope=Scope.of(town_a)) is None
    assert queue.table.get(nobodys, scope=Scope.of("440000000000")) is None
    found = queue.table.get(mine, scope=Scope.of(town_a))
    assert found is not None and found.to_dict()["jurisdiction"] == town_a


def test_a_job_with_a_malformed_jurisdiction_is_refused(queue: JobQueue) -> None:
    with pytest.raises(JurisdictionCodeError):
        queue.submit("test", {"do": "ok"}, jurisdiction="4401")
    assert queue.table.recent(scope=Scope.everything()) == []


def test_a_jobs_table_from_before_jurisdictions_gains_the_column(tmp_path: Path) -> None:
    city = tmp_path / "city"
    city.mkdir()
    with sqlite3.connect(city / jobtable.JOBS_FILE) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL,"
            " status TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT,"
            " progress INTEGER NOT NULL DEFAULT 0, file TEXT, message TEXT NOT NULL,"
            " result TEXT, error TEXT, runs INTEGER NOT NULL DEFAULT 0, worker INTEGER)"
        )
        db.execute(
            "INSERT INTO jobs (id, kind, params, status, created, message)"
            " VALUES ('old', 'tile', '{}', 'succeeded', '2026-01-01', 'done')"
        )
    table = jobtable.JobTable(city)
    old = table.get("old", scope=Scope.everything())
    assert old is not None and old.jurisdiction is None
    assert table.get("old", scope=Scope.of("440000000000")) is None
