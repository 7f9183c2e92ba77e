"""Weak supervision: combine the votes of a task's heuristics into one label per record with
a label model (``algorithms.label_models``), stored as the source ``weak_supervision``.

The votes are read with one query into arrays. Records without votes get no weakly
supervised label. Ties are not broken at random for stored labels (``tie_break="abstain"``),
so a rerun on the same votes gives the same labels:

- **classification**: a label matrix (a row per record with a vote, a column per heuristic);
  a record whose top classes tie gets no label.
- **multi-label**: one binary problem per label (``MultiLabel``). A heuristic says "applies"
  for the labels it returned on a record and "does not apply" for the labels it returned
  elsewhere but not here; labels it never returns it abstains on. A label applies where the
  model says so (a tie: it does not); the confidence is that label's probability.
- **extraction**: span votes aggregated per token, overlaps resolved and spans rebuilt
  (``aggregate_spans``); each span's confidence is its label's mean token probability.

A run replaces the previous one's labels in one transaction and records what it did (model,
parameters, the heuristics and their code versions, counts, timings) on its job, in the same
transaction: :func:`last_run` finds it per task and says whether it is stale.
"""

from __future__ import annotations

import time
import typing
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Integer, cast, delete, func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import label_models
from assay.errors import ValidationError
from assay.runtime.job_runner import JobProgress
from assay.services import annotating, projects
from assay.services import heuristics as heuristic_service
from assay.services import tasks as task_service
from assay.services.names import unstorable
from assay.storage import bulk
from assay.storage.db import Database
from assay.storage.models import Annotation, Heuristic, Job, LabelingTask, Record, utcnow

SOURCE = "weak_supervision"
JOB_KIND = "weak_supervision"
READ_BLOCK = 100_000  # votes converted to an array at a time
IntArray = np.ndarray


def run_job(
    db: Database,
    project: str,
    task: str,
    *,
    model: str,
    names: list[str] | None,
    params: dict[str, Any] | None,
    progress: JobProgress,
) -> dict[str, Any]:
    """Weak supervision as a long job: :func:`run` in one transaction, which also writes
    the run's info on the job."""
    progress(0.1, f"fitting {model}")
    with db.session() as s:
        found = task_service.get(s, projects.get(s, project), task)
        return run(s, found, model=model, names=names, params=params, job_id=progress.job_id)


def run(
    session: Session,
    task: LabelingTask,
    *,
    model: str = label_models.DEFAULT_MODEL,
    names: list[str] | None = None,
    params: dict[str, Any] | None = None,
    job_id: int | None = None,
) -> dict[str, Any]:
    """Fit ``model`` on the votes of the task's heuristics (``names``; all that ran when
    None), store its labels with their confidence, and say what it did (also on the job
    ``job_id``, in this transaction)."""
    problem = unstorable(params or {}, "params")
    if problem is not None:  # NaN passes a range check; no database stores it the same way
        raise ValidationError(f"label model {model!r}: {problem[0]} is {problem[1]}", model=model)
    chosen = _chosen(session, task, names)
    labels = task_service.labels(session, task)
    started = time.perf_counter()
    votes = _read_votes(session, task, chosen, [lb.id for lb in labels])
    read = time.perf_counter()
    scopes = tuple(heuristic_service.kind_of(h.kind).statistics_records(session, h) for h in chosen)
    fit = _Fit(session, task, votes, len(chosen), len(labels), model, params, scopes)
    try:  # the model's own checks say what is wrong with a name or a parameter
        result = _FITS[task.task_type](fit)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"label model {model!r}: {exc}", model=model) from exc
    _check_confidences(model, result)
    predicted = time.perf_counter()
    now = utcnow()
    stored = _store(session, task, model, [lb.id for lb in labels], result, now)
    done = time.perf_counter()
    info = {
        "task": task.name,
        "task_id": task.id,
        "task_type": task.task_type,
        "model": model,
        "params": params or {},
        "selection": "all" if names is None else "named",
        "heuristics": [h.name for h in chosen],
        "used": [
            {
                "id": h.id,
                "name": h.name,
                "code_version": (h.last_run or {}).get("code_version", h.code_version),
                "ran_at": (h.last_run or {}).get("finished_at"),
            }
            for h in chosen
        ],
        "records_with_votes": len(votes["records"]),
        "labeled": len(np.unique(result["record"])) if stored else 0,
        "labels": stored,
        "ties": result["ties"],
        "finished_at": now.isoformat(),
        "seconds": {
            "read_votes": round(read - started, 3),
            "fit": round(result["fit_seconds"], 3),
            "predict": round(predicted - read - result["fit_seconds"], 3),
            "store": round(done - predicted, 3),
        },
    }
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is not None:
            job.result = info
    session.flush()
    return info


