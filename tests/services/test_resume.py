"""Kill and resume, on SQLite and PostgreSQL: a coreset selection and a lexical duplicates
run start in another process (a Workbench on the same database and data dir), which is
killed (SIGKILL) once the run has stored some of its chunks and while it waits before the
next; the same run in this process then goes on from the stored chunks without computing
them again, ends with the result an uninterrupted run gives, and a third run is the stored
one, computing nothing.

The other process stalls after its ``STALL_AFTER``-th stored chunk, so that the kill lands
mid-way whatever the machine's speed; chunks are made small through the services' module
constants (k-center stores its state after every round here)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.algorithms import near_duplicates as groups_of
from assay.algorithms import selection as selectors
from assay.services import embeddings, near_duplicates, projects, selection, stored_runs
from assay.storage.models import AnalysisRun, DataSlice, Finding, Record, RunChunk

PROJECT = "resume"
RECORDS = 1500
MINHASH_CHUNK = 100  # 15 chunks of texts
STALL_AFTER = {"selection": 2, "duplicates": 4}  # chunks stored before the other process stalls
CORESET = {"strategy": "coreset", "size": 120, "seed": 5}
# k-center rounds pick among this many candidates (1,024 by default: at this size, one round
# would pick all); its picks are greedy's whatever the number, so many small rounds here.
CANDIDATES = 8

_CHILD = """
import sys, time
from assay import Workbench
from assay.algorithms import selection as selectors
from assay.services import near_duplicates, selection, stored_runs

selection.CHECKPOINT_EVERY = 1
selectors._CANDIDATES = {candidates}
near_duplicates.MINHASH_CHUNK = {chunk}
store = stored_runs.store_chunk
stored = []

def store_then_stall(*args, **kwargs):
    store(*args, **kwargs)
    stored.append(1)
    if len(stored) >= {stall}:
        time.sleep(300)  # the test kills this process here

