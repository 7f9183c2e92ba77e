"""Which labels are probably wrong: suspected label errors among a task's manual labels
(confident learning on out-of-fold probabilities with the embedding's neighbourhood), records
where manual and weak labels disagree with high confidence, and annotator disagreement; each
a ranked static slice to review in the labeling suite. Resumable: the folds are chunks.

- ``label_error``: a logistic regression on the embedding's vectors of the labeled records,
  one fold per stored chunk, gives each record probabilities from a model that never saw it;
  the label distribution of its nearest labeled neighbours is another chunk; both go to
  ``algorithms.label_quality.label_issues`` (given, suggested, score).
- ``weak_disagreement``: the manual reference against the weak-supervision label, where the
  weak label's confidence reaches ``weak_threshold`` (given = manual, suggested = weak,
  score = the weak confidence).
- ``annotator_disagreement``: records whose annotators (gold labels left out) gave different
  labels (given = the reference, null in a conflict; score = one minus the share of the most
  common label).

Each list is stored as findings of the run and as the static slice
``quality-<task>-<list with - for _>`` in rank order, replaced by every run of the task.
Classification tasks only for now: multi-label (one-vs-rest per label) comes later.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import label_quality as quality
from assay.errors import NotFound, ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import (
    annotating,
    embeddings,
    projects,
    queries,
    search,
    slices,
    splits,
    stored_runs,
)
from assay.services import tasks as task_service
from assay.services.database import Database
from assay.storage.models import (
    Annotation,
    Embedding,
    Finding,
    LabelingTask,
    Project,
)

JOB_KIND = "quality"
LISTS = documents.values(documents.QualityList)
WEAK_SOURCE = "weak_supervision"
FOLD_SEED = 0  # the folds are fixed: a rerun on the same labels scores the same


def slice_name(task: str, list_name: str) -> str:
    """The ranked static slice of one list of a task."""
    return f"quality-{task}-{list_name.replace('_', '-')}"


# --- before the job ------------------------------------------------------------------------


def check(
    session: Session,
    project: Project,
    task: str,
    *,
    embedding: str | None = None,
    folds: int = 5,
    neighbours: int = 10,
    weak_threshold: float = 0.8,
) -> None:
    """Refuse, before any job (422/404, nothing stored): an extraction task, a task with one
    class or too few labels for out-of-fold probabilities, a missing or unready embedding."""
    found = _task(session, project, task)
    _check_options(folds, neighbours, weak_threshold)
    ids = splits.labeled_ids(session, found.id)
    values = annotating.reference_values(session, found, ids)
    classes = sorted(set(values.values()))
    if len(classes) < 2:
        raise ValidationError(
            f"task {found.name!r} has manual labels of "
            + (f"one class ({classes[0]!r})" if classes else "no class")
            + ": finding wrong labels needs labeled records of at least two classes; label "
            "more records; nothing stored",
            task=found.name,
        )
    index = {name: n for n, name in enumerate(classes)}
    _folds(found, np.array([index[v] for v in values.values()], dtype=np.int64), folds)
    if splits.ready_embedding(session, project, embedding, found) is None:
        raise ValidationError(
            f"project {project.name!r} has no ready embedding for the label check of task "
            f"{found.name!r}: add one (assay embed --project {project.name} --attribute "
            "ATTRIBUTE) and let it finish; nothing stored",
            task=found.name,
        )
    for list_name in LISTS:
        name = slice_name(found.name, list_name)
        existing = slices.find(session, project, name)
        if existing is not None and existing.kind != "static":
            raise ValidationError(
                f"project {project.name!r} has a dynamic slice {name!r}, where the label "
                "check keeps its ranked list: rename or delete it; nothing stored",
                slice=name,
            )


def _task(session: Session, project: Project, name: str) -> LabelingTask:
    found = task_service.get(session, project, name)
    if found.task_type == "extraction":
        raise ValidationError(
            f"task {found.name!r} is an extraction task: the label check works on "
            "classification tasks; extraction comes later",
            task=found.name,
        )
    if found.task_type != "classification":
        raise ValidationError(
            f"task {found.name!r} is a {found.task_type} task: the label check works on "
            "classification tasks now; multi-label (one label against the rest) comes later",
            task=found.name,
        )
    return found


def _check_options(folds: int, neighbours: int, weak_threshold: float) -> None:
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= 100:
        raise ValidationError(f"folds must be a whole number from 2 to 100, not {folds!r}")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or neighbours < 1:
        raise ValidationError(f"neighbours must be a whole number >= 1, not {neighbours!r}")
    if (
        isinstance(weak_threshold, bool)
        or not isinstance(weak_threshold, int | float)
        or not 0 < weak_threshold <= 1
    ):
        raise ValidationError(
            f"weak_threshold is a confidence above 0 and at most 1, not {weak_threshold!r}"
        )


def _folds(task: LabelingTask, labels: np.ndarray, folds: int) -> np.ndarray:
    """Each labeled record's fold; too few labels is a 422 saying how many are needed."""
    try:
        return quality.fold_of(labels, folds, seed=FOLD_SEED)
    except ValueError as exc:
        raise ValidationError(
            f"task {task.name!r}: {exc} (with {folds} folds: at least {folds} labeled records, "
            "2 of each class); label more records or use fewer folds; nothing stored",
            task=task.name,
        ) from exc