def _chosen(session: Session, task: LabelingTask, names: list[str] | None) -> list[Heuristic]:
    found = list(
        session.scalars(
            select(Heuristic).where(Heuristic.task_id == task.id).order_by(Heuristic.name)
        )
    )
    if names is not None:
        unknown = sorted(set(names) - {h.name for h in found})
        if unknown:
            raise ValidationError(
                f"task {task.name!r} has no heuristics named {', '.join(map(repr, unknown))}",
                task=task.name,
            )
        found = [h for h in found if h.name in names]
    chosen = [h for h in found if h.last_run is not None]
    if not chosen:
        raise ValidationError(
            f"task {task.name!r} has no heuristic that has run: run heuristics first",
            task=task.name,
        )
    return chosen


def _read_votes(
    session: Session, task: LabelingTask, chosen: list[Heuristic], label_ids: list[int]
) -> dict[str, IntArray]:
    """The chosen heuristics' votes as arrays ``record``, ``source`` (column), ``label``
    (class index), ``start``, ``end`` (-1 without a span), ordered by record, with
    ``records`` (the distinct records) and ``row`` (each vote's index there); one query."""
    ids = np.array(sorted(h.id for h in chosen), dtype=np.int64)
    column_of = {h.id: j for j, h in enumerate(chosen)}
    columns = np.array([column_of[int(i)] for i in ids], dtype=np.int64)
    labels = np.array(label_ids, dtype=np.int64)
    source = cast(Annotation.source_id, Integer)
    where = (
        Annotation.task_id == task.id,
        Annotation.source == heuristic_service.SOURCE,
        Annotation.source_id.in_([str(i) for i in ids]),
    )
    # Without spans, a vote travels as one integer (record, heuristic, label packed): the
    # driver's cost is per value, and this read dominates a run over millions of votes.
    n_sources = int(ids[-1] - ids[0]) + 1
    n_labels = int(labels.max() - labels.min()) + 1
    top = session.scalar(select(func.max(Record.id))) or 0
    if task.task_type != "extraction" and (top + 1) * n_sources * n_labels < 2**62:
        packed = (
            cast(Annotation.record_id, BigInteger) * n_sources + (source - int(ids[0]))
        ) * n_labels + (Annotation.label_id - int(labels.min()))
        value = _fetch(session, select(packed).where(*where), 1)[:, 0]
        value, label_id = np.divmod(value, n_labels)
        record, source_id = np.divmod(value, n_sources)
        table = np.stack([record, source_id + ids[0], label_id + labels.min()], axis=1)
    else:
        spans = select(
            Annotation.record_id,
            source,
            Annotation.label_id,
            Annotation.span_start,
            Annotation.span_end,
        )
        table = _fetch(session, spans.where(*where), 5)
    table = table[np.argsort(table[:, 0], kind="stable")]
    by_label = np.argsort(labels)
    spans = table.shape[1] == 5
    first = np.ones(len(table), dtype=bool)  # the first vote of each record
    first[1:] = table[1:, 0] != table[:-1, 0]
    return {
        "records": table[first, 0],  # each record with a vote, once
        "row": np.cumsum(first) - 1,  # each vote's position in "records"
        "record": table[:, 0],
        "source": columns[np.searchsorted(ids, table[:, 1])],
        "label": by_label[np.searchsorted(labels[by_label], table[:, 2])],
        "start": table[:, 3] if spans else np.full(len(table), -1, dtype=np.int64),
        "end": table[:, 4] if spans else np.full(len(table), -1, dtype=np.int64),
    }


def _fetch(session: Session, query: Any, width: int) -> IntArray:
    """An integer query's rows as an n x width array, converted a block at a time from the
    driver's rows (no ORM row objects, and never all the Python tuples at once)."""
    blocks = [np.empty((0, width), dtype=np.int64)]
    result = session.connection().execute(query)
    try:
        while rows := result.cursor.fetchmany(READ_BLOCK):
            flat = np.fromiter(chain.from_iterable(rows), np.int64, count=len(rows) * width)
            blocks.append(flat.reshape(-1, width))
    finally:
        result.close()
    return np.concatenate(blocks)


