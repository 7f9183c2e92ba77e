"""Annotations: manual labels by annotators, labels from other sources, the reference label.

The reference manual label of a (record, task) follows :mod:`assay.algorithms.reference`;
it is materialized on every change: ``manual_state`` holds its state and the manual rows that
carry its value have ``is_reference`` set, so filters and exports read it with one join.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from assay.algorithms.reference import ManualVote, resolve_reference
from assay.errors import ValidationError
from assay.services import heuristics, lookup_lists, names, records, tokens
from assay.services import tasks as task_service
from assay.storage.models import (
    Annotation,
    Attribute,
    Heuristic,
    Label,
    LabelingTask,
    ManualState,
    Record,
)

MANUAL = "manual"
SOURCES = ("manual", "heuristic", "weak_supervision", "model")
CHUNK = 500


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _vote_value(row: Annotation | Any) -> Hashable:
    if row.span_start is None:
        return row.label_id
    return (row.label_id, row.span_start, row.span_end)


def lock_records(session: Session, record_ids: Sequence[int]) -> None:
    """Take the write lock of these records' rows (PostgreSQL; a no-op on SQLite, whose
    writers are serialized anyway) until the transaction ends.

    Every writer of a record's manual labels takes it before it reads them, so two
    annotators labeling a record at once write one after the other: without it each
    recomputed the reference from the labels it saw, missing the other's uncommitted one (a
    conflict left ``agreed``), and both inserted the ``manual_state`` row (a duplicate key).
    Ascending order, so writers of several records cannot deadlock. ``FOR NO KEY UPDATE``:
    inserting rows that reference a record (labels of other sources) does not wait for it.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(
        select(Record.id)
        .where(Record.id.in_(sorted(record_ids)))
        .order_by(Record.id)
        .with_for_update(key_share=True)
    )


def refresh_reference(session: Session, task: LabelingTask, record_ids: Iterable[int]) -> None:
    """Recompute the reference manual label of these records for one task."""
    ids = sorted(set(record_ids))
    for chunk in _chunks(ids):
        lock_records(session, chunk)
        rows = session.execute(
            select(
                Annotation.id,
                Annotation.record_id,
                Annotation.annotator,
                Annotation.is_gold,
                Annotation.label_id,
                Annotation.span_start,
                Annotation.span_end,
            ).where(
                Annotation.task_id == task.id,
                Annotation.source == MANUAL,
                Annotation.record_id.in_(chunk),
            )
        ).all()
        by_record: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            by_record[row.record_id].append(row)
        reference_ids: list[int] = []
        states: list[dict[str, Any]] = []
        for record_id, record_rows in by_record.items():
            ref = resolve_reference(
                ManualVote(r.annotator, r.is_gold, _vote_value(r)) for r in record_rows
            )
            if ref.state is None:
                continue
            states.append({"record_id": record_id, "task_id": task.id, "state": ref.state})
            for r in record_rows:
                carries = (
                    r.is_gold
                    if ref.state == "gold"
                    else (ref.state == "agreed" and not r.is_gold and r.annotator == ref.annotator)
                )
                if carries:
                    reference_ids.append(r.id)
        session.execute(
            update(Annotation)
            .where(
                Annotation.task_id == task.id,
                Annotation.source == MANUAL,
                Annotation.record_id.in_(chunk),
                Annotation.is_reference.is_(True),
            )
            .values(is_reference=False)
        )
        for ref_chunk in _chunks(reference_ids):
            session.execute(
                update(Annotation).where(Annotation.id.in_(ref_chunk)).values(is_reference=True)
            )
        session.execute(
            delete(ManualState).where(
                ManualState.task_id == task.id, ManualState.record_id.in_(chunk)
            )
        )
        if states:
            session.execute(insert(ManualState), states)


