"""Training a model of a task, as a job: read the labels, keep the test split out, fit, score on
the split, store the version, and decide whether it goes live.

- **Training data**: the reference manual labels outside the task's test split
  (``services/test_splits.py``: with a named split, the project's ``test`` set); with
  ``with_weak``, also the weakly supervised labels at or above that confidence of records
  without a manual label, except those the test split would hold once labeled. A label a
  reviewer rejected for a record (a ``rejected`` prediction) never trains a model as that
  record's label.
- **Algorithm**: the one asked for, or ``auto``: ``text_models.choose`` by cross-validation
  on the training data only; ``embedding-logreg`` reads a ready embedding of the task's
  text (``services/model_inputs.py``).
- **Decision**: the first version goes live; a later one only when, on the same current test
  split, it beats the live version by ``model_evaluation.compare`` (a paired test on the
  task's metric, no label's recall dropping past the margin). Either way the decision and
  its reason are stored on the version.

Nothing is stored before the fit succeeds but the test split's new sides (which are fixed
anyway); a failed or cancelled training leaves the live model as it was. One training per
task at a time (:func:`queue`). After ``retrain_after`` new manual labels a task that has a
model is trained again (:func:`due`; the Workbench's retrain watcher asks it).
"""

from __future__ import annotations

import hashlib
import math
import time
import typing
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import model_evaluation, text_models
from assay.errors import ArtifactInvalid, Conflict, ValidationError
from assay.runtime.job_runner import Progress
from assay.services import annotating, jobs, model_inputs, model_registry, projects, test_splits
from assay.services import tasks as task_service
from assay.storage.db import Database
from assay.storage.models import (
    Annotation,
    Embedding,
    Job,
    LabelingTask,
    ManualState,
    ModelTask,
    ModelVersion,
    Prediction,
    Project,
)

JOB_KIND = "training"
TASK_TYPES = ("classification", "multi-label")
ALGORITHMS = documents.values(documents.ModelAlgorithm)
WEAK_SOURCE = "weak_supervision"
MIN_TRAINING = 5  # fewer labeled records cannot fit, let alone cross-validate, a model
MIN_TEST = 2  # a split of one record scores 0 or 1 and compares nothing


# --- before the job ---------------------------------------------------------------------------


def check(
    session: Session,
    task: LabelingTask,
    *,
    algorithm: str,
    with_weak: float | None,
    embedding: str | None,
) -> None:
    """What can be refused before a training starts (422): the task's type, the algorithm,
    the threshold, the embedding, and labels that name fewer than two classes."""
    if task.task_type not in TASK_TYPES:
        raise ValidationError(
            f"task {task.name!r} is an {task.task_type} task: training models of classification "
            "and multi-label tasks works now; extraction comes later",
            task=task.name,
        )
    if algorithm not in ALGORITHMS:
        raise ValidationError(
            f"unknown algorithm {algorithm!r}; algorithms: {', '.join(ALGORITHMS)}",
            algorithm=algorithm,
        )
    if with_weak is not None and (
        isinstance(with_weak, bool)
        or not isinstance(with_weak, int | float)
        or not 0 < with_weak <= 1
    ):
        raise ValidationError(
            f"with_weak is a confidence threshold above 0 and at most 1, not {with_weak!r}",
            with_weak=with_weak,
        )
    if algorithm == model_inputs.EMBEDDING_ALGORITHM or embedding is not None:
        model_inputs.embedding_for(
            session, task, embedding, required=algorithm == model_inputs.EMBEDDING_ALGORITHM
        )
    classes = session.scalar(
        select(func.count(func.distinct(Annotation.label_id))).where(
            Annotation.task_id == task.id,
            Annotation.source == documents.MANUAL,
            Annotation.is_reference.is_(True),
        )
    )
    if not classes or classes < 2:
        raise ValidationError(
            f"task {task.name!r} has manual labels of {classes or 'no'} class"
            f"{'' if classes == 1 else 'es'}: a model needs at least two; label more records",
            task=task.name,
        )


def running(session: Session, task: LabelingTask) -> Job | None:
    """The task's training job that is queued or running, if any (its result names the task
    from the moment it is queued)."""
    for job in session.scalars(
        select(Job).where(
            Job.kind == JOB_KIND,
            Job.project_id == task.project_id,
            Job.status.in_(("queued", "running")),
        )
    ):
        if isinstance(job.result, dict) and job.result.get("task_id") == task.id:
            return job
    return None


