"""An import in the caller's transaction: all or nothing, for tables that fit in one chunk,
and for samples, archives and DataFrames."""

from __future__ import annotations

from sqlalchemy.orm import Session

from assay.runtime.job_runner import Progress, no_progress
from assay.services import projects
from assay.services.files import Table
from assay.services.importing.labels import import_labels
from assay.services.importing.planning import ImportOptions, Plan, plan_import
from assay.services.importing.stored import chunk_columns, store
from assay.services.importing.writing import (
    ImportResult,
    attribute_docs,
    begin,
    mark_records_updated,
    merge_text_index,
    write_records,
)


def import_table(
    session: Session,
    project_name: str,
    table: Table,
    options: ImportOptions,
    progress: Progress = no_progress,
) -> ImportResult:
    """Create or update records (and labels) of a project from a table, in this session.

    The caller's transaction makes it all-or-nothing; the project is created when missing.
    """
    plan = plan_import(session, project_name, table, options)
    return import_planned(session, plan, project_name, options, progress)


def import_planned(
    session: Session, plan: Plan, project_name: str, options: ImportOptions, progress: Progress
) -> ImportResult:
    progress(0.05, "checked the file")
    # Tokenize before the first write: it is the slow part, and on SQLite a write
    # transaction locks out every other writer until it ends.
    rows = range(plan.prepared.n_rows)
    stored = store(chunk_columns(plan, rows), plan.language)
    progress(0.4, "tokenized")
    project, attributes = begin(session, plan, project_name, import_job_id=None)
    result = ImportResult(project=project.name)
    result.record_ids = write_records(session, plan, project, attributes, rows, stored, None)
    result.updated = len(plan.existing)
    result.created = plan.prepared.n_rows - result.updated
    progress(0.85, "wrote records, text and tokens")
    for column in plan.label_columns:
        result.labels += import_labels(
            session,
            project,
            plan.table,
            column,
            result.record_ids,
            plan.prepared,
            stored,
            options.annotator,
        )
        result.tasks.append(column.task)
    projects.touch(session, project)
    mark_records_updated(session, project, plan)
    merge_text_index(session)
    session.flush()
    result.attributes = attribute_docs(attributes)
    progress(1.0, "done")
    return result