def _reference(session: Session, task: LabelingTask) -> dict[str, IntArray]:
    """The reference manual labels as arrays ``record``, ``label`` (class), ``start``,
    ``end``: weighted votes estimate precisions from them."""
    label_ids = [lb.id for lb in task_service.labels(session, task)]
    rows = session.execute(
        select(
            Annotation.record_id, Annotation.label_id, Annotation.span_start, Annotation.span_end
        ).where(
            Annotation.task_id == task.id,
            Annotation.source == "manual",
            Annotation.is_reference.is_(True),
        )
    ).all()
    klass = {label_id: i for i, label_id in enumerate(label_ids)}
    table = np.array(
        [(r, klass[lb], -1 if s is None else s, -1 if e is None else e) for r, lb, s, e in rows],
        dtype=np.int64,
    ).reshape(-1, 4)
    return {"record": table[:, 0], "label": table[:, 1], "start": table[:, 2], "end": table[:, 3]}


def _check_confidences(model: str, result: dict[str, Any]) -> None:
    """Refuse a run whose model gave a non-finite confidence: PostgreSQL would store NaN,
    SQLite null, and statistics and exports would go wrong on both. Nothing is stored."""
    confidence = np.asarray(result["confidence"], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(confidence))
    if len(bad):
        raise ValidationError(
            f"label model {model!r} gave {len(bad)} non-finite confidence(s) (the first "
            f"{confidence[bad[0]]} on record {int(result['record'][bad[0]])}); nothing was "
            "stored: check its parameters",
            model=model,
        )


def _reference_rows(
    session: Session, task: LabelingTask, record_ids: IntArray
) -> tuple[IntArray, IntArray]:
    """The reference manual labels of the records that have votes: their rows in
    ``record_ids`` (ascending) and their labels (class indices)."""
    reference = _reference(session, task)
    at = np.searchsorted(record_ids, reference["record"])
    inside = at < len(record_ids)
    inside[inside] = record_ids[at[inside]] == reference["record"][inside]
    return at[inside], reference["label"][inside]


@dataclass(frozen=True)
class _Fit:
    """What fitting a label model on a task's votes takes: ``m`` heuristics (the votes'
    columns), ``k`` labels."""

    session: Session
    task: LabelingTask
    votes: dict[str, IntArray]
    m: int
    k: int
    model: str
    params: dict[str, Any] | None
    # Per column, the records whose manual labels may measure it (None: all): a weighted
    # vote estimates a model heuristic's precision outside its training data only.
    scopes: tuple[IntArray | None, ...] = ()

    def parts(
        self,
    ) -> tuple[Session, LabelingTask, dict[str, IntArray], int, int, str, dict[str, Any] | None]:
        return (self.session, self.task, self.votes, self.m, self.k, self.model, self.params)


def _classify(fit: _Fit) -> dict[str, Any]:
    session, task, votes, m, k, model, params = fit.parts()
    record_ids, rows = votes["records"], votes["row"]
    matrix = np.full((len(record_ids), m), -1, dtype=np.int8 if k < 127 else np.int64)
    matrix[rows, votes["source"]] = votes["label"]
    gold = np.full(len(record_ids), -1, dtype=np.int64)
    estimator = label_models.make_model(model, cardinality=k, **(params or {}))
    if isinstance(estimator, label_models.WeightedVote):
        rows_of, labels_of = _reference_rows(session, task, record_ids)
        gold[rows_of] = labels_of
        _need_reference(task, bool((gold >= 0).any()) or "precisions" in (params or {}))
    started = time.perf_counter()
    estimator.fit(_in_scope(fit, matrix, gold >= 0), gold)
    fitted = time.perf_counter() - started
    if isinstance(estimator, label_models.WeightedVote):
        predicted = estimator.predict(matrix, tie_break="abstain")
        confidence = estimator.confidence(matrix)
    else:
        proba = estimator.predict_proba(matrix)
        predicted = label_models.break_ties(proba, "abstain")
        confidence = proba[np.arange(len(proba)), np.maximum(predicted, 0)]
    keep = predicted >= 0
    return {
        "record": record_ids[keep],
        "label": predicted[keep],
        "start": None,
        "end": None,
        "confidence": confidence[keep],
        "ties": int((~keep).sum()),
        "fit_seconds": fitted,
    }


