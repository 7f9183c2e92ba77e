"""A large import in short transactions, invisible until one last short one; and the clean-up
of imports whose process died (:func:`recover`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, text, update

from assay.runtime.job_runner import Progress, no_progress
from assay.services import jobs, projects, tokens
from assay.services.files import Table
from assay.services.importing import writing
from assay.services.importing.one_transaction import import_planned
from assay.services.importing.pacing import Pacer, open_pacer
from assay.services.importing.planning import ImportOptions, plan_import
from assay.services.importing.staging import Created, Stage, execute_bulk
from assay.services.importing.stored import chunk_columns, store
from assay.storage.db import Database
from assay.storage.models import (
    Annotation,
    Attribute,
    Job,
    Label,
    LabelingTask,
    ManualState,
    Project,
    Record,
)


def import_staged(
    db: Database,
    project_name: str,
    table: Table,
    options: ImportOptions,
    *,
    job_id: int,
    chunk_size: int = 5_000,
    progress: Progress = no_progress,
) -> writing.ImportResult:
    """Import a large table in short transactions, invisible until one last short one.

    Each chunk is written in its own transaction, where nobody looks: new records marked
    with the job (queries hide them while the job is staging), new versions of the records
    it updates in a hidden project, its labels under hidden tasks (:class:`staging.Stage`). The
    final transaction swaps them in with a few set-based statements and clears the job's
    staging flag (and shows a project the import created), so everything appears at once.
    On any failure the staged rows are removed. Small imports run in one transaction
    instead (:func:`one_transaction.import_table`).
    """
    with db.session() as session:
        plan = plan_import(session, project_name, table, options)
    n = plan.prepared.n_rows
    if n <= chunk_size:
        with db.session() as session:
            return import_planned(session, plan, project_name, options, progress)
    progress(0.05, "checked the file")
    created_project = plan.project is None
    created = Created()
    with db.session() as session:
        known = (
            {a.id for a in projects.attributes(session, plan.project)} if plan.project else set()
        )
        project, attributes = writing.begin(session, plan, project_name, import_job_id=job_id)
        created.attributes = [a.id for a in attributes if a.id not in known]
        stage = Stage.begin(session, plan, project, job_id, created, options.annotator)
        # Kept with the job, so that recover() can remove them after a crash too.
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(staging=True, project_id=project.id, result={"staged": asdict(created)})
        )
    result = writing.ImportResult(project=project.name, tasks=[c.task for c in plan.label_columns])
    chunks = [range(i, min(n, i + chunk_size)) for i in range(0, n, chunk_size)]
    swapped = False
    try:
        with (
            tokens.workers(plan.language) as workers,
            open_pacer(db) as pacer,
        ):
            # Workers prepare the next chunks while this process writes the current one.
            ahead = [
                workers.submit(store, chunk_columns(plan, rows), plan.language)
                for rows in chunks[:2]
            ]
            for number, rows in enumerate(chunks):
                stored = ahead.pop(0).result()
                if number + 2 < len(chunks):
                    following = chunk_columns(plan, chunks[number + 2])
                    ahead.append(workers.submit(store, following, plan.language))
                pacer.before_chunk()
                with db.session() as session:
                    labels = stage.label_rows(session, plan, rows, stored)
                    ids = writing.write_records(
                        session, plan, project, attributes, rows, stored, job_id, stage.shadow.id
                    )
                    result.labels += stage.write_labels(session, labels, ids)
                    result.record_ids += ids
                with db.session() as session:
                    writing.merge_text_index(session)
                pacer.after_chunk()
                progress(0.05 + 0.9 * (rows[-1] + 1) / n, f"wrote {rows[-1] + 1:,} of {n:,}")
            pacer.before_chunk()
            with db.session() as session:  # the swap: one short transaction
                stage.swap(session, project, attributes)
                session.execute(update(Job).where(Job.id == job_id).values(staging=False))
                session.execute(
                    update(Project).where(Project.id == project.id).values(import_job_id=None)
                )
                projects.touch(session, project)
                writing.mark_records_updated(session, project, plan)
            swapped = True
            pacer.after_chunk()  # its pages out of the WAL now, not in the next label's commit
            _discard(db, job_id, None, created=Created(), pacer=pacer)  # the staging project
    except BaseException:
        if not swapped:  # after the swap the rows are the project's; what a failed clean-up
            # leaves of the staging project, the next recover() removes
            _discard(db, job_id, None if created_project else project.id, created=created)
        raise
    if db.dialect == "postgresql":  # fresh statistics, so the planner knows the new rows
        with db.session() as session:
            session.execute(text("ANALYZE record, record_text, annotation"))
    result.updated = len(plan.existing)
    result.created = n - result.updated
    result.attributes = writing.attribute_docs(attributes)
    progress(1.0, "done")
    return result


def recover(db: Database) -> list[int]:
    """Fail the import jobs whose process died, and remove the rows they had staged; also
    remove hidden projects left by jobs that ended (a clean-up that failed)."""
    with db.session() as session:
        found = [
            (job.id, job.staging, job.project_id, Created(**(job.result or {}).get("staged", {})))
            for job in jobs.dead(session)
        ]
        for job_id, *_ in found:
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="failed", error="the process running this job stopped")
            )
        ended = session.scalars(
            select(Job.id)
            .join(Project, Project.import_job_id == Job.id)
            .where(Job.status.not_in(("queued", "running")))
        ).all()
    for job_id, staging, project_id, created in found:
        if staging:
            _discard(db, job_id, project_id, created=created)
        else:
            _discard(db, job_id, None, created=Created())
    for job_id in set(ended) - {job_id for job_id, *_ in found}:
        _discard(db, job_id, None, created=Created())
    return [job_id for job_id, *_ in found]


def _discard(
    db: Database,
    job_id: int,
    project_id: int | None,
    *,
    created: Created,
    pacer: Pacer | None = None,
) -> None:
    """Remove what a staged import wrote: its hidden projects (the staging one, and the one it
    was creating) and, in ``project_id``, the records it staged and what it added (``created``);
    rows a chunk per transaction, so that no transaction is long."""
    with db.session() as session:
        hidden = list(session.scalars(select(Project.id).where(Project.import_job_id == job_id)))
        hidden_tasks = list(
            session.scalars(select(LabelingTask.id).where(LabelingTask.project_id.in_(hidden)))
        )
    pacer = pacer or Pacer(None)
    _delete_chunked(db, pacer, Annotation.id, Annotation.task_id.in_(hidden_tasks))
    _delete_chunked(db, pacer, ManualState.record_id, ManualState.task_id.in_(hidden_tasks))
    for project in hidden:
        _delete_chunked(db, pacer, Record.id, Record.project_id == project)
    if project_id is not None:
        # Through the project's (project_id, id) index: staged records have no index of their
        # own (one less to write each).
        _delete_chunked(
            db,
            pacer,
            Record.id,
            and_(Record.project_id == project_id, Record.import_job_id == job_id),
        )
    with db.session() as session:
        session.execute(delete(Label).where(Label.id.in_(created.labels)))
        session.execute(delete(LabelingTask).where(LabelingTask.id.in_(created.tasks)))
        session.execute(delete(Attribute).where(Attribute.id.in_(created.attributes)))
        # The job stays listed with how it ended: not deleted with the project it was creating.
        session.execute(
            update(Job).where(Job.project_id.in_(hidden)).values(project_id=None, staging=False)
        )
        session.execute(delete(Project).where(Project.id.in_(hidden)))
        session.execute(update(Job).where(Job.id == job_id).values(staging=False))


def _delete_chunked(
    db: Database, pacer: Pacer, column: Any, condition: ColumnElement[bool]
) -> None:
    """Delete the rows that match, 5,000 a transaction, in the order of ``column``."""
    last = -1
    while True:
        pacer.before_chunk()
        with db.session() as session:
            ids = list(
                session.scalars(
                    select(column).where(condition, column > last).order_by(column).limit(5000)
                )
            )
            if not ids:
                return
            execute_bulk(session, delete(column.class_).where(condition, column.in_(ids)))
            last = ids[-1]
        pacer.after_chunk()
