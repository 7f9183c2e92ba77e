"""Large imports are staged in short transactions and appear at once, or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from assay import JobCancelled, Workbench
from assay.errors import ImportFileError
from assay.services import importing, jobs, projects
from assay.services.importing import pacing, staged
from assay.storage.models import (
    Annotation,
    Attribute,
    Job,
    Label,
    LabelingTask,
    ManualState,
    Project,
    Record,
    RecordText,
)


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
    monkeypatch.setattr(pacing.time, "sleep", pauses.append)
    monkeypatch.setattr(wb.settings, "import_chunk_size", 50)
    wb.import_file(_csv(tmp_path / "a.csv", 0, 230), "alone", primary_key=["rid"])
    assert pauses == []  # an import that writes alone never waits
    with pacing.open_pacer(wb.db) as pacer:
        for number in range(2):  # the import's own commits, within a chunk, do not count
            pacer.before_chunk()
            wb.create_project(f"own-{number}")
            pacer.after_chunk()
        assert pauses == []
        wb.create_project("another")  # another connection commits between two chunks
        pacer.before_chunk()
        pacer.after_chunk()
        assert pauses == [pacing.Pacer.GAP]


# --- staged imports that update records and carry labels ---------------------------------------


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _upsert_rows() -> list[dict[str, Any]]:
    """100 updates of the base records (even ones change their text) and 100 new records,
    with manual, span and weak-supervision label columns."""
    rows = []
    for i in range(200):
        row: dict[str, Any] = {
            "rid": i,
            "headline": f"Headline number {i} about {'Bern' if i % 2 == 0 else 'Zürich'}",
            "__clickbait__MANUAL": ["yes", "no", None][i % 3],
            "__clickbait__WEAK_SUPERVISION": "yes" if i % 5 == 0 else None,
            "__clickbait__WEAK_SUPERVISION__confidence": 0.7 if i % 5 == 0 else None,
        }
        if i % 4 == 0:
            row["headline__place__MANUAL"] = [{"label": "city", "start_token": 4, "end_token": 5}]
        rows.append(row)
    return rows


def _base(wb: Workbench, tmp_path: Path, project: str) -> None:
    """100 records, manual labels of the importer on 10, other annotators' on a few."""
    rows = [
        {"rid": i, "headline": f"Headline number {i} about Zürich"}
        | ({"__clickbait__MANUAL": "no" if i % 2 else "yes"} if i < 10 else {})
        for i in range(100)
    ]
    wb.import_file(_jsonl(tmp_path / f"{project}-base.jsonl", rows), project, primary_key=["rid"])
    for rid in (0, 1, 2):
        wb.annotate(project, f"rid={rid}", "clickbait", "yes", "ann")  # agrees, differs, absent
    wb.annotate(project, "rid=4", "clickbait", "no", "ann", gold=True)
    wb.annotate(project, "rid=6", "clickbait", "yes", "import", gold=True)


def _dump(wb: Workbench, project: str) -> dict[str, Any]:
    """A project's records, texts, tasks, labels and reference states, by key and name."""
    with wb.db.session() as s:
        found = projects.get(s, project)
        project_id = found.id
        # What readers see: records through visible_records, labels through the project's tasks.
        keys = dict(
            s.execute(select(Record.id, Record.key).where(projects.visible_records(s, found))).all()
        )
        attributes = dict(
            s.execute(
                select(Attribute.id, Attribute.name).where(Attribute.project_id == project_id)
            ).all()
        )
        task_names = dict(
            s.execute(
                select(LabelingTask.id, LabelingTask.name).where(
                    LabelingTask.project_id == project_id
                )
            ).all()
        )
        labels = dict(
            s.execute(select(Label.id, Label.name).where(Label.task_id.in_(task_names))).all()
        )
        return {
            "records": {
                keys[i]: (data, content_hash)
                for i, data, content_hash in s.execute(
                    select(Record.id, Record.data, Record.content_hash).where(Record.id.in_(keys))
                )
            },
            "texts": sorted(
                (keys[t.record_id], attributes[t.attribute_id], t.folded, t.offsets)
                for t in s.scalars(select(RecordText).where(RecordText.record_id.in_(keys)))
            ),
            "labels": sorted(labels.values()),
            "annotations": sorted(
                (
                    keys[a.record_id],
                    task_names[a.task_id],
                    labels[a.label_id],
                    a.source,
                    a.source_id,
                    a.annotator,
                    a.is_gold,
                    a.is_reference,
                    a.span_start,
                    a.span_end,
                    a.confidence,
                )
                for a in s.scalars(select(Annotation).where(Annotation.task_id.in_(task_names)))
                if a.record_id in keys
            ),
            "states": sorted(
                (keys[m.record_id], task_names[m.task_id], m.state)
                for m in s.scalars(select(ManualState).where(ManualState.task_id.in_(task_names)))
                if m.record_id in keys
            ),
        }