def _multi_label(fit: _Fit) -> dict[str, Any]:
    session, task, votes, m, k, model, params = fit.parts()
    record_ids, rows = votes["records"], votes["row"]
    n = len(record_ids)
    # Who voted on a record says "does not apply" for the labels it returns elsewhere.
    about = np.zeros((m, k), dtype=bool)
    about[votes["source"], votes["label"]] = True
    fired = np.zeros((n, m), dtype=bool)
    fired[rows, votes["source"]] = True
    Y = np.where(fired[:, :, None] & about[None, :, :], 0, -1).astype(np.int8)
    Y[rows, votes["source"], votes["label"]] = 1
    gold = None
    base = label_models.make_model(model, cardinality=2, **(params or {}))
    if isinstance(base, label_models.WeightedVote):
        rows_of, labels_of = _reference_rows(session, task, record_ids)
        known = np.zeros(n, dtype=bool)
        known[rows_of] = True
        gold = np.where(known[:, None], 0, -1).astype(np.int64) * np.ones((1, k), np.int64)
        gold[rows_of, labels_of] = 1
        _need_reference(task, bool(known.any()) or "precisions" in (params or {}))
    estimator = label_models.MultiLabel(estimator=base)
    started = time.perf_counter()
    estimator.fit(
        Y if gold is None else _in_scope(fit, Y, np.asarray((gold >= 0).any(axis=1))), gold
    )
    fitted = time.perf_counter() - started
    proba = estimator.predict_proba(Y)
    predicted = estimator.predict(Y, tie_break="abstain")
    voted = (Y != -1).any(axis=1)  # records x labels: someone said something about it
    where = np.nonzero(predicted == 1)
    return {
        "record": record_ids[where[0]],
        "label": where[1],
        "start": None,
        "end": None,
        "confidence": proba[where],
        "ties": int(((predicted == -1) & voted).sum()),
        "fit_seconds": fitted,
    }