def queue(
    session: Session,
    project: Project,
    task_name: str,
    *,
    algorithm: str,
    with_weak: float | None,
    embedding: str | None,
) -> int:
    """Create the training job of the task; returns its id. A task that a training job
    serves now is refused (Conflict naming that job); what :func:`check` refuses is refused
    (nothing queued). Records the task's manual-label count, which the retrain trigger
    counts from."""
    task = task_service.get(session, project, task_name)
    state = model_registry.state(session, task, lock=True)  # one queue at a time per task
    busy = running(session, task)
    if busy is not None:
        raise Conflict(
            f"task {task.name!r} is being trained by job {busy.id}: wait for it (or cancel it)",
            task=task.name,
            job=busy.id,
        )
    check(session, task, algorithm=algorithm, with_weak=with_weak, embedding=embedding)
    state.labels_at_training = manual_count(session, task.id)
    job = jobs.create(session, JOB_KIND, project.id, f"training {task.name}")
    job.result = {"task": task.name, "task_id": task.id}
    return job.id


# --- the retrain trigger ----------------------------------------------------------------------


def manual_count(session: Session, task_id: int) -> int:
    """Records of the task with a reference manual label (conflicts have none)."""
    return int(
        session.scalar(
            select(func.count()).where(
                ManualState.task_id == task_id, ManualState.state != "conflict"
            )
        )
        or 0
    )


def due(session: Session, task_id: int) -> bool:
    """Whether the task should be trained again: it has a model version (the loop learns
    again once a first model was trained by hand), ``retrain_after`` is not 0, and it has
    gained at least that many manual labels since the last training was queued."""
    row = session.get(ModelTask, task_id)
    if row is None or row.retrain_after <= 0:
        return False
    if (
        session.scalar(select(ModelVersion.id).where(ModelVersion.task_id == task_id).limit(1))
        is None
    ):
        return False
    return manual_count(session, task_id) - row.labels_at_training >= row.retrain_after


def retrain_options(session: Session, task_id: int) -> dict[str, Any] | None:
    """How a task is trained again: its project and name, and the live version's algorithm,
    threshold and embedding (no live version: ``auto``, no weak labels); None when the task
    is gone."""
    task = task_service.by_id(session, task_id)
    if task is None:
        return None
    project = session.get(Project, task.project_id)
    assert project is not None
    options: dict[str, Any] = {"project": project.name, "task": task.name, "algorithm": "auto"}
    current = model_registry.live(session, task)
    if current is not None:
        options["algorithm"] = current.algorithm
        options["with_weak"] = current.training.get("with_weak")
        options["embedding"] = current.parameters.get("embedding")
    return options


# --- the job ----------------------------------------------------------------------------------


@dataclass
class Examples:
    """The records a training reads: training records (manual first, then weak) with their
    labels, and the test split's records with their reference labels."""

    labels: list[str]
    multi_label: bool
    train: list[int] = field(default_factory=list)
    train_values: list[Any] = field(default_factory=list)
    manual: int = 0
    test: list[int] = field(default_factory=list)
    test_values: list[Any] = field(default_factory=list)

    @property
    def weak(self) -> int:
        return len(self.train) - self.manual

    def targets(self, values: list[Any]) -> np.ndarray:
        """Labels as the algorithms take them: class indices, or a 0/1 matrix."""
        index = {name: i for i, name in enumerate(self.labels)}
        if not self.multi_label:
            return np.array([index[v] for v in values], dtype=np.int64)
        y = np.zeros((len(values), len(self.labels)), dtype=np.int64)
        for row, names in enumerate(values):
            y[row, [index[n] for n in names]] = 1
        return y


def run(
    db: Database,
    project: str,
    task: str,
    *,
    algorithm: str = "auto",
    with_weak: float | None = None,
    embedding: str | None = None,
    data_dir: Path,
    progress: Progress,
    job_id: int | None = None,
) -> dict[str, Any]:
    """Train a model of the task (the training job's body); returns what it did: the new
    version, its headline figures and the promotion decision."""
    progress(0.02, "reading labels")
    inputs = _read(db, project, task, algorithm, with_weak, embedding, data_dir)
    progress(0.2, "choosing an algorithm" if algorithm == "auto" else f"fitting {algorithm}")
    fitted = _fit(inputs, algorithm, progress)
    progress(0.7, "scoring on the test split")
    ex = inputs.examples
    y_test = ex.targets(ex.test_values)
    proba = fitted.classifier.predict_proba(texts=inputs.test_texts, vectors=inputs.test_vectors)
    metrics = typing.cast(
        documents.ModelMetrics,
        model_evaluation.evaluate(y_test, proba, labels=ex.labels, multi_label=ex.multi_label),
    )
    progress(0.8, "comparing with the live model")
    predicted = model_evaluation.predictions(proba, multi_label=ex.multi_label)
    decision, compared = _decide(db, inputs, y_test, predicted, metrics, data_dir)
    progress(0.9, "storing the version")
    return _store(
        db, inputs, fitted, metrics, decision, compared, requested=algorithm, job_id=job_id
    )


