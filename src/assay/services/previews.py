"""What an import would make of a file, before it runs: the first rows, each column's
inferred type, the label columns it would turn into labeling tasks, and, for a file added to
an existing project, which records it adds and which it updates."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.orm import Session

from assay import documents
from assay.errors import AssayError, ImportFileError
from assay.services import files, importing, projects, tasks
from assay.storage.models import Project


def preview(
    table: files.Table, rows: int = 10, addition: documents.ImportAddition | None = None
) -> documents.FilePreview:
    """Columns with their inferred type (``None`` and a ``problem`` where inference fails:
    the user then picks a type) and the first ``rows`` rows, values as read; ``addition``:
    what adding the file to a project changes (:func:`addition`)."""
    attribute_columns, label_columns = importing.split_columns(table)
    columns: list[documents.PreviewColumn] = []
    for name in attribute_columns:
        column: documents.PreviewColumn = {"name": name, "data_type": None, "problem": None}
        try:
            inferred = importing.infer_type(table, name, table.columns[name])
            column["data_type"] = cast(documents.DataType, inferred)
        except ImportFileError as exc:
            column["problem"] = exc.message
        columns.append(column)
    shown = list(table.columns)
    return {
        "source": table.source,
        "rows": table.n_rows,
        "columns": columns,
        "label_columns": [
            {
                "name": c.column,
                "task": c.task,
                "attribute": c.attribute,
                "source": cast(documents.LabelColumnSource, c.source),
                "labels": sum(v is not None and v != "" and v != [] for v in c.values),
            }
            for c in label_columns
        ],
        "head": [
            {name: _plain(table.columns[name][r]) for name in shown}
            for r in range(min(rows, table.n_rows))
        ],
        "addition": addition,
    }


def addition(
    session: Session, project: Project, table: files.Table, annotator: str, max_cell_bytes: int
) -> documents.ImportAddition:
    """What adding ``table`` to ``project`` would change, checked like the import (reads,
    never writes): records added and updated (by primary key), attributes and tasks it
    creates, and whose labels it adds (``annotator``; weak supervision as the source
    ``import``). A file the import would refuse answers with the reason in ``problem``."""
    attribute_columns, label_columns = importing.split_columns(table)
    known = {a.name for a in projects.attributes(session, project)}
    known_tasks = {t.name for t in tasks.list_all(session, project)}
    doc: documents.ImportAddition = {
        "project": project.name,
        "primary_key": [a.name for a in projects.attributes(session, project) if a.is_primary_key],
        "records_new": None,
        "records_updated": None,
        "attributes_new": [name for name in attribute_columns if name not in known],
        "tasks_new": sorted({c.task for c in label_columns} - known_tasks),
        "annotator": annotator,
        "weak_supervision_source": importing.IMPORT_SOURCE_ID,
        "problem": None,
    }
    options = importing.ImportOptions(max_cell_bytes=max_cell_bytes, into="existing")
    try:
        plan = importing.plan_import(session, project.name, table, options)
    except AssayError as exc:
        doc["problem"] = exc.message
        return doc
    doc["records_updated"] = len(plan.existing)
    doc["records_new"] = table.n_rows - len(plan.existing)
    return doc


def _plain(value: Any) -> Any:
    """A cell as JSON can carry it (dates and other Arrow/Excel values as text)."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
