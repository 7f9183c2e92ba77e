"""Resumable runs of selections, splits, quality checks and duplicate searches.

A run is keyed by the fingerprint of its kind, parameters and inputs (``analysis_run``):

- a rerun on unchanged inputs finds the run ``done`` and returns its stored summary at once
  (``reused``);
- a run whose process died finds it ``running`` and goes on from its stored chunks: each
  chunk's result (numpy arrays) is written in its own transaction as soon as it is done
  (``run_chunk``), and read back instead of recomputed (``resumed_chunks``);
- a failed run is tried afresh (its chunks are kept: they were right).

The chunk work goes through the executor's ``map`` (on Dask workers when one is configured),
so ``compute`` must be a top-level function of plain values.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay import documents
from assay.runtime.job_runner import Progress, no_progress
from assay.storage.db import Database
from assay.storage.models import AnalysisRun, Finding, RunChunk, utcnow

T = TypeVar("T")
Arrays = dict[str, np.ndarray]


@dataclass
class Run:
    """A run being made (or found made): its row id, and what was reused."""

    id: int
    kind: str
    fingerprint: str
    done: bool  # found done: its summary is stored, nothing to compute
    reused: bool = False
    resumed_chunks: int = 0


def fingerprint(*parts: Any) -> str:
    """sha256 of the parts: JSON-able values (canonical JSON), bytes and numpy arrays (their
    dtype, shape and bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"array:{array.dtype.str}:{array.shape}".encode())
            digest.update(array.tobytes())
        elif isinstance(part, bytes | bytearray | memoryview):
            digest.update(b"bytes:")
            digest.update(bytes(part))
        else:
            digest.update(b"json:")
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def begin(db: Database, project_id: int, kind: str, params: Mapping[str, Any], inputs: str) -> Run:
    """The run of ``kind`` with these parameters over inputs of fingerprint ``inputs``:
    found done (``reused``), found unfinished (resumed from its chunks), or new."""
    key = fingerprint(kind, dict(params), inputs)
    with db.session() as s:
        row = _find(s, project_id, kind, key)
        if row is None:
            try:
                with s.begin_nested():
                    row = AnalysisRun(
                        project_id=project_id,
                        kind=kind,
                        fingerprint=key,
                        params=dict(params),
                        status="running",
                    )
                    s.add(row)
                    s.flush()
            except IntegrityError:  # another process began it meanwhile
                row = _find(s, project_id, kind, key)
                assert row is not None
        if row.status == "done":
            return Run(row.id, kind, key, done=True, reused=True)
        row.status, row.error, row.finished_at = "running", None, None
        return Run(row.id, kind, key, done=False)


def _find(s: Session, project_id: int, kind: str, key: str) -> AnalysisRun | None:
    return s.scalars(
        select(AnalysisRun).where(
            AnalysisRun.project_id == project_id,
            AnalysisRun.kind == kind,
            AnalysisRun.fingerprint == key,
        )
    ).one_or_none()


