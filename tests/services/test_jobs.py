"""Jobs: recorded, progress, failure, cancellation (and a cancelled import leaves nothing)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from assay import AssayError, JobCancelled, Workbench
from assay.services import jobs


def _job(wb: Workbench, kind: str = "test") -> int:
    with wb.db.session() as s:
        return jobs.create(s, kind, None).id


def test_a_job_records_its_result_and_progress(wb: Workbench) -> None:
    seen: list[float] = []
    job_id = _job(wb)

    def work(progress: jobs.Progress) -> dict[str, object]:
        progress(0.5, "half")
        assert wb.get_job(job_id)["progress"] == 0.5  # live progress while running
        assert wb.get_job(job_id)["status"] == "running"
        return {"answer": 42}

    assert jobs.run(wb.db, job_id, work, lambda done, _m: seen.append(done)) == {"answer": 42}
    job = wb.get_job(job_id)
    assert (job["status"], job["progress"], job["result"]) == ("done", 1.0, {"answer": 42})
    assert job["started_at"] and job["finished_at"]
    assert seen == [0.5]


def test_a_failing_job_keeps_the_message(wb: Workbench) -> None:
    job_id = _job(wb)

    def work(_progress: jobs.Progress) -> dict[str, object]:
        raise AssayError("the file is broken")

    with pytest.raises(AssayError):
        jobs.run(wb.db, job_id, work)
    job = wb.get_job(job_id)
    assert (job["status"], job["error"]) == ("failed", "the file is broken")


def test_a_bug_in_a_job_shows_a_clear_message_and_logs_the_traceback(
    wb: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _job(wb, "import")

    def work(_progress: jobs.Progress) -> dict[str, object]:
        open("/nonexistent/secret/server/path.csv").close()  # the bug
        return {}

    with pytest.raises(FileNotFoundError):
        jobs.run(wb.db, job_id, work)
    error = wb.get_job(job_id)["error"]
    assert error == (
        f"internal error in this import job (FileNotFoundError); the server's log has the "
        f"details under job {job_id}"
    )
    assert "Traceback" in caplog.text and "/nonexistent/secret" in caplog.text


def test_cancel_stops_a_running_job(wb: Workbench) -> None:
    job_id = _job(wb)
    started = threading.Event()

    def work(progress: jobs.Progress) -> dict[str, object]:
        started.set()
        for _ in range(1000):
            progress(0.1, "waiting")
            threading.Event().wait(0.01)
        return {}

    def run_until_cancelled() -> None:
        with pytest.raises(JobCancelled):
            jobs.run(wb.db, job_id, work)

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
            runner = f"{jobs.RUNNER.rsplit(':', 1)[0]}:{gone.pid}"
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


def test_a_cancel_from_another_process_arrives_through_the_row(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from assay.storage.models import Job

    monkeypatch.setattr(jobs.Progress, "POLL_SECONDS", 0.0)
    job_id = _job(wb)

    def work(progress: jobs.Progress) -> dict[str, object]:
        progress(0.1, "started")
        with wb.db.session() as s:  # what `assay jobs cancel` in another process writes
            s.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
        progress(0.2, "next step")
        return {}

    with pytest.raises(JobCancelled):
        jobs.run(wb.db, job_id, work)
    assert wb.get_job(job_id)["status"] == "cancelled"


def test_shutting_the_executor_down_stops_its_running_and_queued_jobs(sqlite_wb: Workbench) -> None:
    wb = sqlite_wb
    started = threading.Event()

    def work(progress: jobs.Progress) -> dict[str, object]:
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
