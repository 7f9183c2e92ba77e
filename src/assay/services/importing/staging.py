"""Where a staged import keeps what may not show before its last transaction, and the swap
that puts it in place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, cast, delete, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from assay.services import annotating, tasks
from assay.services.importing.label_columns import LabelColumn
from assay.services.importing.labels import (
    TaskLabels,
    label_rows,
    label_task,
    owned,
    replaced_labels,
)
from assay.services.importing.planning import Plan
from assay.services.importing.stored import Stored
from assay.storage.models import (
    Annotation,
    Attribute,
    LabelingTask,
    ManualState,
    Project,
    Record,
    RecordText,
)


@dataclass
class Created:
    """What a staged import added to an existing project before its rows (ids): removed
    again when it fails, or by :func:`staged.recover` when its process died."""

    attributes: list[int] = field(default_factory=list)
    tasks: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)


@dataclass
class _StagedColumn:
    column: LabelColumn
    task: LabelingTask
    target: str | None
    labels: TaskLabels
    hidden: int  # the id of the staging task that holds the column's labels until the swap


STAGING_PROJECT = "/staging/import-{}"  # a "/" no project name can hold: never taken


@dataclass
class Stage:
    """Where a staged import keeps what may not show before its last transaction.

    A hidden project (``import_job_id`` set, a name no user can give) holds a new version
    of each record the import changes: merged data, its texts and tokens, and as its key the
    id of the record it replaces (the swap finds that record by id, not by key). Each
    label column has a task in that project that holds the column's labels (on the real
    records, new or old) with ``is_reference`` as it is when the importer is the record's
    only manual annotator, and a ``manual_state`` row for each record the column names:
    ``agreed`` where it gives a manual label, ``-`` where it gives none. Readers look for
    labels by their project's tasks, so they never see these.
    """

    shadow: Project
    columns: list[_StagedColumn]
    annotator: str

    @classmethod
    def begin(
        cls,
        session: Session,
        plan: Plan,
        project: Project,
        job_id: int,
        created: Created,
        annotator: str,
    ) -> Stage:
        shadow = Project(
            name=STAGING_PROJECT.format(job_id), language=plan.language, import_job_id=job_id
        )
        session.add(shadow)
        session.flush()
        known = {t.id for t in tasks.list_all(session, project)}
        columns = []
        for number, column in enumerate(plan.label_columns):
            task, target = label_task(session, project, plan.table, column)
            if task.id not in known:
                known.add(task.id)
                created.tasks.append(task.id)
            labels = TaskLabels(session, task)
            labels.add_all(column)
            if task.id not in created.tasks:
                created.labels += labels.created
            hidden = LabelingTask(project_id=shadow.id, name=str(number), task_type="staging")
            session.add(hidden)
            session.flush()
            columns.append(_StagedColumn(column, task, target, labels, hidden.id))
        return cls(shadow, columns, annotator)

    def label_rows(
        self, session: Session, plan: Plan, rows: range, stored: Stored
    ) -> list[list[dict[str, Any]]]:
        """The checked labels of these rows, per column, each row's position in ``rows`` in
        place of its record's id: made before the chunk's first write, as on SQLite the
        write lock is held from there to the commit."""
        out = []
        for staged in self.columns:
            staged.labels.session = session
            positions = list(range(len(rows)))
            out.append(
                label_rows(
                    plan.table,
                    staged.column,
                    staged.task,
                    staged.target,
                    staged.labels,
                    rows,
                    positions,
                    plan.prepared,
                    stored,
                )
            )
        return out

    def write_labels(
        self, session: Session, labels: list[list[dict[str, Any]]], record_ids: list[int]
    ) -> int:
        """Stage the labels of :meth:`label_rows` on the records of their rows."""
        written = 0
        for staged, new in zip(self.columns, labels, strict=True):
            manual = staged.column.source == annotating.MANUAL
            for row in new:
                row["record_id"] = record_ids[row["record_id"]]
                row["task_id"], row["is_reference"] = staged.hidden, manual
            if new:
                annotating.insert_many(session, owned(new, staged.column, self.annotator))
            labeled = {row["record_id"] for row in new} if manual else set()
            marks = [
                {
                    "record_id": record_id,
                    "task_id": staged.hidden,
                    "state": "agreed" if record_id in labeled else "-",
                }
                for record_id in record_ids
            ]
            session.execute(insert(ManualState), marks)
            written += len(new)
        return written

    def swap(self, session: Session, project: Project, attributes: list[Attribute]) -> None:
        """Put the staged versions and labels in place: set-based statements, no per-row
        work except the reference labels of records that other annotators labeled too."""
        version = aliased(Record)
        replaced = cast(version.key, Integer)  # a version's key is the id of its record
        in_stage = version.project_id == self.shadow.id
        execute_bulk(
            session,
            delete(RecordText).where(
                RecordText.record_id.in_(select(replaced).where(in_stage)),
                RecordText.attribute_id.in_([a.id for a in attributes]),
            ),
        )
        execute_bulk(
            session,
            update(RecordText)
            .where(RecordText.record_id == version.id, in_stage)
            .values(record_id=replaced),
        )
        execute_bulk(
            session,
            update(Record)
            .where(Record.id == replaced, in_stage)
            .values(data=version.data, content_hash=version.content_hash),
        )
        for staged in self.columns:
            task, column = staged.task, staged.column
            marked = select(ManualState.record_id).where(ManualState.task_id == staged.hidden)
            # The labels this import replaces: the importer's on the records the column names.
            execute_bulk(
                session,
                delete(Annotation).where(
                    Annotation.record_id.in_(marked),
                    *replaced_labels(task.id, column, self.annotator),
                ),
            )
            execute_bulk(
                session,
                update(Annotation)
                .where(Annotation.task_id == staged.hidden)
                .values(task_id=task.id),
            )
            if column.source != annotating.MANUAL:
                continue
            execute_bulk(
                session,
                delete(ManualState).where(
                    ManualState.task_id == task.id, ManualState.record_id.in_(marked)
                ),
            )
            shared = list(
                session.scalars(
                    select(Annotation.record_id)
                    .distinct()
                    .where(
                        Annotation.task_id == task.id,
                        Annotation.source == annotating.MANUAL,
                        Annotation.record_id.in_(marked),
                        or_(Annotation.annotator != self.annotator, Annotation.is_gold),
                    )
                )
            )
            execute_bulk(
                session,
                update(ManualState)
                .where(ManualState.task_id == staged.hidden, ManualState.state != "-")
                .values(task_id=task.id),
            )
            # Where others labeled the record too (now, in this transaction), the rule decides.
            annotating.refresh_reference(session, task, shared)


def execute_bulk(session: Session, statement: Any) -> None:
    """A set-based UPDATE or DELETE, without SQLAlchemy's fetch of the rows it changed (to
    keep objects in the session in sync; there are none): on SQLite that fetch took as long
    as the statement (measured)."""
    session.execute(statement, execution_options={"synchronize_session": False})