# --- the job -----------------------------------------------------------------------------


@dataclass
class _Inputs:
    project_id: int
    task: LabelingTask
    embedding: Embedding
    version: int = 0
    classes: list[str] = field(default_factory=list)
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # with a vector
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    features: np.ndarray = field(default_factory=lambda: np.empty((0, 0), np.float32))
    names: list[str] = field(default_factory=list)  # every label of the task, sorted
    weak_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weak_manual: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weak_labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weak_confidence: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))
    vote_ids: list[int] = field(default_factory=list)
    votes: list[list[int]] = field(default_factory=list)
    references: list[str | None] = field(default_factory=list)


def run(
    db: Database,
    project: str,
    task: str,
    *,
    embedding: str | None = None,
    folds: int = 5,
    neighbours: int = 10,
    weak_threshold: float = 0.8,
    data_dir: Path,
    executor: Any = None,
    progress: Progress = no_progress,
) -> documents.QualityResult:
    """The quality job's work: rank, store the lists and their slices, summarize."""
    progress(0.02, "reading the labels")
    inputs = _read(db, project, task, embedding, data_dir)
    params = {
        "task": inputs.task.name,
        "embedding": inputs.embedding.name,
        "folds": folds,
        "neighbours": neighbours,
        "weak_threshold": float(weak_threshold),
    }
    key = stored_runs.fingerprint(
        inputs.classes,
        inputs.ids,
        inputs.labels,
        [inputs.embedding.id, inputs.version],
        inputs.weak_ids,
        inputs.weak_labels,
        inputs.weak_confidence,
        inputs.vote_ids,
        inputs.votes,
        inputs.references,
    )
    run = stored_runs.begin(db, inputs.project_id, JOB_KIND, params, key)
    try:
        if run.done:
            _restore_slices(db, run.id, inputs.task.name, project)
            return _result(db, run, stored_runs.summary(db, run))
        fold = _folds(inputs.task, inputs.labels, folds)
        count = len(inputs.classes)
        chunks = stored_runs.chunked(
            db,
            run,
            [(inputs.features, inputs.labels, count, fold, which) for which in range(folds)],
            fold_chunk,
            executor=executor,
            progress=lambda done, message: progress(0.05 + 0.75 * done, message),
            message="fold",
        )
        probabilities = np.zeros((len(inputs.ids), count), dtype=np.float64)
        for which, found in enumerate(chunks):
            probabilities[fold == which] = found["probabilities"]
        progress(0.8, "the neighbours' labels")
        [near] = stored_runs.chunked(
            db,
            run,
            [(inputs.features, inputs.labels, count, neighbours)],
            neighbour_chunk,
            executor=executor,
            message="neighbours",
            offset=folds,
        )
        progress(0.9, "ranking")
        lists = _lists(inputs, probabilities, near["labels"], float(weak_threshold))
        summary = _store(db, run.id, project, inputs, lists)
        stored_runs.finish(db, run, summary)
    except BaseException as exc:
        stored_runs.fail(db, run, str(exc) or type(exc).__name__)
        raise
    progress(1.0, "done")
    return _result(db, run, summary)


def fold_chunk(item: tuple[np.ndarray, np.ndarray, int, np.ndarray, int]) -> dict[str, np.ndarray]:
    """One fold's out-of-fold probabilities (rows of the fold, in order). Top-level: it may
    run on a Dask worker."""
    features, labels, classes, fold, which = item
    return {
        "probabilities": quality.fold_probabilities(features, labels, classes, fold, which),
    }


def neighbour_chunk(item: tuple[np.ndarray, np.ndarray, int, int]) -> dict[str, np.ndarray]:
    """The label distribution of each labeled record's nearest labeled neighbours."""
    features, labels, classes, neighbours = item
    return {"labels": quality.neighbour_labels(features, labels, classes, neighbours=neighbours)}