stored_runs.store_chunk = store_then_stall
workbench = Workbench()
job = {call}
print("the run ended before the kill:", job["status"], job["error"], file=sys.stderr)
sys.exit(3)
"""


def _texts(seed: int = 0) -> list[str]:
    """Texts of 30 random words; every tenth one is the one before with a word changed."""
    rng = random.Random(seed)
    vocabulary = [f"w{n:04d}" for n in range(4000)]
    texts: list[str] = []
    for n in range(RECORDS):
        words = [rng.choice(vocabulary) for _ in range(30)]
        if n % 10 == 9:
            words = texts[-1].split(" ")
            words[rng.randrange(30)] = "changed"
        texts.append(" ".join(words))
    return texts


@pytest.fixture
def project(wb: Workbench) -> str:
    frame = pd.DataFrame({"text": _texts(), "__topic__MANUAL": ["a", "b"] * 10 + [None] * 1480})
    wb.import_dataframe(frame, PROJECT)
    return PROJECT


def _chunks(wb: Workbench) -> int:
    with wb.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(RunChunk)) or 0)


def _kill_mid_way(wb: Workbench, kind: str, call: str) -> AnalysisRun:
    """Start ``call`` (Python using ``workbench``) in another process on this workbench's
    database and data dir; SIGKILL it once its run stored ``STALL_AFTER[kind]`` chunks;
    return the run's row as the kill left it."""
    env = {
        **os.environ,
        "ASSAY_DATA_DIR": str(wb.settings.data_dir),
        "ASSAY_DATABASE_URL": wb.settings.resolved_database_url(),
    }
    code = _CHILD.format(
        chunk=MINHASH_CHUNK, stall=STALL_AFTER[kind], call=call, candidates=CANDIDATES
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while _chunks(wb) < STALL_AFTER[kind]:
            if child.poll() is not None:
                _, err = child.communicate()
                pytest.fail(f"the other process ended ({child.returncode}): {err.decode()}")
            assert time.monotonic() < deadline, "the other process stored no chunks in 60 s"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    with wb.db.session() as s:
        row = s.scalars(select(AnalysisRun).where(AnalysisRun.kind == kind)).one()
        s.expunge(row)
    assert row.status == "running" and row.summary is None  # killed mid-way
    assert _chunks(wb) == STALL_AFTER[kind]
    return row


@pytest.fixture
def stored_positions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The positions of the chunks this process stores (each stored as before)."""
    positions: list[int] = []
    store = stored_runs.store_chunk

    def recording(
        db: Any, run: stored_runs.Run, position: int, arrays: Mapping[str, np.ndarray]
    ) -> None:
        positions.append(position)
        store(db, run, position, arrays)

    monkeypatch.setattr(stored_runs, "store_chunk", recording)
    yield positions


def test_coreset_killed_mid_way_resumes_from_its_stored_state(
    wb: Workbench, project: str, stored_positions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wb.add_embedding(PROJECT, "text", wait=True)["status"] == "done"
    call = f"workbench.select({PROJECT!r}, wait=True, **{CORESET!r})"
    killed = _kill_mid_way(wb, "selection", call)
    with wb.db.session() as s:
        before = set(s.scalars(select(RunChunk.position).where(RunChunk.run_id == killed.id)))
        assert s.scalar(select(func.count()).select_from(Finding)) == 0
        assert s.scalar(select(func.count()).select_from(DataSlice)) == 0

    monkeypatch.setattr(selection, "CHECKPOINT_EVERY", 1)
    default = selectors._CANDIDATES
    monkeypatch.setattr(selectors, "_CANDIDATES", CANDIDATES)
    job = wb.select(PROJECT, wait=True, **CORESET)  # type: ignore[arg-type]
    assert job["status"] == "done", job["error"]
    result = job["result"]
    assert result is not None
    assert result["run"]["id"] == killed.id and result["run"]["resumed_chunks"] == 1
    assert not result["run"]["reused"]
    # it went on from the newest stored state: no earlier round was made (and stored) again
    assert stored_positions and min(stored_positions) > max(before)

    # the picks of an uninterrupted k-center over the same vectors and centres
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, PROJECT), "text-tfidf-svd")
        vectors = embeddings.load(wb.settings.data_dir, found)
    labeled = [
        int(r["id"]) for r in wb.query(PROJECT, {"task": "topic", "state": "labeled"})["records"]
    ]
    centres = np.searchsorted(vectors.ids, labeled)
    monkeypatch.setattr(selectors, "_CANDIDATES", default)  # the selector as it stands
    rows, scores = selectors.k_center(
        np.asarray(vectors.matrix), CORESET["size"], centres=centres, seed=CORESET["seed"]
    )
    picks = wb.query(
        PROJECT, {"slice": result["slice"]}, order_by=f"slice:{result['slice']}", limit=1000
    )
    assert [int(r["id"]) for r in picks["records"]] == vectors.ids[rows].tolist()
    assert [r["score"] for r in result["records"]] == pytest.approx(scores[:100].tolist(), abs=1e-5)

    stored_positions.clear()
    third = wb.select(PROJECT, wait=True, **CORESET)["result"]  # type: ignore[arg-type]
    assert third is not None and third["run"]["reused"] and third["run"]["resumed_chunks"] == 0
    assert stored_positions == []  # nothing computed
    assert {k: v for k, v in third.items() if k != "run"} == {
        k: v for k, v in result.items() if k != "run"
    }


def test_lexical_duplicates_killed_mid_way_resume_from_stored_chunks(
    wb: Workbench,
    project: str,
    stored_positions: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    killed = _kill_mid_way(
        wb, "duplicates", f"workbench.find_duplicates({PROJECT!r}, kind='lexical', wait=True)"
    )
    monkeypatch.setattr(near_duplicates, "MINHASH_CHUNK", MINHASH_CHUNK)
    computed: list[int] = []
    signatures_of: Callable[[list[str]], dict[str, np.ndarray]] = near_duplicates.signatures_of

    def counting(texts: list[str]) -> dict[str, np.ndarray]:
        computed.append(len(texts))
        return signatures_of(texts)

    monkeypatch.setattr(near_duplicates, "signatures_of", counting)
    result = wb.find_duplicates(PROJECT, kind="lexical", wait=True)["result"]
    assert result is not None
    chunks = -(-RECORDS // MINHASH_CHUNK)
    stalled = STALL_AFTER["duplicates"]
    assert result["run"]["id"] == killed.id and result["run"]["resumed_chunks"] == stalled
    assert len(computed) == chunks - stalled  # the stored chunks were read back
    assert sorted(stored_positions) == list(range(stalled, chunks))

    # the groups of an uninterrupted run: the algorithms over every text at once
    with wb.db.session() as s:
        rows = s.execute(select(Record.id, Record.data).order_by(Record.id)).all()
    ids, texts = [int(r[0]) for r in rows], [str(r[1]["text"]) for r in rows]
    assert sorted(texts) == sorted(_texts())
    i, j, _ = groups_of.lsh_pairs(groups_of.minhash(texts), threshold=0.8)
    group = groups_of.groups_from_pairs(len(texts), i, j)
    expected: dict[int, set[int]] = {}
    for record_id, number in zip(ids, group.tolist(), strict=True):
        if number >= 0:
            expected.setdefault(number, set()).add(record_id)
    found = wb.duplicate_groups(PROJECT, kind="lexical", limit=1000)["page"]
    assert len(found) == len(expected) >= RECORDS // 10
    assert {frozenset(m["id"] for m in g["records"]) for g in found} == {
        frozenset(members) for members in expected.values()
    }

    computed.clear()
    stored_positions.clear()
    third = wb.find_duplicates(PROJECT, kind="lexical", wait=True)["result"]
    assert third is not None and third["run"]["reused"] and third["run"]["resumed_chunks"] == 0
    assert computed == [] and stored_positions == []  # nothing computed
    assert third["groups"] == result["groups"] == len(expected)
