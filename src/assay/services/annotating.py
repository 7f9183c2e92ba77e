"""Annotations: manual labels by annotators, labels from other sources, the reference label.

The reference manual label of a (record, task) follows :mod:`assay.algorithms.reference`;
it is materialized on every change: ``manual_state`` holds its state and the manual rows that
carry its value have ``is_reference`` set, so filters and exports read it with one join.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms.reference import ManualVote, resolve_reference
from assay.errors import AssayError, ImportFileError, ValidationError
from assay.services import heuristics, lookup_lists, names, projects, records, tokens
from assay.services import tasks as task_service
from assay.storage import bulk
from assay.storage.models import (
    Annotation,
    Attribute,
    Heuristic,
    Label,
    LabelingTask,
    ManualState,
    Project,
    Record,
    core_table,
    utcnow,
)

MANUAL = documents.MANUAL
# The columns of an annotation row, in the order :func:`insert_many` takes them.
COLUMNS = (
    "record_id",
    "task_id",
    "label_id",
    "source",
    "source_id",
    "annotator",
    "span_start",
    "span_end",
    "confidence",
    "is_gold",
    "is_reference",
    "created_at",
)
SOURCES = documents.values(documents.AnnotationSource)
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


def record_labels(session: Session, record: Record) -> dict[str, documents.TaskLabels]:
    """Every label of one record, per task and source, with the reference manual label."""
    project_tasks = session.scalars(
        select(LabelingTask)
        .where(LabelingTask.project_id == record.project_id)
        .order_by(LabelingTask.id)
    ).all()
    return {task.name: task_labels(session, record, task) for task in project_tasks}


def task_labels(session: Session, record: Record, task: LabelingTask) -> documents.TaskLabels:
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
            "state": cast(documents.ReferenceState, state or "none"),
            "value": reference_values(session, task, [record.id]).get(record.id),
        },
        "annotations": [
            {
                "id": r.id,
                "label": names[r.label_id],
                "source": cast(documents.AnnotationSource, r.source),
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


def delete_label(session: Session, project: Project, task_name: str, name: str) -> int:
    """Delete a label and every annotation of it; the references of the records it
    labeled follow. Returns the task's id."""
    task = task_service.get(session, project, task_name)
    affected = records_with_label(session, task_service.label(session, task, name))
    task_service.delete_label(session, task, name)
    refresh_reference(session, task, affected)
    return task.id


def annotate(
    session: Session,
    project: Project,
    record: str | int,
    task_name: str,
    label: str,
    annotator: str,
    gold: bool = False,
    span: tuple[int, int] | None = None,
) -> tuple[documents.TaskLabels, int]:
    """Give a record (id or key) a manual label (:func:`add`); the record's labels for the
    task, and the task's id."""
    row, task = locate(session, project, record, task_name)
    add(session, row, task, label, annotator, gold=gold, span=Span(*span) if span else None)
    return task_labels(session, row, task), task.id


def unannotate(
    session: Session,
    project: Project,
    record: str | int,
    task_name: str,
    annotator: str,
    label: str | None = None,
    gold: bool = False,
    span: tuple[int, int] | None = None,
) -> tuple[documents.TaskLabels, int]:
    """Take manual labels of a record (id or key) back (:func:`remove`); the record's labels
    for the task, and the task's id."""
    row, task = locate(session, project, record, task_name)
    found = Span(*span) if span else None
    remove(session, row, task, annotator, label_name=label, gold=gold, span=found)
    return task_labels(session, row, task), task.id


# What a row given as a mapping leaves out, :func:`insert_many` fills in.
_DEFAULTS: dict[str, Any] = {
    "source_id": "",
    "annotator": "",
    "span_start": None,
    "span_end": None,
    "confidence": None,
    "is_gold": False,
    "is_reference": False,
}


def insert_many(session: Session, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
    """The one bulk writer of annotation rows (a heuristic's votes, weak supervision, an
    import's label columns, an archive's annotations): tuples in :data:`COLUMNS` order, with
    ``created_at`` as :func:`assay.storage.bulk.bound_datetime` gives it, or mappings by
    column name (what they leave out: :data:`_DEFAULTS`, ``created_at`` now). The caller
    refreshes what follows from them (manual references, statistics)."""
    created = core_table(Annotation).c.created_at
    now = utcnow()

    def stored(row: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any]:
        if not isinstance(row, Mapping):
            return row
        values = {**_DEFAULTS, "created_at": now, **row}
        values["created_at"] = bulk.bound_datetime(session, created, values["created_at"])
        return tuple(values[c] for c in COLUMNS)

    bulk.insert_rows(session, "annotation", COLUMNS, (stored(r) for r in rows))


# --- the record as the labeling view shows it, and labels from a file ---------------------------


def locate(
    session: Session, project: Project, record: str | int, task: str
) -> tuple[Record, LabelingTask]:
    """A record (id or key) and a task of the project, by name."""
    return records.resolve(session, project, record), task_service.get(session, project, task)


def detail(session: Session, project: Project, row: Record) -> documents.RecordDetail:
    """A record with its tokens (per text attribute) and every label."""
    token_docs: dict[str, list[documents.Token]] = {}
    for attribute in projects.attributes(session, project):
        text = row.data.get(attribute.name)
        if attribute.data_type != "text" or not isinstance(text, str):
            continue
        blob = records.token_offsets(session, row.id, attribute.id)
        if blob is not None:
            token_docs[attribute.name] = [
                {"text": text[a:b], "start": a, "end": b} for a, b in tokens.offsets(blob).tolist()
            ]
    return {
        "id": row.id,
        "key": row.key,
        "position": records.positions(session, project, [row.id])[row.id],
        "data": row.data,
        "tokens": token_docs,
        "labels": record_labels(session, row),
    }


def apply_file(
    session: Session, project: Project, columns: dict[str, list[Any]], source: str
) -> int:
    """Add the manual labels of a file (its ``columns``), all or nothing; returns how many.

    Columns: ``key`` (the primary-key value, or ``col=value,...``) or ``id``, ``task``,
    ``label``, optional ``start_token``/``end_token``, ``annotator`` and ``gold``. A bad
    row is refused naming ``source`` and the row's number.
    """
    key_attributes = projects.primary_key(session, project)
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    applied = 0
    for number, row in enumerate(rows, start=1):
        try:
            record = records.resolve(session, project, _record_ref(row, key_attributes))
            task = task_service.get(session, project, str(row.get("task") or ""))
            span = None
            if _given(row.get("start_token")) or _given(row.get("end_token")):
                span = Span(int(row["start_token"]), int(row["end_token"]))
            add(
                session,
                record,
                task,
                str(row.get("label") or ""),
                str(row.get("annotator") or ""),
                gold=_truthy(row.get("gold")),
                span=span,
            )
            applied += 1
        except (AssayError, ValueError, TypeError, KeyError) as exc:
            message = exc.message if isinstance(exc, AssayError) else str(exc)
            raise ImportFileError(
                f"{Path(source).name}: row {number}: {message}", file=source, row=number
            ) from exc
    projects.touch(session, project)
    return applied


def _given(value: Any) -> bool:
    return value not in (None, "")


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "gold")


def _record_ref(row: dict[str, Any], key_attributes: list[Attribute]) -> str | int:
    if _given(row.get("id")):
        return int(row["id"])
    key = row.get("key")
    if not _given(key):
        raise ValidationError("the row names no record (a key or id column)")
    text = str(key)
    if "=" in text:
        return text
    if len(key_attributes) != 1:
        raise ValidationError("a composite primary key is written col=value,col=value")
    return f"{key_attributes[0].name}={text}"
