"""Weak supervision: combine the votes of a task's heuristics into one label per record with
a label model (``algorithms.label_models``), stored as the source ``weak_supervision``.

The label matrix has a row per record with at least one vote and a column per heuristic.
Records without votes get no weakly supervised label. Ties are not broken at random for
stored labels: a record whose top classes tie gets none (``tie_break="abstain"``), so a
rerun on the same votes gives the same labels. A run replaces the previous one's labels in one
transaction. Classification tasks only, for now.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assay.algorithms import label_models
from assay.errors import ValidationError
from assay.services import heuristics as heuristic_service
from assay.services import tasks as task_service
from assay.storage.models import Annotation, Heuristic, LabelingTask, core_table, utcnow

SOURCE = "weak_supervision"


def run(
    session: Session,
    task: LabelingTask,
    *,
    model: str = label_models.DEFAULT_MODEL,
    names: list[str] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit ``model`` on the votes of the task's heuristics (``names``; all that ran when
    None), store its labels with their confidence, and say what it did."""
    if task.task_type != "classification":
        raise ValidationError(
            f"weak supervision of {task.task_type} tasks is not built yet; task {task.name!r}",
            task=task.name,
        )
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
    labels = task_service.labels(session, task)
    column = {str(h.id): j for j, h in enumerate(chosen)}
    klass = {label.id: i for i, label in enumerate(labels)}
    votes = session.execute(
        select(Annotation.record_id, Annotation.source_id, Annotation.label_id).where(
            Annotation.task_id == task.id,
            Annotation.source == heuristic_service.SOURCE,
            Annotation.source_id.in_(column),
        )
    ).all()
    record_ids = np.unique(np.fromiter((v[0] for v in votes), np.int64, len(votes)))
    matrix = np.full((len(record_ids), len(chosen)), -1, dtype=np.int64)
    if votes:
        rows = np.searchsorted(record_ids, [v[0] for v in votes])
        matrix[rows, [column[v[1]] for v in votes]] = [klass[v[2]] for v in votes]
    gold = _reference(session, task, record_ids, klass)
    try:  # the model's own checks say what is wrong with a name or a parameter
        estimator = label_models.make_model(model, cardinality=len(labels), **(params or {}))
        estimator.fit(matrix, gold)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"label model {model!r}: {exc}", model=model) from exc
    predicted = estimator.predict(matrix, tie_break="abstain")
    if isinstance(estimator, label_models.WeightedVote):
        confidence = estimator.confidence(matrix)
    else:
        confidence = estimator.predict_proba(matrix).max(axis=1)
    now = utcnow()
    rows_out = [
        {
            "record_id": int(record_ids[i]),
            "task_id": task.id,
            "label_id": labels[int(predicted[i])].id,
            "source": SOURCE,
            "source_id": model,
            "annotator": "",
            "span_start": None,
            "span_end": None,
            "confidence": float(confidence[i]),
            "is_gold": False,
            "is_reference": False,
            "created_at": now,
        }
        for i in np.flatnonzero(predicted >= 0)
    ]
    session.execute(
        delete(Annotation).where(Annotation.task_id == task.id, Annotation.source == SOURCE)
    )
    for start in range(0, len(rows_out), 5000):
        session.execute(insert(core_table(Annotation)), rows_out[start : start + 5000])
    session.flush()
    return {
        "task": task.name,
        "model": model,
        "heuristics": [h.name for h in chosen],
        "records_with_votes": len(record_ids),
        "labeled": len(rows_out),
        "ties": int((predicted < 0).sum()),
        "finished_at": now.isoformat(),
    }


def _reference(
    session: Session, task: LabelingTask, record_ids: np.ndarray, klass: dict[int, int]
) -> np.ndarray:
    """The reference manual label's class of each record (-1 where none): the precisions of
    the weighted vote are estimated from them."""
    gold = np.full(len(record_ids), -1, dtype=np.int64)
    rows = session.execute(
        select(Annotation.record_id, Annotation.label_id).where(
            Annotation.task_id == task.id,
            Annotation.source == "manual",
            Annotation.is_reference.is_(True),
        )
    ).all()
    if rows and len(record_ids):
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        at = np.searchsorted(record_ids, ids)
        inside = (at < len(record_ids)) & (record_ids[np.minimum(at, len(record_ids) - 1)] == ids)
        gold[at[inside]] = np.array([klass[r[1]] for r in rows], dtype=np.int64)[inside]
    return gold
