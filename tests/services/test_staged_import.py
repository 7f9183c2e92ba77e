"""Large imports are staged in short transactions and appear at once, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from assay import JobCancelled, Workbench
from assay.services import importing, jobs
from assay.storage.models import Record, RecordText


def _csv(path: Path, start: int, n: int) -> Path:
    lines = ["rid,headline"] + [
        f"{i},Headline number {i} about Zürich" for i in range(start, start + n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(wb: Workbench, model: type) -> int:
    with wb.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def small_chunks(wb: Workbench, monkeypatch: pytest.MonkeyPatch) -> Workbench:
    monkeypatch.setattr(wb.settings, "import_chunk_size", 50)
    return wb


def test_new_project_is_hidden_until_the_last_chunk(
    small_chunks: Workbench, tmp_path: Path
) -> None:
    wb = small_chunks
    seen: list[tuple[list[str], int]] = []

    def look(_done: float, message: str) -> None:
        if message.startswith("wrote"):
            seen.append(([p["name"] for p in wb.list_projects()], _rows(wb, Record)))

    result = wb.import_file(
        _csv(tmp_path / "a.csv", 0, 230), "big", primary_key=["rid"], listener=look
    )
    assert result["created"] == 230
    assert len(seen) == 5  # five chunks, each committed on its own
    assert all(names == [] for names, _ in seen)  # the project stays hidden meanwhile
    assert [count for _, count in seen] == [50, 100, 150, 200, 230]
    page = wb.query("big", {"attribute": "headline", "op": "contains", "value": "zürich"})
    assert page["total"] == 230
    record = wb.get_record("big", "rid=229")
    assert record["tokens"]["headline"][0]["text"] == "Headline"


def test_existing_project_shows_old_records_until_commit(
    small_chunks: Workbench, tmp_path: Path
) -> None:
    wb = small_chunks
    wb.import_file(_csv(tmp_path / "a.csv", 0, 20), "p", primary_key=["rid"])
    totals: list[int] = []

    def look(_done: float, message: str) -> None:
        if message.startswith("wrote"):
            totals.append(wb.query("p", None)["total"])
            totals.append(wb.get_project("p")["records"])

    wb.import_file(_csv(tmp_path / "b.csv", 100, 120), "p", listener=look)
    assert set(totals) == {20}
    assert wb.query("p", None)["total"] == 140


def test_a_cancelled_staged_import_removes_its_rows(
    small_chunks: Workbench, tmp_path: Path
) -> None:
    wb = small_chunks
    wb.import_file(_csv(tmp_path / "a.csv", 0, 20), "p", primary_key=["rid"])
    before = (_rows(wb, Record), _rows(wb, RecordText))
    calls = 0

    def cancel_after_two_chunks(_done: float, message: str) -> None:
        nonlocal calls
        if message.startswith("wrote"):
            calls += 1
            if calls == 2:
                running = [j for j in wb.list_jobs() if j["status"] == "running"]
                wb.cancel_job(running[0]["id"])

    with pytest.raises(JobCancelled):
        wb.import_file(_csv(tmp_path / "b.csv", 100, 200), "p", listener=cancel_after_two_chunks)
    assert (_rows(wb, Record), _rows(wb, RecordText)) == before
    assert wb.query("p", None)["total"] == 20

    calls = 0
    with pytest.raises(JobCancelled):
        wb.import_file(_csv(tmp_path / "c.csv", 0, 200), "fresh", listener=cancel_after_two_chunks)
    assert "fresh" not in [p["name"] for p in wb.list_projects()]
    assert _rows(wb, Record) == before[0]


def test_an_import_whose_process_died_is_failed_and_removed(wb: Workbench, tmp_path: Path) -> None:
    wb.import_file(_csv(tmp_path / "a.csv", 0, 20), "p", primary_key=["rid"])
    host = jobs.RUNNER.rsplit(":", 1)[0]
    with wb.db.session() as s:  # how a crash mid-import leaves things: running, staging rows
        project_id = wb.get_project("p")["id"]
        job = jobs.create(s, "import", project_id)
        job.status, job.staging, job.runner = "running", True, f"{host}:999999999"
        s.flush()
        for i in range(5):
            s.add(Record(project_id=project_id, key=f"[{1000 + i}]", data={"rid": 1000 + i},
                         content_hash="x", import_job_id=job.id))  # fmt: skip
        job_id = job.id
    assert _rows(wb, Record) == 25
    assert wb.query("p", None)["total"] == 20  # staged rows stay hidden
    assert importing.recover(wb.db) == [job_id]
    assert _rows(wb, Record) == 20
    job_doc = wb.get_job(job_id)
    assert (job_doc["status"], job_doc["error"]) == (
        "failed",
        "the process running this job stopped",
    )
    assert importing.recover(wb.db) == []  # a live or finished job is left alone


def test_a_staged_import_marks_the_project_changed(small_chunks: Workbench, tmp_path: Path) -> None:
    wb = small_chunks
    wb.import_file(_csv(tmp_path / "a.csv", 0, 20), "p", primary_key=["rid"])
    before = wb.get_project("p")["updated_at"]
    wb.import_file(_csv(tmp_path / "b.csv", 100, 120), "p")
    assert wb.get_project("p")["updated_at"] > before


def test_chunks_leave_the_sqlite_lock_free_only_while_others_write(
    sqlite_wb: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = sqlite_wb
    pauses: list[float] = []
    monkeypatch.setattr(importing.time, "sleep", pauses.append)
    monkeypatch.setattr(wb.settings, "import_chunk_size", 50)
    wb.import_file(_csv(tmp_path / "a.csv", 0, 230), "alone", primary_key=["rid"])
    assert pauses == []  # an import that writes alone never waits
    with importing._pacing(wb.db) as pacer:
        for number in range(2):  # the import's own commits, within a chunk, do not count
            pacer.before_chunk()
            wb.create_project(f"own-{number}")
            pacer.after_chunk()
        assert pauses == []
        wb.create_project("another")  # another connection commits between two chunks
        pacer.before_chunk()
        pacer.after_chunk()
        assert pauses == [importing._Pacer.GAP]