@dataclass
class _Inputs:
    """What a training reads from the database, before its long work starts."""

    task_id: int
    with_weak: float | None
    examples: Examples
    train_texts: list[str]
    test_texts: list[str]
    embedding: Embedding | None = None
    train_vectors: np.ndarray | None = None
    test_vectors: np.ndarray | None = None


@dataclass
class _Fitted:
    classifier: text_models.TextClassifier
    cross_validation: dict[str, float]
    seconds: float


def _read(
    db: Database,
    project: str,
    task: str,
    algorithm: str,
    with_weak: float | None,
    embedding: str | None,
    data_dir: Path,
) -> _Inputs:
    with db.session() as s:  # the split's new sides are kept, whatever happens next
        found = task_service.get(s, projects.get(s, project), task)
        check(s, found, algorithm=algorithm, with_weak=with_weak, embedding=embedding)
        examples = gather(s, found, model_registry.state(s, found), with_weak)
    with db.session() as s:
        inputs = _Inputs(
            found.id,
            with_weak,
            examples,
            model_inputs.texts_of(s, found, examples.train),
            model_inputs.texts_of(s, found, examples.test),
        )
        if algorithm in ("auto", model_inputs.EMBEDDING_ALGORITHM):
            inputs.embedding = model_inputs.embedding_for(
                s, found, embedding, required=algorithm == model_inputs.EMBEDDING_ALGORITHM
            )
    if inputs.embedding is not None:
        inputs.train_vectors = model_inputs.vectors_of(
            data_dir, inputs.embedding, examples.train, inputs.train_texts
        )
        inputs.test_vectors = model_inputs.vectors_of(
            data_dir, inputs.embedding, examples.test, inputs.test_texts
        )
    return inputs


def _fit(inputs: _Inputs, algorithm: str, progress: Progress) -> _Fitted:
    ex = inputs.examples
    y = ex.targets(ex.train_values)
    shared: dict[str, Any] = {"labels": ex.labels, "multi_label": ex.multi_label}
    started = time.perf_counter()
    scores: dict[str, float] = {}
    if algorithm == "auto":
        algorithm, scores = text_models.choose(
            inputs.train_texts, y, vectors=inputs.train_vectors, **shared
        )
        progress(0.5, f"fitting {algorithm}")
    reads_vectors = algorithm == model_inputs.EMBEDDING_ALGORITHM
    classifier = text_models.fit(
        algorithm,
        inputs.train_texts,
        y,
        vectors=inputs.train_vectors if reads_vectors else None,
        **shared,
    )
    if reads_vectors:  # serving embeds texts with the embedding that the model was fitted on
        assert inputs.embedding is not None
        classifier.parameters["embedding"] = inputs.embedding.name
        classifier.parameters["embedding_id"] = inputs.embedding.id
    return _Fitted(classifier, scores, time.perf_counter() - started)


