"""Predictions of a task's live model, kept for review, and what review makes of them.

- :func:`predict`: texts or records in, one answer per item from one version (the one
  :class:`assay.services.serving.Serving` holds when the call begins); every item is kept as
  a ``prediction`` row (one bulk insert per call), a share of them (the task's
  ``audit_share``) marked for a blind review by a rule on the prediction's id. ``store``:
  the inputs become records of the project (through the import path) carrying the model's
  answer as a label of source ``model``.
- Confidence: classification, the top label's probability; multi-label, the mean
  probability of the labels chosen (those at or above :data:`THRESHOLD`), or, when none is,
  one minus the highest probability (the confidence that no label applies).
- :func:`page`: the review queue, oldest call first (a call's items share its time, and
  in input order: an id begins with the place in its call), by keyset pages; an audit shows
  no answer (label, confidence, scores) while it is pending.
- :func:`review`: accept, reject or correct. Accepted and corrected labels become the
  reviewer's manual labels of the prediction's record; a rejected prediction stays as
  "not this label" (training never takes it as that label); an audit prediction is answered
  with the reviewer's own label, and counts as accepted when it equals the model's. A
  prediction without a record (texts not stored) keeps its status and given label only.
- :func:`live_accuracy`: the live version's share of reviewed audit predictions it got
  right, with a 95 % Wilson interval.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import model_evaluation
from assay.errors import Conflict, NotFound, ValidationError
from assay.services import (
    annotating,
    importing,
    model_inputs,
    model_registry,
    names,
    projects,
    tasks,
)
from assay.services.files import table_from_records
from assay.services.queries import decode_cursor, encode_cursor
from assay.services.serving import Served, Serving
from assay.storage import bulk
from assay.storage.models import (
    Annotation,
    LabelingTask,
    Prediction,
    Project,
    Record,
    core_table,
    utcnow,
)

MAX_ITEMS = 10_000
"""Items one predict call takes: 10,000 texts embed and score in a few seconds; more belong
in a batch job (the API also caps the body's bytes)."""

THRESHOLD = 0.5
"""Multi-label: a label is predicted when its probability is at least this."""

SOURCE = "model"
"""The source of the labels a model's prediction writes on stored records."""

STATUSES = documents.values(documents.PredictionStatus)
ACTIONS = documents.values(documents.ReviewAction)
MAX_PAGE = 1000

# An item's answer: the label (or the sorted labels chosen), the confidence, the scores.
_Answer = tuple[Any, float, dict[str, float]]


# --- predict ----------------------------------------------------------------------------------


def check_input(texts: Any, items: Any) -> tuple[list[str] | None, list[dict[str, Any]] | None]:
    """The call's items, checked before any work: a list of strings or a list of objects
    (not both, not neither), 1 to :data:`MAX_ITEMS` of them; each bad item is named by its
    index."""
    if (texts is None) == (items is None):
        raise ValidationError(
            "give either texts (a list of strings) or records (a list of objects)"
        )
    given, field = (texts, "texts") if texts is not None else (items, "records")
    if not isinstance(given, list):
        raise ValidationError(f"{field} must be a list, not a {type(given).__name__}", field=field)
    if not given:
        raise ValidationError(f"{field} is empty: nothing to predict", field=field)
    if len(given) > MAX_ITEMS:
        raise ValidationError(
            f"{len(given):,} {field} in one call; at most {MAX_ITEMS:,} a call",
            field=field,
            limit=MAX_ITEMS,
        )
    wanted = str if field == "texts" else dict
    for index, item in enumerate(given):
        if not isinstance(item, wanted):
            kind = "a string" if wanted is str else "an object"
            raise ValidationError(
                f"{field}[{index}] is a {type(item).__name__}, not {kind}",
                field=field,
                index=index,
            )
        if isinstance(item, str):
            names.check_text(item, f"{field}[{index}]", index=index)
    return (given, None) if field == "texts" else (None, given)


def predict(
    session: Session,
    serving: Serving,
    project: Project,
    task_name: str,
    texts: list[str] | None,
    items: list[dict[str, Any]] | None,
    *,
    data_dir: Path,
    store: importing.ImportOptions | None = None,
) -> documents.PredictResult:
    """Answer every item with the task's live model (one version for the whole call) and
    keep each answer as a pending prediction; ``store``: the import options under which the
    inputs become records of the project first."""
    texts, items = check_input(texts, items)
    task = tasks.get(session, project, task_name)
    served = serving.get(project, task)
    if items is not None:
        texts = _texts_of_records(session, task, items)
    assert texts is not None
    record_ids: list[int | None] = [None] * len(texts)
    if store is not None:
        record_ids = list(_store(session, project, task, texts, items, store))
    proba = model_inputs.probabilities(
        session,
        served.classifier,
        texts,
        data_dir=data_dir,
        record_ids=cast(list[int], record_ids) if store is not None else None,
    )
    answers = _answers(served, np.asarray(proba, dtype=np.float64))
    share = model_registry.state(session, task).audit_share
    rows = _rows(project, task, served, texts, record_ids, answers, share)
    _insert(session, rows)
    if store is not None:
        _write_model_labels(session, task, served, rows)
    return {
        "task": task.name,
        "model_version": served.version,
        "predictions": [_item(row) for row in rows],
    }


def _texts_of_records(
    session: Session, task: LabelingTask, items: list[dict[str, Any]]
) -> list[str]:
    """What the model reads of each record; a record with none of it is refused by index."""
    read = model_inputs.read_attributes(session, task)
    for index, item in enumerate(items):
        if not any(isinstance(item.get(name), str) for name in read):
            raise ValidationError(
                f"records[{index}] has no text the model reads: give "
                + " or ".join(repr(name) for name in read),
                field="records",
                index=index,
            )
    texts = [model_inputs.text_of_data(session, task, item) for item in items]
    for index, text in enumerate(texts):
        names.check_text(text, f"records[{index}]", index=index)
    return texts


def _store(
    session: Session,
    project: Project,
    task: LabelingTask,
    texts: list[str],
    items: list[dict[str, Any]] | None,
    options: importing.ImportOptions,
) -> list[int]:
    """The inputs as records of the project (the import path: keys, types, tokens); texts
    become records with one column, the task's attribute. Their ids, in input order."""
    if items is None:
        attribute = tasks.attribute_name(session, task)
        key = [a.name for a in projects.primary_key(session, project)]
        if attribute is None or key:
            why = (
                f"project {project.name!r} has the primary key {', '.join(map(repr, key))}"
                if key
                else f"task {task.name!r} reads the whole record"
            )
            raise ValidationError(
                f"{why}: send records (objects) to store them, not texts", task=task.name
            )
        items = [{attribute: text} for text in texts]
    table = table_from_records("predict", items)
    return importing.import_table(session, project.name, table, options).record_ids


def _answers(served: Served, proba: np.ndarray) -> list[_Answer]:
    """Each row's answer (a label name, or the sorted names chosen), its confidence (see the
    module's docstring) and its scores per label."""
    labels = served.labels
    picked = model_evaluation.predictions(
        proba, multi_label=served.multi_label, threshold=THRESHOLD
    )
    answers: list[_Answer] = []
    for row, choice in zip(proba.tolist(), picked.tolist(), strict=True):
        scores = dict(zip(labels, row, strict=True))
        if not served.multi_label:
            answers.append((labels[choice], row[choice], scores))
            continue
        chosen = [j for j, on in enumerate(choice) if on]
        output = sorted(labels[j] for j in chosen)
        confidence = sum(row[j] for j in chosen) / len(chosen) if chosen else 1.0 - max(row)
        answers.append((output, confidence, scores))
    return answers


def audited(prediction_id: str, share: float) -> bool:
    """Whether a prediction is queued for a blind review: a stable hash of its id below the
    share (reproducible from the id alone, and independent of the text)."""
    digest = hashlib.sha256(prediction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _rows(
    project: Project,
    task: LabelingTask,
    served: Served,
    texts: Sequence[str],
    record_ids: Sequence[int | None],
    answers: Sequence[_Answer],
    share: float,
) -> list[dict[str, Any]]:
    """The call's ``prediction`` rows, as one bulk insert takes them."""
    now = utcnow()
    rows = []
    for place, (text, record_id, (output, confidence, scores)) in enumerate(
        zip(texts, record_ids, answers, strict=True)
    ):
        # Its place in the call, then random: the queue (created_at, id) keeps input order.
        prediction_id = f"{place:08x}{uuid.uuid4().hex[8:]}"
        rows.append(
            {
                "id": prediction_id,
                "project_id": project.id,
                "task_id": task.id,
                "version_id": served.version_id,
                "version": served.version,
                "record_id": record_id,
                "text": text,
                "output": output,
                "confidence": confidence,
                "scores": scores,
                "audit": audited(prediction_id, share),
                "status": "pending",
                "created_at": now,
            }
        )
    return rows


# The columns a new prediction sets (the review's stay null), in the order _insert writes them.
_COLUMNS = (
    "id",
    "project_id",
    "task_id",
    "version_id",
    "version",
    "record_id",
    "text",
    "output",
    "confidence",
    "scores",
    "audit",
    "status",
    "created_at",
)
_JSON = frozenset({"output", "scores"})


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """The call's rows in one bulk insert through the driver (SQLite multi-row INSERT,
    PostgreSQL COPY). Measured on SQLite, 5,000 rows: 246 ms through SQLAlchemy's
    executemany, 150 ms this way, most of it encoding the scores as JSON."""
    if not rows:
        return
    # The call's one time, bound once (binding it a row cost 20 µs a row).
    column = core_table(Prediction).c.created_at
    created = bulk.bound_datetime(session, column, rows[0]["created_at"])

    def stored(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            created if c == "created_at" else json.dumps(row[c]) if c in _JSON else row[c]
            for c in _COLUMNS
        )

    bulk.insert_rows(session, "prediction", _COLUMNS, (stored(row) for row in rows))


def _item(row: dict[str, Any]) -> documents.PredictionItem:
    output = row["output"]
    multi = isinstance(output, list)
    return {
        "prediction_id": row["id"],
        "label": None if multi else output,
        "labels": output if multi else None,
        "confidence": row["confidence"],
        "scores": row["scores"],
        "model_version": row["version"],
        "record_id": row["record_id"],
    }


def _write_model_labels(
    session: Session, task: LabelingTask, served: Served, rows: list[dict[str, Any]]
) -> None:
    """The model's answer on each stored record: a label of source ``model`` (``v<N>``) with
    its probability; it replaces the task's earlier model labels of those records."""
    ids = [row["record_id"] for row in rows]
    for start in range(0, len(ids), annotating.CHUNK):
        session.execute(
            delete(Annotation).where(
                Annotation.task_id == task.id,
                Annotation.source == SOURCE,
                Annotation.record_id.in_(ids[start : start + annotating.CHUNK]),
            )
        )
    label_ids = {label.name: label.id for label in tasks.labels(session, task)}
    source_id = f"v{served.version}"
    # Rows as tuples in annotating.COLUMNS order, the time bound once (as mappings, binding
    # it a row took half the time of writing 5,000 labels).
    created = bulk.bound_datetime(session, core_table(Annotation).c.created_at, utcnow())
    annotating.insert_many(
        session,
        (
            (
                row["record_id"],
                task.id,
                label_ids[name],
                SOURCE,
                source_id,
                "",  # annotator: none, the source names the version
                None,
                None,  # no span
                row["scores"][name],
                False,
                False,  # neither gold nor a reference: not a manual label
                created,
            )
            for row in rows
            for name in (row["output"] if isinstance(row["output"], list) else [row["output"]])
            if name in label_ids  # a label deleted since the version was trained
        ),
    )


# --- the review queue ---------------------------------------------------------------------------


def page(
    session: Session,
    project: Project,
    task_name: str,
    *,
    status: str | None = "pending",
    audit: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> documents.PredictionPage:
    """A page of the task's predictions (``status``: one status, None all; ``audit``: only
    audit ones, only others, or both), oldest first; ``cursor`` continues a page."""
    task = tasks.get(session, project, task_name)
    if status is not None and status not in STATUSES:
        raise ValidationError(
            f"unknown status {status!r}; use one of {', '.join(STATUSES)}", status=status
        )
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE}", limit=limit)
    where = [Prediction.task_id == task.id]
    if status is not None:
        where.append(Prediction.status == status)
    if audit is not None:
        where.append(Prediction.audit.is_(audit))
    total = session.scalar(select(func.count()).select_from(Prediction).where(*where)) or 0
    query = select(Prediction).where(*where)
    if cursor is not None:
        created, last_id = decode_cursor(cursor)
        after = _timestamp(created, cursor)
        query = query.where(
            or_(
                Prediction.created_at > after,
                and_(Prediction.created_at == after, Prediction.id > str(last_id)),
            )
        )
    rows = session.scalars(
        query.order_by(Prediction.created_at, Prediction.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return {
        "predictions": [describe(row, task.name) for row in rows],
        "total": total,
        "next_cursor": encode_cursor([last.created_at.isoformat(), last.id]) if last else None,
    }


def _timestamp(value: Any, cursor: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError("invalid cursor", cursor=cursor) from exc


def describe(row: Prediction, task_name: str) -> documents.PredictionPublic:
    """A prediction as the review queue shows it: a pending audit one hides the model's
    answer, so that its reviewer answers blind."""
    blind = row.audit and row.status == "pending"
    return {
        "id": row.id,
        "task": task_name,
        "model_version": row.version,
        "text": row.text,
        "record_id": row.record_id,
        "label": None if blind else row.output,
        "confidence": None if blind else row.confidence,
        "scores": None if blind else row.scores,
        "audit": row.audit,
        "status": cast(documents.PredictionStatus, row.status),
        "given": row.given,
        "reviewer": row.reviewer,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
        "created_at": row.created_at.isoformat(),
    }


# --- review -------------------------------------------------------------------------------------


def review(
    session: Session,
    project: Project,
    task_name: str,
    prediction_id: str,
    action: str,
    reviewer: str,
    label: str | list[str] | None = None,
) -> tuple[documents.PredictionPublic, int | None]:
    """Accept, reject or correct a pending prediction (an audit one: answered with ``label``,
    whatever the action); returns it, and the task's id when a manual label was written (the
    prediction has a record, and the review gives a label), else None."""
    task = tasks.get(session, project, task_name)
    if action not in ACTIONS:
        raise ValidationError(
            f"unknown action {action!r}; use one of {', '.join(ACTIONS)}", action=action
        )
    reviewer = names.check_text(str(reviewer).strip(), "a reviewer's name")
    if not reviewer:
        raise ValidationError("a review needs the reviewer's name")
    row = session.get(Prediction, prediction_id)
    if row is None or row.task_id != task.id:
        raise NotFound(
            f"task {task.name!r} has no prediction {prediction_id!r}", prediction=prediction_id
        )
    if row.status != "pending":
        raise _reviewed(row)
    status, given, manual = _decision(session, task, row, action, label)
    # One review wins: the update claims the row only while it is still pending.
    claimed = session.execute(
        update(Prediction)
        .where(Prediction.id == row.id, Prediction.status == "pending")
        .values(status=status, given=given, reviewer=reviewer, reviewed_at=utcnow())
        .returning(Prediction.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(row)
    if claimed is None:  # another review came first
        raise _reviewed(row)
    record = session.get(Record, row.record_id) if row.record_id is not None else None
    if record is None or manual is None:
        return describe(row, task.name), None
    _label_record(session, record, task, manual, reviewer)
    return describe(row, task.name), task.id


def _reviewed(row: Prediction) -> Conflict:
    return Conflict(
        f"prediction {row.id} was already reviewed ({row.status} by {row.reviewer})",
        prediction=row.id,
        status=row.status,
    )


def _decision(
    session: Session,
    task: LabelingTask,
    row: Prediction,
    action: str,
    label: str | list[str] | None,
) -> tuple[str, Any, Any]:
    """The review's status, the label(s) the reviewer gave (stored as ``given``) and the
    manual label(s) it makes (None: none)."""
    if row.audit:
        if label is None:
            raise ValidationError(
                f"prediction {row.id} is an audit item, reviewed blind: answer it with the label",
                prediction=row.id,
            )
        given = _checked_label(session, task, label)
        return ("accepted" if given == row.output else "corrected"), given, given
    if action == "correct":
        if label is None:
            raise ValidationError("a correction needs the label", prediction=row.id)
        given = _checked_label(session, task, label)
        return "corrected", given, given
    if label is not None:
        raise ValidationError(f"{action} takes no label (correct does)", action=action)
    if action == "accept":
        return "accepted", None, row.output
    return "rejected", None, None


def _checked_label(session: Session, task: LabelingTask, label: str | list[str]) -> Any:
    """A reviewer's label(s) in the form predictions hold them: a name (classification) or a
    sorted list of names (multi-label), each a label of the task."""
    known = [lb.name for lb in tasks.labels(session, task)]
    multi = task.task_type == "multi-label"
    given = [label] if isinstance(label, str) else label
    if not isinstance(given, list) or not all(isinstance(name, str) for name in given):
        raise ValidationError("label must be a label's name or a list of names", label=label)
    if not multi and len(given) != 1:
        raise ValidationError(
            f"task {task.name!r} takes one label a record, not {len(given)}", label=label
        )
    for name in given:
        if name not in known:
            raise ValidationError(
                f"task {task.name!r} has no label {name!r} (labels: {', '.join(known)})",
                label=name,
            )
    return sorted(set(given)) if multi else given[0]


def _label_record(
    session: Session, record: Record, task: LabelingTask, value: Any, reviewer: str
) -> None:
    """The reviewer's manual label(s) of the record become ``value`` exactly."""
    if isinstance(value, list):  # multi-label: the reviewer's set, replaced
        annotating.remove(session, record, task, reviewer)
        for name in value:
            annotating.add(session, record, task, name, reviewer)
        return
    annotating.add(session, record, task, value, reviewer)  # replaces the reviewer's label


# --- the live accuracy --------------------------------------------------------------------------


def live_accuracy(session: Session, project: Project, task_name: str) -> documents.LiveAccuracy:
    """The live version's accuracy on its reviewed audit predictions (right: the reviewer's
    blind label equals the model's), with a 95 % Wilson interval; nulls before any."""
    task = tasks.get(session, project, task_name)
    live = model_registry.live(session, task)
    pairs: list[Any] = []
    if live is not None:
        pairs = list(
            session.execute(
                select(Prediction.output, Prediction.given).where(
                    Prediction.task_id == task.id,
                    Prediction.version_id == live.id,
                    Prediction.audit.is_(True),
                    Prediction.status.in_(("accepted", "corrected")),
                )
            )
        )
    reviewed = len(pairs)
    correct = sum(1 for output, given in pairs if given == output)
    return {
        "task": task.name,
        "model_version": live.version if live is not None else None,
        "reviewed": reviewed,
        "correct": correct,
        "accuracy": correct / reviewed if reviewed else None,
        "interval": model_evaluation.wilson(correct, reviewed) if reviewed else None,
    }