def _read(db: Database, project: str, task: str, embedding: str | None, data_dir: Path) -> _Inputs:
    with db.session() as s:
        found_project = projects.get(s, project)
        found = _task(s, found_project, task)
        chosen = splits.ready_embedding(s, found_project, embedding, found)
        if chosen is None:
            raise ValidationError(
                f"project {project!r} has no ready embedding for the label check: add one "
                "(assay embed) and let it finish",
                task=found.name,
            )
        inputs = _Inputs(found_project.id, found, chosen)
        labeled = splits.labeled_ids(s, found.id)
        values = annotating.reference_values(s, found, labeled)
        inputs.classes = sorted(set(values.values()))
        index = {name: n for n, name in enumerate(inputs.classes)}
        inputs.names = sorted(annotating.label_names(s, found).values())
        _read_weak(s, inputs, values)
        _read_votes(s, inputs, values)
    vectors = embeddings.load(data_dir, chosen)
    inputs.version = vectors.version
    ids = np.asarray(sorted(values), dtype=np.int64)
    ids = ids[np.isin(ids, vectors.ids)]  # records imported after the embedding's last run
    inputs.ids = ids
    inputs.labels = np.array([index[values[int(r)]] for r in ids], dtype=np.int64)
    inputs.features = np.asarray(vectors.matrix[search.rows_of(vectors, ids)], dtype=np.float32)
    return inputs


def _read_weak(session: Session, inputs: _Inputs, values: dict[int, Any]) -> None:
    """The labeled records that also have a weak label with a confidence (labels as indices
    into ``inputs.names``)."""
    weak, confidences = annotating.source_values(session, inputs.task, sorted(values), WEAK_SOURCE)
    index = {name: n for n, name in enumerate(inputs.names)}
    rows = [
        (r, index[values[r]], index[weak[r]], float(c))
        for r in sorted(weak)
        if (c := confidences.get(r)) is not None
    ]
    inputs.weak_ids = np.array([r[0] for r in rows], dtype=np.int64)
    inputs.weak_manual = np.array([r[1] for r in rows], dtype=np.int64)
    inputs.weak_labels = np.array([r[2] for r in rows], dtype=np.int64)
    inputs.weak_confidence = np.array([r[3] for r in rows], dtype=np.float64)


def _read_votes(session: Session, inputs: _Inputs, values: dict[int, Any]) -> None:
    """The manual votes (gold labels left out) of records that two or more annotators
    labeled, conflicts included: each annotator's label per record."""
    names = annotating.label_names(session, inputs.task)
    code = {name: n for n, name in enumerate(inputs.names)}
    by_record: dict[int, dict[str, str]] = defaultdict(dict)
    for record_id, annotator, label_id in session.execute(
        select(Annotation.record_id, Annotation.annotator, Annotation.label_id)
        .where(
            Annotation.task_id == inputs.task.id,
            Annotation.source == annotating.MANUAL,
            Annotation.is_gold.is_(False),
        )
        .order_by(Annotation.record_id, Annotation.annotator, Annotation.id)
    ):
        by_record[record_id].setdefault(annotator, names[label_id])
    for record_id, voted in sorted(by_record.items()):
        if len(voted) >= 2:
            inputs.vote_ids.append(record_id)
            inputs.votes.append([code[voted[a]] for a in sorted(voted)])
            reference = values.get(record_id)
            inputs.references.append(reference if isinstance(reference, str) else None)


def _lists(
    inputs: _Inputs, probabilities: np.ndarray, near: np.ndarray, weak_threshold: float
) -> dict[str, list[dict[str, Any]]]:
    """Each list's findings, most suspect first."""
    classes = inputs.classes
    rows, scores, suggested = quality.label_issues(probabilities, inputs.labels, neighbours=near)
    errors = [
        {
            "record_id": int(inputs.ids[row]),
            "score": float(score),
            "given": classes[int(inputs.labels[row])],
            "suggested": classes[int(other)],
        }
        for row, score, other in zip(
            rows.tolist(), scores.tolist(), suggested.tolist(), strict=True
        )
    ]
    rows, scores = quality.weak_disagreement(
        inputs.weak_manual, inputs.weak_labels, inputs.weak_confidence, threshold=weak_threshold
    )
    weak = [
        {
            "record_id": int(inputs.weak_ids[row]),
            "score": float(score),
            "given": inputs.names[int(inputs.weak_manual[row])],
            "suggested": inputs.names[int(inputs.weak_labels[row])],
        }
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True)
    ]
    rows, scores = quality.annotator_disagreement(inputs.votes)
    annotators = [
        {
            "record_id": inputs.vote_ids[row],
            "score": float(score),
            "given": inputs.references[row],
            "suggested": None,
        }
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True)
    ]
    return {
        "label_error": errors,
        "weak_disagreement": weak,
        "annotator_disagreement": annotators,
    }