def pack(arrays: Mapping[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    save: Any = np.savez
    save(out, **{name: np.asarray(value) for name, value in arrays.items()})
    return out.getvalue()


def unpack(data: bytes) -> Arrays:
    with np.load(io.BytesIO(data), allow_pickle=False) as found:
        return {name: found[name] for name in found.files}


def load_chunk(db: Database, run: Run, position: int) -> Arrays | None:
    """A chunk's stored result, or None."""
    with db.session() as s:
        data = s.scalar(
            select(RunChunk.data).where(RunChunk.run_id == run.id, RunChunk.position == position)
        )
    return None if data is None else unpack(data)


def store_chunk(db: Database, run: Run, position: int, arrays: Mapping[str, np.ndarray]) -> None:
    """Store a chunk's result in its own transaction (replacing one stored before)."""
    data = pack(arrays)
    with db.session() as s:
        s.execute(delete(RunChunk).where(RunChunk.run_id == run.id, RunChunk.position == position))
        s.execute(insert(RunChunk), [{"run_id": run.id, "position": position, "data": data}])


def stored_positions(db: Database, run: Run) -> set[int]:
    with db.session() as s:
        return set(s.scalars(select(RunChunk.position).where(RunChunk.run_id == run.id)))


def chunked(
    db: Database,
    run: Run,
    items: Sequence[T],
    compute: Callable[[T], Mapping[str, np.ndarray]],
    *,
    executor: Any = None,
    progress: Progress = no_progress,
    message: str = "chunk",
    offset: int = 0,
) -> list[Arrays]:
    """``compute(item)`` of each item, in order: the chunks stored by an earlier attempt of
    this run are read back (counted in ``run.resumed_chunks``), the others computed through
    the executor's ``map`` and stored one by one as they finish. ``offset``: the position of
    the first item (a run with several chunked steps gives each its own range)."""
    done = stored_positions(db, run)
    todo = [n for n in range(len(items)) if offset + n not in done]
    results: dict[int, Arrays] = {}
    for n in range(len(items)):
        if offset + n in done:
            found = load_chunk(db, run, offset + n)
            assert found is not None
            results[n] = found
            run.resumed_chunks += 1
    mapped: Iterable[Mapping[str, np.ndarray]]
    work = [items[n] for n in todo]
    mapped = executor.map(compute, work) if executor is not None else map(compute, work)
    total = max(len(items), 1)
    progress(len(results) / total, f"{message} {len(results)}/{len(items)}")
    for n, arrays in zip(todo, mapped, strict=True):
        store_chunk(db, run, offset + n, arrays)
        results[n] = {name: np.asarray(value) for name, value in arrays.items()}
        progress(len(results) / total, f"{message} {len(results)}/{len(items)}")
    return [results[n] for n in range(len(items))]


def finish(db: Database, run: Run, summary: Mapping[str, Any]) -> None:
    """Mark the run done with its summary (what a rerun returns)."""
    with db.session() as s:
        row = s.get(AnalysisRun, run.id)
        if row is not None:
            row.status, row.summary, row.finished_at = "done", dict(summary), utcnow()


def fail(db: Database, run: Run, message: str) -> None:
    with db.session() as s:
        row = s.get(AnalysisRun, run.id)
        if row is not None and row.status != "done":
            row.status, row.error, row.finished_at = "failed", message, utcnow()


def summary(db: Database, run: Run) -> dict[str, Any]:
    with db.session() as s:
        row = s.get(AnalysisRun, run.id)
        assert row is not None and row.summary is not None
        return dict(row.summary)


def describe(session: Session, row: AnalysisRun, run: Run | None = None) -> documents.RunInfo:
    chunks = session.scalar(select(func.count()).where(RunChunk.run_id == row.id)) or 0
    return {
        "id": row.id,
        "kind": cast(documents.RunKind, row.kind),
        "status": cast(documents.RunStatus, row.status),
        "fingerprint": row.fingerprint,
        "params": dict(row.params),
        "reused": bool(run and run.reused),
        "resumed_chunks": run.resumed_chunks if run else 0,
        "chunks": int(chunks),
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def with_run(session: Session, run: Run, summary: Mapping[str, Any]) -> dict[str, Any]:
    """A run's result document: its stored ``summary`` with ``run`` (:func:`describe`, as this
    call got it: reused, resumed chunks)."""
    row = session.get(AnalysisRun, run.id)
    assert row is not None
    return {**summary, "run": describe(session, row, run)}


def latest(session: Session, project_id: int, kind: str, /, **params: Any) -> AnalysisRun | None:
    """The newest done run of ``kind`` whose parameters include ``params`` (``kind`` is
    positional only: a duplicates run has a parameter named ``kind`` too)."""
    rows = session.scalars(
        select(AnalysisRun)
        .where(
            AnalysisRun.project_id == project_id,
            AnalysisRun.kind == kind,
            AnalysisRun.status == "done",
        )
        .order_by(AnalysisRun.finished_at.desc(), AnalysisRun.id.desc())
    )
    for row in rows:
        if all(row.params.get(k) == v for k, v in params.items()):
            return row
    return None


def write_findings(
    session: Session, run_id: int, kind: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """A ranked list of the run (``rows`` in order: ``record_id`` and optionally ``score``,
    ``group_no``, ``given``, ``suggested``, ``mixed``), replacing what it held."""
    session.execute(delete(Finding).where(Finding.run_id == run_id, Finding.kind == kind))
    batch = [
        {
            "run_id": run_id,
            "kind": kind,
            "position": n,
            "record_id": int(row["record_id"]),
            "score": None if row.get("score") is None else float(row["score"]),
            "group_no": None if row.get("group_no") is None else int(row["group_no"]),
            "given": row.get("given"),
            "suggested": row.get("suggested"),
            "mixed": bool(row.get("mixed", False)),
        }
        for n, row in enumerate(rows)
    ]
    for start in range(0, len(batch), 5000):
        session.execute(insert(Finding), batch[start : start + 5000])
