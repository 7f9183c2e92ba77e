"""The job runner: a job records its result, progress and failure; a cancel reaches it from
this process or through its row; an executor's shutdown stops its jobs."""

from __future__ import annotations

import threading

import pytest

from assay import AssayError, JobCancelled, Workbench
from assay.runtime import job_runner
from assay.runtime.job_runner import Progress
from assay.services import jobs


def _job(wb: Workbench, kind: str = "test") -> int:
    with wb.db.session() as s:
        return jobs.create(s, kind, None).id


def test_a_job_records_its_result_and_progress(wb: Workbench) -> None:
    seen: list[float] = []
    job_id = _job(wb)

    def work(progress: Progress) -> dict[str, object]:
        progress(0.5, "half")
        assert wb.get_job(job_id)["progress"] == 0.5  # live progress while running
        assert wb.get_job(job_id)["status"] == "running"
        return {"answer": 42}

    assert job_runner.run(wb.db, job_id, work, lambda done, _m: seen.append(done)) == {"answer": 42}
    job = wb.get_job(job_id)
    assert (job["status"], job["progress"], job["result"]) == ("done", 1.0, {"answer": 42})
    assert job["started_at"] and job["finished_at"]
    assert seen == [0.5]


def test_a_failing_job_keeps_the_message(wb: Workbench) -> None:
    job_id = _job(wb)

    def work(_progress: Progress) -> dict[str, object]:
        raise AssayError("the file is broken")

    with pytest.raises(AssayError):
        job_runner.run(wb.db, job_id, work)
    job = wb.get_job(job_id)
    assert (job["status"], job["error"]) == ("failed", "the file is broken")


def test_a_bug_in_a_job_shows_a_clear_message_and_logs_the_traceback(
    wb: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _job(wb, "import")

    def work(_progress: Progress) -> dict[str, object]:
        open("/nonexistent/secret/server/path.csv").close()  # the bug
        return {}

    with pytest.raises(FileNotFoundError):
        job_runner.run(wb.db, job_id, work)
    error = wb.get_job(job_id)["error"]
    assert error == (
        f"internal error in this import job (FileNotFoundError); the server's log has the "
        f"details under job {job_id}"
    )
    assert "Traceback" in caplog.text and "/nonexistent/secret" in caplog.text


def test_a_cancel_from_another_process_arrives_through_the_row(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from assay.storage.models import Job

    monkeypatch.setattr(job_runner.JobProgress, "POLL_SECONDS", 0.0)
    job_id = _job(wb)

    def work(progress: Progress) -> dict[str, object]:
        progress(0.1, "started")
        with wb.db.session() as s:  # what `assay jobs cancel` in another process writes
            s.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
        progress(0.2, "next step")
        return {}

    with pytest.raises(JobCancelled):
        job_runner.run(wb.db, job_id, work)
    assert wb.get_job(job_id)["status"] == "cancelled"


def test_shutting_the_executor_down_stops_its_running_and_queued_jobs(sqlite_wb: Workbench) -> None:
    wb = sqlite_wb
    started = threading.Event()

    def work(progress: Progress) -> dict[str, object]:
        started.set()
        for _ in range(3000):  # 30 s unless stopped
            progress(0.1, "waiting")
            threading.Event().wait(0.01)
        return {}

    ids = [_job(wb) for _ in range(3)]  # two run at once, the third waits for a thread
    for job_id in ids:
        wb.executor.submit(job_id, work)
    assert started.wait(5)
    clock = threading.Event()
    timer = threading.Timer(10, clock.set)
    timer.start()
    wb.executor.shutdown()
    timer.cancel()
    assert not clock.is_set(), "shutdown waited for the jobs to finish"
    assert [wb.get_job(job_id)["status"] for job_id in ids] == ["cancelled"] * 3