def _counts(wb: Workbench) -> tuple[int, ...]:
    models = (Project, Record, RecordText, LabelingTask, Label, Annotation, ManualState)
    return tuple(_rows(wb, model) for model in models)


def test_a_staged_upsert_with_labels_ends_as_one_transaction_would(
    wb: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upsert = _jsonl(tmp_path / "upsert.jsonl", _upsert_rows())
    _base(wb, tmp_path, "single")
    _base(wb, tmp_path, "staged")
    one = wb.import_file(upsert, "single")  # 200 rows: one chunk, one transaction
    monkeypatch.setattr(wb.settings, "import_chunk_size", 50)
    staged = wb.import_file(upsert, "staged")  # four chunks, then the swap
    assert staged == one | {"project": "staged"}
    assert (staged["created"], staged["updated"]) == (100, 100)
    single, after = _dump(wb, "single"), _dump(wb, "staged")
    assert after == single
    states = {(key, task): state for key, task, state in after["states"]}
    assert states[("[0]", "clickbait")] == "agreed"  # import "yes", ann "yes"
    assert states[("[1]", "clickbait")] == "conflict"  # import "no", ann "yes"
    assert states[("[4]", "clickbait")] == "gold"
    assert ("[2]", "clickbait") in states  # ann's label alone: no import label there now
    assert after["records"]["[0]"][0]["headline"] == "Headline number 0 about Bern"
    assert (
        wb.query("staged", {"attribute": "headline", "op": "contains", "value": "bern"})["total"]
        == 100
    )
    assert len(wb.list_projects()) == 2  # the staging project is gone
    assert _rows(wb, Project) == 2


def test_a_staged_upsert_shows_nothing_until_it_commits(
    small_chunks: Workbench, tmp_path: Path
) -> None:
    wb = small_chunks
    _base(wb, tmp_path, "p")
    before = _dump(wb, "p")
    seen: list[dict[str, Any]] = []

    def look(_done: float, message: str) -> None:
        if message.startswith("wrote"):
            dump = _dump(wb, "p")
            dump.pop("labels")  # new label names and tasks are created before the first chunk
            seen.append(dump)
            if len(seen) == 1:  # someone labels a record the import labels too, meanwhile
                wb.annotate("p", "rid=3", "clickbait", "no", "zed")

    wb.import_file(_jsonl(tmp_path / "u.jsonl", _upsert_rows()), "p", listener=look)
    assert len(seen) == 4
    hidden = {k: v for k, v in before.items() if k != "labels"}
    assert seen[0] == hidden
    zed = ("[3]", "clickbait", "no", "manual", "", "zed", False, False, None, None, None)
    for dump in seen[1:]:  # zed's label, and nothing of the import
        assert dump["annotations"] == sorted([*hidden["annotations"], zed])
        assert {k: v for k, v in dump.items() if k != "annotations" and k != "states"} == {
            k: v for k, v in hidden.items() if k != "annotations" and k != "states"
        }
    after = _dump(wb, "p")
    states = {(key, task): state for key, task, state in after["states"]}
    assert states[("[3]", "clickbait")] == "conflict"  # the import's "yes" and zed's "no"
    assert wb.get_record("p", "rid=150")["data"]["headline"] == "Headline number 150 about Bern"


@pytest.mark.parametrize("failure", ["cancel", "bad label", "crash"])
def test_a_failed_staged_upsert_leaves_the_project_as_it_was(
    small_chunks: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    wb = small_chunks
    _base(wb, tmp_path, "p")
    before, counts = _dump(wb, "p"), _counts(wb)
    rows = _upsert_rows()
    if failure == "bad label":
        rows[170]["__clickbait__MANUAL"] = ["yes", "no"]  # a list in a classification task
    if failure == "crash":  # the process dies after its third chunk: nothing cleans up
        monkeypatch.setattr(staged, "_discard", lambda *_args, **_kwargs: None)
    chunks = 0
    mid_run: list[Any] = []  # the job's result column while it ran

    def stop(_done: float, message: str) -> None:
        nonlocal chunks
        if message.startswith("wrote"):
            chunks += 1
            if chunks == 3 and failure != "bad label":
                running = next(j for j in wb.list_jobs() if j["status"] == "running")["id"]
                with wb.db.session() as s:
                    mid_run.append(s.get(Job, running).result)  # type: ignore[union-attr]
                wb.cancel_job(running)

    with pytest.raises((JobCancelled, ImportFileError)) as raised:
        wb.import_file(_jsonl(tmp_path / "u.jsonl", rows), "p", listener=stop)
    if failure == "bad label":
        assert "row 171" in str(raised.value)
    if failure == "crash":
        assert _counts(wb) != counts  # the dead import's staged rows are still there
        monkeypatch.undo()
        host = jobs.RUNNER.rsplit(":", 1)[0]
        job_id = next(j["id"] for j in wb.list_jobs() if j["status"] == "cancelled")
        with wb.db.session() as s:  # the job's row as the dead process left it
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="running", runner=f"{host}:999999999", result=mid_run[0])
            )
        assert _dump(wb, "p")["records"] == before["records"]  # hidden meanwhile
        assert importing.recover(wb.db) == [job_id]
        # What it added to the project before its rows (a task, label names) goes too: the
        # job keeps their ids while it stages.
    assert _dump(wb, "p") == before
    assert _counts(wb) == counts
    assert [t["name"] for t in wb.list_tasks("p")] == ["clickbait"]