def _store(
    db: Database,
    run_id: int,
    project: str,
    inputs: _Inputs,
    lists: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The findings and the slices, in one transaction; returns the summary to keep."""
    summaries: list[documents.QualityListSummary] = []
    with db.session() as s:
        found_project = projects.get(s, project)
        for list_name in LISTS:
            rows = lists[list_name]
            stored_runs.write_findings(s, run_id, list_name, rows)
            name = slice_name(inputs.task.name, list_name)
            _replace_slice(s, found_project, name, [int(row["record_id"]) for row in rows])
            summaries.append(
                {
                    "list": cast(documents.QualityList, list_name),
                    "slice": name,
                    "count": len(rows),
                }
            )
    return {"task": inputs.task.name, "embedding": inputs.embedding.name, "lists": summaries}


def _replace_slice(session: Session, project: Project, name: str, ids: list[int]) -> None:
    slices.put_static(
        session, project, name, ids, where="where the label check keeps its ranked list"
    )


def _restore_slices(db: Database, run_id: int, task: str, project: str) -> None:
    """A reused run's lists as the slices (another run of the task may have replaced them,
    or someone deleted one); a slice that already holds its list is left alone."""
    with db.session() as s:
        found_project = projects.get(s, project)
        for list_name in LISTS:
            ids = list(
                s.scalars(
                    select(Finding.record_id)
                    .where(Finding.run_id == run_id, Finding.kind == list_name)
                    .order_by(Finding.position)
                )
            )
            _replace_slice(s, found_project, slice_name(task, list_name), ids)


def _result(db: Database, run: stored_runs.Run, summary: dict[str, Any]) -> documents.QualityResult:
    with db.session() as s:
        return cast(documents.QualityResult, stored_runs.with_run(s, run, summary))


# --- reading the lists -----------------------------------------------------------------------


def page(
    session: Session,
    project: Project,
    task: str,
    *,
    list_name: str = "label_error",
    limit: int = 50,
    cursor: str | None = None,
) -> documents.QualityPage:
    """A page of one list of the task's newest quality run, most suspect first."""
    found = task_service.get(session, project, task)
    if list_name not in LISTS:
        raise ValidationError(
            f"unknown list {list_name!r}; lists: {', '.join(LISTS)}", list=list_name
        )
    if not 1 <= limit <= queries.MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {queries.MAX_LIMIT}", limit=limit)
    row = stored_runs.latest(session, project.id, JOB_KIND, task=found.name)
    if row is None:
        raise NotFound(
            f"task {found.name!r} has no label check yet: run assay quality --project "
            f"{project.name} --task {found.name}",
            task=found.name,
        )
    after = -1
    if cursor:
        position, _record = queries.decode_cursor(cursor)
        if isinstance(position, bool) or not isinstance(position, int):
            raise ValidationError("invalid cursor", cursor=cursor)
        after = position
    mine = (Finding.run_id == row.id) & (Finding.kind == list_name)
    total = int(session.scalar(select(func.count()).select_from(Finding).where(mine)) or 0)
    rows = list(
        session.scalars(
            select(Finding)
            .where(mine, Finding.position > after)
            .order_by(Finding.position)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    stored = search.records_by_id(session, project, [f.record_id for f in rows])
    shown = [f for f in rows if f.record_id in stored]  # not one staged by an import meanwhile
    named = search.scored_records(
        session,
        project,
        [{"id": f.record_id, "score": float(f.score or 0.0), **stored[f.record_id]} for f in shown],
    )
    findings: list[documents.QualityFinding] = [
        {
            "id": record["id"],
            "key": record["key"],
            "position": record["position"],
            "rank": f.position + 1,
            "score": record["score"],
            "given": f.given,
            "suggested": f.suggested,
            "data": record["data"],
        }
        for f, record in zip(shown, named, strict=True)
    ]
    return {
        "run": stored_runs.describe(session, row),
        "task": found.name,
        "list": cast(documents.QualityList, list_name),
        "slice": slice_name(found.name, list_name),
        "total": total,
        "findings": findings,
        "next_cursor": (
            queries.encode_cursor([rows[-1].position, rows[-1].record_id])
            if more and rows
            else None
        ),
    }
