"""Label columns checked and written as annotation rows: the task each fills (created when
missing), label names (new ones created), confidences and spans; an import's labels replace
the importer's earlier ones on the records it names."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, delete
from sqlalchemy.orm import Session

from assay.errors import ImportFileError, NotFound, ValidationError
from assay.services import annotating, tasks, tokens
from assay.services.files import Table
from assay.services.importing.column_types import location
from assay.services.importing.label_columns import LabelColumn, task_type_of
from assay.services.importing.planning import Prepared
from assay.services.importing.stored import Stored
from assay.storage.models import Annotation, LabelingTask, Project

IMPORT_SOURCE_ID = "import"


def import_labels(
    session: Session,
    project: Project,
    table: Table,
    column: LabelColumn,
    record_ids: list[int],
    prepared: Prepared,
    stored: Stored,
    annotator: str,
) -> int:
    task, target = label_task(session, project, table, column)
    rows = range(prepared.n_rows)
    labels = TaskLabels(session, task)
    new = label_rows(table, column, task, target, labels, rows, record_ids, prepared, stored)
    touched = sorted(set(record_ids))
    for start in range(0, len(touched), 500):
        chunk = touched[start : start + 500]
        session.execute(
            delete(Annotation).where(
                Annotation.record_id.in_(chunk), *replaced_labels(task.id, column, annotator)
            )
        )
    if new:
        annotating.insert_many(session, owned(new, column, annotator))
    if column.source == annotating.MANUAL:
        annotating.refresh_reference(session, task, touched)
    return len(new)


def replaced_labels(task_id: int, column: LabelColumn, annotator: str) -> list[ColumnElement[bool]]:
    """Which rows of a task an import's label column replaces on the records it names: the
    importer's own (non-gold) manual labels, or the earlier imports' labels of the source."""
    conditions = [Annotation.task_id == task_id, Annotation.source == column.source]
    if column.source == annotating.MANUAL:
        return [*conditions, Annotation.annotator == annotator, Annotation.is_gold.is_(False)]
    return [*conditions, Annotation.source_id == IMPORT_SOURCE_ID]


def owned(rows: list[dict[str, Any]], column: LabelColumn, annotator: str) -> list[dict[str, Any]]:
    manual = column.source == annotating.MANUAL
    for row in rows:
        row["source_id"] = "" if manual else IMPORT_SOURCE_ID
        row["annotator"] = annotator if manual else ""
    return rows


def label_task(
    session: Session, project: Project, table: Table, column: LabelColumn
) -> tuple[LabelingTask, str | None]:
    """The task a label column fills (created when missing) and its target attribute."""
    try:
        task = tasks.get(session, project, column.task)
    except NotFound:
        task = tasks.create(
            session,
            project,
            column.task,
            task_type_of(column),
            attribute=column.attribute,
        )
    target = tasks.attribute_name(session, task)
    if (target or None) != (column.attribute or None):
        raise ImportFileError(
            f"{table.source}: column {column.column!r} puts task {task.name!r} on "
            f"{column.attribute or 'the whole record'}, but the task is on "
            f"{target or 'the whole record'}",
            file=table.source,
            column=column.column,
        )
    return task, target


class TaskLabels:
    """The ids of a task's labels by name; a name not seen before becomes a new label."""

    def __init__(self, session: Session, task: LabelingTask) -> None:
        self.session, self.task = session, task
        self.ids = {lb.name: lb.id for lb in tasks.labels(session, task)}
        self.created: list[int] = []

    def id(self, name: str) -> int:
        if name not in self.ids:
            self.ids[name] = tasks.add_label(self.session, self.task, name).id
            self.created.append(self.ids[name])
        return self.ids[name]

    def add_all(self, column: LabelColumn) -> None:
        """Create the labels a column names up front (a staged import: before any chunk);
        cells that name none are left to :func:`label_rows`, which says where they are."""
        for value in column.values:
            for item in value if isinstance(value, list) else [value]:
                name = item.get("label") if isinstance(item, dict) else item
                if isinstance(name, str) and name:
                    self.id(name)


def label_rows(
    table: Table,
    column: LabelColumn,
    task: LabelingTask,
    target: str | None,
    labels: TaskLabels,
    rows: range,
    record_ids: list[int],
    prepared: Prepared,
    stored: Stored,
) -> list[dict[str, Any]]:
    """The annotation rows of a label column in these rows of the table (``record_ids`` and
    ``stored`` hold these rows only), checked: label names, confidences, spans."""
    names = [name for name, _, _ in prepared.attributes]
    target_position = names.index(target) if target in names else -1
    # The target text's token offsets by row (none when the import does not hold it).
    blobs = {
        position: blob
        for position, attribute, blob in zip(
            stored.text_rows, stored.text_attributes, stored.offsets, strict=True
        )
        if attribute == target_position
    }
    texts = prepared.values.get(target or "", [None] * prepared.n_rows)

    def label_id(name: Any, row: int) -> int:
        if not isinstance(name, str) or not name:
            raise ImportFileError(
                f"{table.source}: row {row + 1}, column {column.column!r}: {name!r} is not a "
                "label name",
                **location(table, row, column.column),
            )
        return labels.id(name)

    out: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        value = column.values[row]
        if value is None or value == []:
            continue
        confidence = None
        if column.confidences is not None and column.confidences[row] not in (None, ""):
            try:
                confidence = float(column.confidences[row])
                if not math.isfinite(confidence):
                    raise ValueError(confidence)
            except (TypeError, ValueError) as exc:
                raise ImportFileError(
                    f"{table.source}: row {row + 1}: confidence {column.confidences[row]!r} "
                    "is not a finite number",
                    **location(table, row, column.column + "__confidence"),
                ) from exc
        base = {
            "record_id": record_ids[position],
            "task_id": task.id,
            "source": column.source,
            "confidence": confidence,
            "is_gold": False,
            "is_reference": False,
            "span_start": None,
            "span_end": None,
        }
        if task.task_type == "classification":
            if isinstance(value, list):
                raise ImportFileError(
                    f"{table.source}: row {row + 1}, column {column.column!r}: a list in a "
                    "classification task",
                    **location(table, row, column.column),
                )
            out.append({**base, "label_id": label_id(value, row)})
        elif task.task_type == "multi-label":
            for name in dict.fromkeys(value if isinstance(value, list) else [value]):
                out.append({**base, "label_id": label_id(name, row)})
        else:
            assert target is not None
            blob = blobs.get(position)
            text = texts[row]
            if not isinstance(value, list) or blob is None or not isinstance(text, str):
                raise ImportFileError(
                    f"{table.source}: row {row + 1}, column {column.column!r}: spans need a "
                    f"list of {{label, start_token, end_token}} and a text in {target!r}",
                    **location(table, row, column.column),
                )
            for span in value:
                try:
                    start, end = int(span["start_token"]), int(span["end_token"])
                    span_text = tokens.span_text(text, blob, start, end)
                except (KeyError, TypeError, ValueError, ValidationError) as exc:
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {column.column!r}: bad span "
                        f"{span!r}: {getattr(exc, 'message', exc)}",
                        **location(table, row, column.column),
                    ) from exc
                if "text" in span and span["text"] != span_text:
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {column.column!r}: span text "
                        f"{span['text']!r} differs from the tokens' text {span_text!r}",
                        **location(table, row, column.column),
                    )
                out.append(
                    {
                        **base,
                        "label_id": label_id(span.get("label"), row),
                        "span_start": start,
                        "span_end": end,
                    }
                )
    return out
