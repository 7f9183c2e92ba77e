"""Job rows: cancel, recovery of a killed job, ids (and a cancelled import leaves nothing);
running a job is tests/runtime/test_job_runner.py."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from assay import AssayError, JobCancelled, Workbench
from assay.runtime import job_runner
from assay.runtime.job_runner import Progress
from assay.services import jobs


def _job(wb: Workbench, kind: str = "test") -> int:
    with wb.db.session() as s:
        return jobs.create(s, kind, None).id


def test_cancel_stops_a_running_job(wb: Workbench) -> None:
    job_id = _job(wb)
    started = threading.Event()

    def work(progress: Progress) -> dict[str, object]:
        started.set()
        for _ in range(1000):
            progress(0.1, "waiting")
            threading.Event().wait(0.01)
        return {}

    def run_until_cancelled() -> None:
        with pytest.raises(JobCancelled):
            job_runner.run(wb.db, job_id, work)

    thread = threading.Thread(target=run_until_cancelled)
    thread.start()
    assert started.wait(5)
    wb.cancel_job(job_id)
    thread.join(10)
    assert not thread.is_alive()
    assert wb.get_job(job_id)["status"] == "cancelled"
    with pytest.raises(AssayError, match="already ended"):
        wb.cancel_job(job_id)


def test_a_cancelled_import_leaves_nothing(wb: Workbench, tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    data.write_text("k,text\n" + "".join(f"{i},headline {i}\n" for i in range(2000)))

    def cancel_at_start(_done: float, _message: str) -> None:
        running = [j for j in wb.list_jobs() if j["status"] == "running"]
        wb.cancel_job(running[0]["id"])

    with pytest.raises(JobCancelled):
        wb.import_file(data, "big", listener=cancel_at_start)
    assert [p["name"] for p in wb.list_projects()] == []
    assert wb.list_jobs()[0]["status"] == "cancelled"


def test_a_killed_import_that_created_a_project_stays_listed_as_failed(
    wb: Workbench, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from assay.services import importing
    from assay.storage.models import Job

    data = tmp_path / "big.csv"
    data.write_text("k,text\n" + "".join(f"{i},headline {i}\n" for i in range(500)))
    wb.settings.import_chunk_size = 100  # a staged import: it creates a hidden project
    staged, release = threading.Event(), threading.Event()

    def stall(_done: float, message: str) -> None:
        if message.startswith("wrote"):
            staged.set()
            release.wait(30)
            raise RuntimeError("the test ends this import")

    def import_in_background() -> None:
        with pytest.raises(RuntimeError):
            wb.import_file(data, "fresh", listener=stall)

    thread = threading.Thread(target=import_in_background)
    thread.start()
    try:
        assert staged.wait(30)
        job_id = wb.list_jobs()[0]["id"]
        gone = subprocess.Popen(["true"])
        gone.wait()
        with wb.db.session() as s:  # as if its process had been killed: kill -9
            runner = f"{job_runner.RUNNER.rsplit(':', 1)[0]}:{gone.pid}"
            s.execute(update(Job).where(Job.id == job_id).values(runner=runner))
        assert importing.recover(wb.db) == [job_id]
        job = wb.get_job(job_id)
        assert job["status"] == "failed" and "stopped" in job["error"], job
        assert [p["name"] for p in wb.list_projects()] == []
        assert _job(wb) > job_id  # a new job never takes its id
    finally:
        release.set()
        thread.join(30)


def test_job_ids_are_never_reused(wb: Workbench, tmp_path: Path) -> None:
    data = tmp_path / "small.jsonl"
    data.write_text('{"a": "x"}\n')
    wb.import_file(data, "p")
    wb.import_file(data, "p")  # a job of the project
    last = wb.list_jobs()[0]["id"]
    wb.delete_project("p")  # its jobs go with it
    assert _job(wb) > last


def test_background_import_through_the_executor(wb: Workbench, tmp_path: Path) -> None:
    data = tmp_path / "small.jsonl"
    data.write_text('{"a": "x"}\n{"a": "y"}\n')
    job = wb.start_import(data, "bg")
    assert job["status"] in ("queued", "running", "done")
    wb.executor.pool.shutdown(wait=True)
    wb._executor = None
    done = wb.get_job(job["id"])
    assert done["status"] == "done", done
    assert wb.get_project("bg")["records"] == 2