def _decide(
    db: Database,
    inputs: _Inputs,
    y_test: np.ndarray,
    predicted: np.ndarray,
    metrics: documents.ModelMetrics,
    data_dir: Path,
) -> tuple[documents.ModelDecision, int | None]:
    """The promotion decision, against the live version scored on the same test split now;
    and the id of the live version it compared with."""
    ex = inputs.examples
    with db.session() as s:
        task = s.get(LabelingTask, inputs.task_id)
        assert task is not None
        state = model_registry.state(s, task)
        metric = typing.cast(documents.ModelMetric, state.metric)
        current = model_registry.live(s, task)
        if current is None:
            return _decision(True, "first model", metric, metrics[metric], None, None, None), None
        try:
            live_model = model_registry.load(s, current)
            live_proba = model_inputs.probabilities(
                s, live_model, inputs.test_texts, data_dir=data_dir, record_ids=ex.test
            )
        except (ArtifactInvalid, ValidationError) as exc:
            reason = (
                f"the live version {current.version} cannot be scored on the test split "
                f"({exc.message}); promote this one by hand if it should serve"
            )
            return _decision(
                False, reason, metric, metrics[metric], None, current.version, None
            ), current.id
        live_predicted = _in_labels(
            model_evaluation.predictions(live_proba, multi_label=ex.multi_label),
            live_model.labels,
            ex.labels,
            y_test,
            multi_label=ex.multi_label,
        )
        compared = model_evaluation.compare(
            y_test,
            predicted,
            live_predicted,
            labels=ex.labels,
            multi_label=ex.multi_label,
            metric=metric,
            alpha=state.alpha,
            recall_margin=state.recall_margin,
        )
        decision = _decision(
            bool(compared["promote"]),
            str(compared["reason"]),
            metric,
            compared["candidate"],
            compared["live"],
            current.version,
            compared["p_value"],
        )
        return decision, current.id


def _decision(
    promoted: bool,
    reason: str,
    metric: documents.ModelMetric,
    candidate: float | None,
    live: float | None,
    live_version: int | None,
    p_value: float | None,
) -> documents.ModelDecision:
    return {
        "promoted": promoted,
        "reason": reason,
        "metric": metric,
        "candidate": None if candidate is None else float(candidate),
        "live": None if live is None else float(live),
        "live_version": live_version,
        "p_value": None if p_value is None else float(p_value),
    }


def _in_labels(
    predicted: np.ndarray,
    theirs: list[str],
    ours: list[str],
    y_true: np.ndarray,
    *,
    multi_label: bool,
) -> np.ndarray:
    """Predictions over one list of labels (the live model's) as predictions over another
    (the task's now): a label the task no longer has is a wrong answer (multi-label: not
    predicted)."""
    if list(theirs) == list(ours):
        return predicted
    index = {name: i for i, name in enumerate(ours)}
    mapped = np.array([index.get(name, -1) for name in theirs], dtype=np.int64)
    if not multi_label:
        found = mapped[predicted]
        return np.where(found >= 0, found, (y_true + 1) % len(ours))
    out = np.zeros((len(predicted), len(ours)), dtype=np.int64)
    for j, target in enumerate(mapped.tolist()):
        if target >= 0:
            out[:, target] = predicted[:, j]
    return out


def _store(
    db: Database,
    inputs: _Inputs,
    fitted: _Fitted,
    metrics: documents.ModelMetrics,
    decision: documents.ModelDecision,
    compared: int | None,
    *,
    requested: str,
    job_id: int | None,
) -> dict[str, Any]:
    """Store the version and, when the decision says so, make it live, in one transaction."""
    ex = inputs.examples
    blob = fitted.classifier.save()
    training: documents.ModelTraining = {
        "records": len(ex.train),
        "manual": ex.manual,
        "weak": ex.weak,
        "with_weak": inputs.with_weak,
        "fingerprint": test_splits.fingerprint(
            ex.train, dict(zip(ex.train, ex.train_values, strict=True))
        ),
        "seconds": round(fitted.seconds, 3),
        # A candidate that no fold could score has no figure (NaN is no JSON).
        "cross_validation": {
            name: float(score)
            for name, score in fitted.cross_validation.items()
            if math.isfinite(score)
        },
    }
    test: documents.ModelTest = {
        "records": len(ex.test),
        "fingerprint": test_splits.fingerprint(ex.test),
    }
    with db.session() as s:
        task = s.get(LabelingTask, inputs.task_id)
        assert task is not None
        state = model_registry.state(s, task, lock=True)
        row = ModelVersion(
            project_id=task.project_id,
            task_id=task.id,
            version=model_registry.next_version(s, task),
            algorithm=fitted.classifier.algorithm,
            requested=requested,
            parameters=fitted.classifier.parameters,
            training=training,
            test=test,
            metrics=metrics,
            size_bytes=len(blob),
            sha256=hashlib.sha256(blob).hexdigest(),
            artifact=blob,
            job_id=job_id,
        )
        s.add(row)
        s.flush()
        if decision["promoted"] and state.live_version_id != compared:
            decision = {
                **decision,
                "promoted": False,
                "reason": "the live version changed while this one trained; train again to "
                "compare with it, or promote this one by hand",
            }
        row.decision = dict(decision)
        if decision["promoted"]:
            model_registry.promote(s, task, row, action="auto", reason=decision["reason"])
        live_now = model_registry.live(s, task)
        return {
            "task": task.name,
            "task_id": task.id,
            "version": row.version,
            "algorithm": row.algorithm,
            "requested": requested,
            "promoted": decision["promoted"],
            "reason": decision["reason"],
            "live_version": live_now.version if live_now is not None else None,
            "training_records": len(ex.train),
            "test_records": len(ex.test),
            "metrics": {name: metrics[name] for name in ("accuracy", "macro_f1", "micro_f1")},
        }