def test_a_staged_update_may_not_move_labeled_spans(
    small_chunks: Workbench, tmp_path: Path
) -> None:
    wb = small_chunks
    rows = [
        {"rid": i, "headline": f"Headline number {i} about Zürich"}
        | (
            {"headline__place__MANUAL": [{"label": "city", "start_token": 4, "end_token": 5}]}
            if i == 120
            else {}
        )
        for i in range(200)
    ]
    wb.import_file(_jsonl(tmp_path / "a.jsonl", rows), "p", primary_key=["rid"])
    before, counts = _dump(wb, "p"), _counts(wb)
    changed = [{"rid": i, "headline": f"Another headline {i}"} for i in range(200)]
    with pytest.raises(ImportFileError, match="labeled span"):
        wb.import_file(_jsonl(tmp_path / "b.jsonl", changed), "p")
    assert (_dump(wb, "p"), _counts(wb)) == (before, counts)


def test_recover_removes_a_staging_project_left_behind(
    small_chunks: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = small_chunks
    _base(wb, tmp_path, "p")
    monkeypatch.setattr(staged, "_discard", lambda *_args, **_kwargs: None)  # no clean-up
    wb.import_file(_jsonl(tmp_path / "u.jsonl", _upsert_rows()), "p")
    monkeypatch.undo()
    after = _dump(wb, "p")
    assert (_rows(wb, Project), _rows(wb, Record)) == (2, 200 + 50)  # 50 versions left
    assert importing.recover(wb.db) == []  # no dead job, but a finished one's leftovers
    assert (_rows(wb, Project), _rows(wb, Record)) == (1, 200)
    assert _dump(wb, "p") == after
