"""Resumable runs (services/stored_runs.py) on SQLite and PostgreSQL: a run is found by the
fingerprint of its kind, parameters and inputs; its chunks are stored one by one and read
back, not recomputed, when an interrupted run goes on; a done run is reused as it is."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.services import stored_runs
from assay.storage.models import AnalysisRun, Finding, Record, RunChunk


def _project(wb: Workbench) -> int:
    return int(wb.create_project("runs")["id"])


def _chunk_count(wb: Workbench, run: stored_runs.Run) -> int:
    with wb.db.session() as s:
        return int(s.scalar(select(func.count()).where(RunChunk.run_id == run.id)) or 0)


def test_fingerprint_tells_inputs_apart() -> None:
    base = stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4), b"xy")
    assert base == stored_runs.fingerprint({"b": [1, 2], "a": 1}, np.arange(4), b"xy")
    assert len(base) == 64
    different = [
        stored_runs.fingerprint({"a": 2, "b": [1, 2]}, np.arange(4), b"xy"),
        stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4, dtype=np.int32), b"xy"),
        stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4).reshape(2, 2), b"xy"),
        stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4), b"xz"),
        stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4)),
        # the parts' boundaries count: ("ab", "c") is not ("a", "bc")
        stored_runs.fingerprint({"a": 1, "b": [1, 2]}, np.arange(4), b"x", b"y"),
    ]
    assert len({base, *different}) == len(different) + 1


def test_begin_finds_new_running_and_done_runs(wb: Workbench) -> None:
    project_id = _project(wb)
    first = stored_runs.begin(wb.db, project_id, "selection", {"size": 3}, "inputs-1")
    assert not first.done and not first.reused and first.resumed_chunks == 0
    again = stored_runs.begin(wb.db, project_id, "selection", {"size": 3}, "inputs-1")
    assert again.id == first.id and not again.done  # unfinished: goes on, same row
    for other in (
        stored_runs.begin(wb.db, project_id, "selection", {"size": 4}, "inputs-1"),
        stored_runs.begin(wb.db, project_id, "selection", {"size": 3}, "inputs-2"),
        stored_runs.begin(wb.db, project_id, "split", {"size": 3}, "inputs-1"),
    ):
        assert other.id != first.id
    stored_runs.finish(wb.db, first, {"answer": 42})
    done = stored_runs.begin(wb.db, project_id, "selection", {"size": 3}, "inputs-1")
    assert done.id == first.id and done.done and done.reused
    assert stored_runs.summary(wb.db, done) == {"answer": 42}
    with wb.db.session() as s:
        row = s.get(AnalysisRun, first.id)
        assert row is not None and row.status == "done" and row.finished_at is not None
        described = stored_runs.describe(s, row, done)
    assert described["reused"] and described["status"] == "done"
    assert described["params"] == {"size": 3} and described["fingerprint"] == done.fingerprint
    assert described["chunks"] == 0 and described["resumed_chunks"] == 0


def _square(item: int) -> dict[str, np.ndarray]:
    return {"value": np.array([item * item]), "item": np.arange(item)}


def test_chunks_are_stored_and_read_back_not_recomputed(wb: Workbench) -> None:
    project_id = _project(wb)
    run = stored_runs.begin(wb.db, project_id, "duplicates", {}, "x")
    computed: list[int] = []

    def failing_after_two(item: int) -> Mapping[str, np.ndarray]:
        if len(computed) == 2:
            raise RuntimeError("the process died here")
        computed.append(item)
        return _square(item)

    with pytest.raises(RuntimeError):
        stored_runs.chunked(wb.db, run, [3, 4, 5, 6], failing_after_two)
    stored_runs.fail(wb.db, run, "the process died here")
    assert _chunk_count(wb, run) == 2  # each chunk was stored as it finished
    with wb.db.session() as s:
        row = s.get(AnalysisRun, run.id)
        assert row is not None and row.status == "failed" and row.error == "the process died here"

    again = stored_runs.begin(wb.db, project_id, "duplicates", {}, "x")
    assert again.id == run.id and not again.done  # a failed run is tried afresh
    computed.clear()
    seen: list[tuple[float, str]] = []
    parts = stored_runs.chunked(
        wb.db,
        again,
        [3, 4, 5, 6],
        lambda item: computed.append(item) or _square(item),
        progress=lambda done, message: seen.append((done, message)),
        message="squares",
    )
    assert computed == [5, 6]  # the stored two are read back
    assert again.resumed_chunks == 2
    assert [int(p["value"][0]) for p in parts] == [9, 16, 25, 36]
    assert [p["item"].tolist() for p in parts] == [list(range(n)) for n in (3, 4, 5, 6)]
    assert seen[0] == (0.5, "squares 2/4") and seen[-1] == (1.0, "squares 4/4")
    # an offset gives a second step of the run positions of its own
    computed.clear()
    stored_runs.chunked(wb.db, again, [7, 8], lambda i: computed.append(i) or _square(i), offset=4)
    assert computed == [7, 8] and _chunk_count(wb, again) == 6


def test_chunks_through_an_executor_map(wb: Workbench) -> None:
    run = stored_runs.begin(wb.db, _project(wb), "quality", {}, "x")
    parts = stored_runs.chunked(wb.db, run, [1, 2, 3], _square, executor=wb.executor)
    assert [int(p["value"][0]) for p in parts] == [1, 4, 9]
    assert stored_runs.load_chunk(wb.db, run, 1) is not None
    assert stored_runs.load_chunk(wb.db, run, 9) is None


def test_store_chunk_replaces_and_keeps_dtypes(wb: Workbench) -> None:
    run = stored_runs.begin(wb.db, _project(wb), "selection", {}, "x")
    stored_runs.store_chunk(wb.db, run, 7, {"a": np.arange(3, dtype=np.int64)})
    state = {"f": np.linspace(0, 1, 5, dtype=np.float32), "u": np.array([1, 2], np.uint32)}
    stored_runs.store_chunk(wb.db, run, 7, state)
    back = stored_runs.load_chunk(wb.db, run, 7)
    assert back is not None and set(back) == {"f", "u"}
    assert back["f"].dtype == np.float32 and np.array_equal(back["f"], state["f"])
    assert back["u"].dtype == np.uint32 and np.array_equal(back["u"], state["u"])
    assert stored_runs.stored_positions(wb.db, run) == {7}


def test_latest_and_findings(wb: Workbench) -> None:
    project_id = _project(wb)
    frame_ids = _records(wb)
    older = stored_runs.begin(wb.db, project_id, "duplicates", {"kind": "exact"}, "1")
    stored_runs.finish(wb.db, older, {})
    lexical = stored_runs.begin(wb.db, project_id, "duplicates", {"kind": "lexical"}, "1")
    stored_runs.finish(wb.db, lexical, {})
    newer = stored_runs.begin(wb.db, project_id, "duplicates", {"kind": "exact"}, "2")
    unfinished = stored_runs.begin(wb.db, project_id, "duplicates", {"kind": "exact"}, "3")
    with wb.db.session() as s:
        found = stored_runs.latest(s, project_id, "duplicates", kind="exact")
        assert found is not None and found.id == older.id  # done runs only
    stored_runs.finish(wb.db, newer, {})
    with wb.db.session() as s:
        found = stored_runs.latest(s, project_id, "duplicates", kind="exact")
        assert found is not None and found.id == newer.id != unfinished.id
        assert stored_runs.latest(s, project_id, "duplicates", kind="semantic") is None
        assert stored_runs.latest(s, project_id, "selection") is None
        rows = [
            {"record_id": frame_ids[2], "score": 0.5, "group_no": 0, "mixed": True},
            {"record_id": frame_ids[0], "given": ["a", "b"], "suggested": "c"},
        ]
        stored_runs.write_findings(s, newer.id, "exact", rows)
        stored_runs.write_findings(s, newer.id, "other", rows[:1])
    with wb.db.session() as s:
        stored_runs.write_findings(s, newer.id, "exact", list(reversed(rows)))  # replaces
    with wb.db.session() as s:
        found_rows = s.execute(
            select(Finding)
            .where(Finding.run_id == newer.id)
            .order_by(Finding.kind, Finding.position)
        ).scalars()
        got = [
            (f.kind, f.position, f.record_id, f.score, f.group_no, f.given, f.suggested, f.mixed)
            for f in found_rows
        ]
    assert got == [
        ("exact", 0, frame_ids[0], None, None, ["a", "b"], "c", False),
        ("exact", 1, frame_ids[2], 0.5, 0, None, None, True),
        ("other", 0, frame_ids[2], 0.5, 0, None, None, True),
    ]


def _records(wb: Workbench) -> list[int]:
    wb.import_dataframe(pd.DataFrame({"text": ["a", "b", "c"]}), "runs")
    with wb.db.session() as s:
        return list(s.scalars(select(Record.id).order_by(Record.id)))