def _check_span(
    session: Session, record: Record, task: LabelingTask, span: Span | None
) -> str | None:
    """The text of a valid span (None for tasks without spans); errors for invalid ones."""
    if task.task_type != "extraction":
        if span is not None:
            raise ValidationError(
                f"task {task.name!r} is a {task.task_type} task; spans are for extraction",
                task=task.name,
            )
        return None
    if span is None:
        raise ValidationError(f"extraction task {task.name!r} needs a token span", task=task.name)
    assert task.attribute_id is not None  # an extraction task is on an attribute
    blob = records.token_offsets(session, record.id, task.attribute_id)
    attribute = session.get(Attribute, task.attribute_id)
    text = record.data.get(attribute.name) if attribute else None
    if blob is None or not isinstance(text, str):
        raise ValidationError(
            f"record {record.id} has no text to label for task {task.name!r}",
            record=record.id,
        )
    return tokens.span_text(text, blob, span.start, span.end)


def add(
    session: Session,
    record: Record,
    task: LabelingTask,
    label_name: str,
    annotator: str,
    *,
    gold: bool = False,
    span: Span | None = None,
) -> Annotation:
    """Give a record a manual label.

    Classification keeps one label per annotator (a new one replaces the old) and one gold
    label per record; multi-label and extraction add to the annotator's set.
    """
    annotator = names.check_text(annotator.strip(), "an annotator's name")
    if not annotator:
        raise ValidationError("a manual label needs the annotator's name")
    label = task_service.label(session, task, label_name)
    span_text = _check_span(session, record, task, span)
    lock_records(session, [record.id])
    mine = select(Annotation).where(
        Annotation.record_id == record.id,
        Annotation.task_id == task.id,
        Annotation.source == MANUAL,
        Annotation.is_gold.is_(gold),
    )
    if not gold:
        mine = mine.where(Annotation.annotator == annotator)
    existing = list(session.scalars(mine))
    if task.task_type == "classification":
        for row in existing:
            session.delete(row)
    else:
        for row in existing:
            same_span = span is None or (row.span_start, row.span_end) == (
                span.start,
                span.end,
            )
            if row.label_id == label.id and same_span:
                return row
    row = Annotation(
        record_id=record.id,
        task_id=task.id,
        label_id=label.id,
        source=MANUAL,
        annotator=annotator,
        span_start=span.start if span else None,
        span_end=span.end if span else None,
        is_gold=gold,
    )
    session.add(row)
    session.flush()
    refresh_reference(session, task, [record.id])
    if span_text is not None:
        lookup_lists.add_from_span(session, record.project_id, label.name, span_text)
    return row


def remove(
    session: Session,
    record: Record,
    task: LabelingTask,
    annotator: str,
    *,
    label_name: str | None = None,
    gold: bool = False,
    span: Span | None = None,
) -> int:
    """Remove an annotator's (or the gold) manual labels; all of them when no label is named."""
    lock_records(session, [record.id])
    query = delete(Annotation).where(
        Annotation.record_id == record.id,
        Annotation.task_id == task.id,
        Annotation.source == MANUAL,
        Annotation.is_gold.is_(gold),
    )
    if not gold:
        query = query.where(Annotation.annotator == annotator)
    if label_name is not None:
        query = query.where(Annotation.label_id == task_service.label(session, task, label_name).id)
    if span is not None:
        query = query.where(Annotation.span_start == span.start, Annotation.span_end == span.end)
    removed = session.execute(
        query.returning(Annotation.label_id, Annotation.span_start, Annotation.span_end)
    ).all()
    refresh_reference(session, task, [record.id])
    names = label_names(session, task) if task.task_type == "extraction" else {}
    for label_id, start, end in removed:  # a span's text may leave the list it filled
        if start is None or end is None:
            continue
        text = _check_span(session, record, task, Span(start, end))
        assert text is not None  # a task with spans
        lookup_lists.remove_from_span(session, record.project_id, names[label_id], text)
    return len(removed)


def records_with_label(session: Session, label: Label) -> list[int]:
    return list(
        session.scalars(
            select(Annotation.record_id).where(Annotation.label_id == label.id).distinct()
        )
    )