def _in_scope(fit: _Fit, votes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The votes a weighted vote learns precisions from (a row per record of
    ``fit.votes["records"]``, a column per heuristic): on the records with a manual label
    (``known``) outside a heuristic's scope, its votes abstain, so that a model is not
    measured on the labels it learned."""
    scoped = [(j, scope) for j, scope in enumerate(fit.scopes) if scope is not None]
    if not scoped or not known.any():
        return votes
    votes = votes.copy()
    for j, scope in scoped:
        votes[known & ~np.isin(fit.votes["records"], scope), j] = -1
    return votes


def _extract(fit: _Fit) -> dict[str, Any]:
    session, task, votes, m, k, model, params = fit.parts()
    record_ids, rows = votes["records"], votes["row"]
    per_record: list[list[tuple[int, int, int, int]]] = [[] for _ in record_ids]
    for row, source, label, start, end in zip(
        rows.tolist(),
        votes["source"].tolist(),
        votes["label"].tolist(),
        votes["start"].tolist(),
        votes["end"].tolist(),
        strict=True,
    ):
        per_record[row].append((source, label, start, end))
    given = dict(params or {})
    if model == "weighted" and "precisions" not in given:
        given["precisions"] = _span_precisions(session, task, votes, m, k)
    estimator = label_models.make_model(model, cardinality=max(k, 2), **given)
    started = time.perf_counter()
    spans = label_models.aggregate_spans(
        per_record, n_sources=m, n_labels=k, model=estimator, tie_break="abstain"
    )
    fitted = time.perf_counter() - started  # fit and predict are one step here
    found = [(record_ids[i], span) for i, record_spans in enumerate(spans) for span in record_spans]
    return {
        "record": np.array([r for r, _ in found], dtype=np.int64),
        "label": np.array([s.label for _, s in found], dtype=np.int64),
        "start": np.array([s.start for _, s in found], dtype=np.int64),
        "end": np.array([s.end for _, s in found], dtype=np.int64),
        "confidence": np.array([s.confidence for _, s in found], dtype=np.float64),
        "ties": 0,
        "fit_seconds": fitted,
    }


# Per task type, how the model is fitted and what it labels: arrays ``record``, ``label``,
# ``start``, ``end``, ``confidence``, and ``ties``, ``fit_seconds``.
_FITS: dict[str, Callable[[_Fit], dict[str, Any]]] = {
    "classification": _classify,
    "multi-label": _multi_label,
    "extraction": _extract,
}


def _span_precisions(
    session: Session, task: LabelingTask, votes: dict[str, IntArray], m: int, k: int
) -> np.ndarray:
    """Each heuristic's precision per label on the records with reference spans: the share
    of its spans there that match a reference span exactly (0 without such a span)."""
    reference = _reference(session, task)
    truth = set(
        zip(*(reference[c].tolist() for c in ("record", "label", "start", "end")), strict=True)
    )
    referenced = set(reference["record"].tolist())
    hits: dict[tuple[int, int], int] = defaultdict(int)
    total: dict[tuple[int, int], int] = defaultdict(int)
    for record, source, label, start, end in zip(
        *(votes[c].tolist() for c in ("record", "source", "label", "start", "end")), strict=True
    ):
        if record in referenced:
            total[(source, label)] += 1
            hits[(source, label)] += (record, label, start, end) in truth
    _need_reference(task, bool(total))
    precisions = np.zeros((m, max(k, 2)))
    for (source, label), n in total.items():
        precisions[source, label] = hits[(source, label)] / n
    return precisions


def _need_reference(task: LabelingTask, found: bool) -> None:
    if not found:
        raise ValidationError(
            f"label model 'weighted' weighs each heuristic by its precision against the manual "
            f"labels, and no record of task {task.name!r} with a heuristic's vote has one: "
            "label some of them first (or give params.precisions)",
            task=task.name,
        )


def _store(
    session: Session,
    task: LabelingTask,
    model: str,
    label_ids: list[int],
    result: dict[str, Any],
    now: Any,
) -> int:
    """Replace the task's weak-supervision labels with these, in this transaction."""
    session.execute(
        delete(Annotation).where(Annotation.task_id == task.id, Annotation.source == SOURCE)
    )
    n = len(result["record"])
    if not n:
        return 0
    created = bulk.bound_datetime(session, Annotation.__table__.c.created_at, now)
    no_span = [None] * n
    label_of = np.array(label_ids, dtype=np.int64)
    rows = zip(
        result["record"].tolist(),
        [task.id] * n,
        label_of[result["label"]].tolist(),
        [SOURCE] * n,
        [model] * n,
        [""] * n,
        no_span if result["start"] is None else result["start"].tolist(),
        no_span if result["end"] is None else result["end"].tolist(),
        np.asarray(result["confidence"], dtype=np.float64).tolist(),
        [False] * n,
        [False] * n,
        [created] * n,
        strict=True,
    )
    annotating.insert_many(session, rows)
    return n


def last_run(session: Session, task: LabelingTask) -> documents.WeakSupervisionInfo | None:
    """The task's last weak-supervision run (None before the first), with ``stale``: whether
    a heuristic it used ran, changed or went since, or (when it used all that had run)
    another heuristic of the task has run; ``stale_reasons`` says which."""
    jobs = session.execute(
        select(Job.result)
        .where(Job.kind == JOB_KIND, Job.project_id == task.project_id)
        .order_by(Job.id.desc())
        .execution_options(yield_per=100)
    )
    info = next(
        (r for (r,) in jobs if isinstance(r, dict) and r.get("task_id") == task.id),
        None,
    )
    if info is None:
        return None
    current = {
        h.id: h for h in session.scalars(select(Heuristic).where(Heuristic.task_id == task.id))
    }
    reasons = []
    for used in info["used"]:
        found = current.get(used["id"])
        if found is None:
            reasons.append(f"heuristic {used['name']!r} was deleted")
        elif found.code_version != used["code_version"]:
            reasons.append(f"heuristic {found.name!r} has new code")
        elif (found.last_run or {}).get("finished_at") != used["ran_at"]:
            reasons.append(f"heuristic {found.name!r} ran again")
    if info["selection"] == "all":
        used_ids = {u["id"] for u in info["used"]}
        for h in sorted(current.values(), key=lambda h: h.name):
            if h.id not in used_ids and h.last_run is not None:
                reasons.append(f"heuristic {h.name!r} has run and is not in it")
    # The run's job result, as stored: the document less what is judged now.
    return typing.cast(
        documents.WeakSupervisionInfo, {**info, "stale": bool(reasons), "stale_reasons": reasons}
    )