def gather(
    session: Session, task: LabelingTask, state: ModelTask, with_weak: float | None
) -> Examples:
    """The training and test records of the task now, their sides of the test split given
    where new (in this transaction); refuses (422) too few records or one class."""
    labels = [label.name for label in task_service.labels(session, task)]
    ex = Examples(labels, task.task_type == "multi-label")
    labeled = list(
        session.scalars(
            select(ManualState.record_id)
            .where(ManualState.task_id == task.id, ManualState.state != "conflict")
            .order_by(ManualState.record_id)
        )
    )
    values = annotating.reference_values(session, task, labeled)
    in_test = test_splits.assign(session, state, values, values=values)
    rejected = _rejected(session, task)
    for record_id in sorted(values):
        if record_id in in_test:
            ex.test.append(record_id)
            ex.test_values.append(values[record_id])
            continue
        kept = _without(values[record_id], rejected.get(record_id))
        if kept is not None:
            ex.train.append(record_id)
            ex.train_values.append(kept)
    ex.manual = len(ex.train)
    if with_weak is not None:
        _add_weak(session, task, state, with_weak, rejected, ex)
    _check_sizes(task, ex)
    return ex


def _rejected(session: Session, task: LabelingTask) -> dict[int, set[str]]:
    """Per record, the labels reviewers rejected (predictions marked ``rejected``)."""
    found: dict[int, set[str]] = defaultdict(set)
    for record_id, output in session.execute(
        select(Prediction.record_id, Prediction.output).where(
            Prediction.task_id == task.id,
            Prediction.status == "rejected",
            Prediction.record_id.is_not(None),
        )
    ):
        found[record_id].update([output] if isinstance(output, str) else output or [])
    return found


def _without(value: Any, rejected: set[str] | None) -> Any:
    """A record's training label less what was rejected for it: a rejected class drops the
    record (None); rejected labels leave a set (the rest still teach "not this label")."""
    if not rejected:
        return value
    if isinstance(value, str):
        return None if value in rejected else value
    return [name for name in value if name not in rejected]


def _add_weak(
    session: Session,
    task: LabelingTask,
    state: ModelTask,
    threshold: float,
    rejected: dict[int, set[str]],
    ex: Examples,
) -> None:
    """Add the weakly supervised records at or above ``threshold`` (a multi-label record: its
    most confident label) that have no manual label and would not join the test split."""
    manual = select(ManualState.record_id).where(ManualState.task_id == task.id)
    candidates = list(
        session.scalars(
            select(Annotation.record_id)
            .where(
                Annotation.task_id == task.id,
                Annotation.source == WEAK_SOURCE,
                Annotation.confidence >= threshold,
                Annotation.record_id.not_in(manual),
            )
            .distinct()
            .order_by(Annotation.record_id)
        )
    )
    values, confidences = annotating.source_values(session, task, candidates, WEAK_SOURCE)
    held_out = test_splits.would_be_test(session, state, candidates)
    for record_id in candidates:
        confidence = confidences.get(record_id)
        if record_id in held_out or confidence is None or confidence < threshold:
            continue
        kept = _without(values[record_id], rejected.get(record_id))
        if kept is not None:
            ex.train.append(record_id)
            ex.train_values.append(kept)


def _check_sizes(task: LabelingTask, ex: Examples) -> None:
    if len(ex.train) < MIN_TRAINING or len(ex.test) < MIN_TEST:
        raise ValidationError(
            f"task {task.name!r} has {len(ex.train)} labeled record(s) to train on and "
            f"{len(ex.test)} in its test split: a model needs at least {MIN_TRAINING} and "
            f"{MIN_TEST}; label more records",
            task=task.name,
        )
    distinct = {v if isinstance(v, str) else tuple(v) for v in ex.train_values}
    if len(distinct) < 2:
        raise ValidationError(
            f"the training records of task {task.name!r} (test split excluded) all have one "
            "label: a model needs at least two classes; label more records",
            task=task.name,
        )