def label_names(session: Session, task: LabelingTask) -> dict[int, str]:
    return {lb.id: lb.name for lb in task_service.labels(session, task)}


def reference_values(
    session: Session, task: LabelingTask, record_ids: Sequence[int]
) -> dict[int, Any]:
    """Reference manual value per record: a label name, a sorted list of names, or spans.

    Records in conflict or without a manual label are absent. Spans are dicts
    ``{label, start_token, end_token}`` sorted by position.
    """
    return _values(session, task, record_ids, MANUAL, reference_only=True)[0]


def source_values(
    session: Session, task: LabelingTask, record_ids: Sequence[int], source: str
) -> tuple[dict[int, Any], dict[int, float | None]]:
    """Values and confidences per record for a non-manual source (e.g. weak supervision)."""
    return _values(session, task, record_ids, source, reference_only=False)


def _values(
    session: Session,
    task: LabelingTask,
    record_ids: Sequence[int],
    source: str,
    *,
    reference_only: bool,
) -> tuple[dict[int, Any], dict[int, float | None]]:
    names = label_names(session, task)
    grouped: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(list(record_ids), 900):
        query = select(
            Annotation.record_id,
            Annotation.label_id,
            Annotation.span_start,
            Annotation.span_end,
            Annotation.confidence,
        ).where(
            Annotation.task_id == task.id,
            Annotation.source == source,
            Annotation.record_id.in_(chunk),
        )
        if reference_only:
            query = query.where(Annotation.is_reference.is_(True))
        for row in session.execute(query):
            grouped[row.record_id].append(row)
    values: dict[int, Any] = {}
    confidences: dict[int, float | None] = {}
    for record_id, rows in grouped.items():
        confidences[record_id] = max(
            (r.confidence for r in rows if r.confidence is not None), default=None
        )
        if task.task_type == "classification":
            values[record_id] = names[rows[0].label_id]
        elif task.task_type == "multi-label":
            values[record_id] = sorted({names[r.label_id] for r in rows})
        else:
            spans = {(r.span_start, r.span_end, names[r.label_id]) for r in rows}
            values[record_id] = [
                {"label": label, "start_token": s, "end_token": e} for s, e, label in sorted(spans)
            ]
    return values, confidences


def record_labels(session: Session, record: Record) -> dict[str, Any]:
    """Every label of one record, per task and source, with the reference manual label."""
    project_tasks = session.scalars(
        select(LabelingTask)
        .where(LabelingTask.project_id == record.project_id)
        .order_by(LabelingTask.id)
    ).all()
    return {task.name: task_labels(session, record, task) for task in project_tasks}


def task_labels(session: Session, record: Record, task: LabelingTask) -> dict[str, Any]:
    """One task's labels of a record: ``{"reference": {state, value}, "annotations": [...]}``."""
    names = label_names(session, task)
    rows = session.scalars(
        select(Annotation)
        .where(Annotation.record_id == record.id, Annotation.task_id == task.id)
        .order_by(Annotation.id)
    ).all()
    state = session.scalar(
        select(ManualState.state).where(
            ManualState.record_id == record.id, ManualState.task_id == task.id
        )
    )
    voters = {int(r.source_id) for r in rows if r.source == heuristics.SOURCE}
    heuristic_names = {
        str(id_): name
        for id_, name in session.execute(
            select(Heuristic.id, Heuristic.name).where(Heuristic.id.in_(voters))
        )
    }
    return {
        "reference": {
            "state": state or "none",
            "value": reference_values(session, task, [record.id]).get(record.id),
        },
        "annotations": [
            {
                "id": r.id,
                "label": names[r.label_id],
                "source": r.source,
                "source_id": r.source_id,
                "source_name": heuristic_names.get(r.source_id)
                if r.source == heuristics.SOURCE
                else None,
                "annotator": r.annotator,
                "start_token": r.span_start,
                "end_token": r.span_end,
                "confidence": r.confidence,
                "gold": r.is_gold,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ],
    }
