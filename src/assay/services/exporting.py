"""Export records with their labels (refinery column style) and whole-project archives.

Record exports: JSON (an array), JSONL, CSV and Parquet. Columns: the attributes, then per
task ``<attribute>__<task>__MANUAL`` (``__<task>__MANUAL`` for a task on the whole record)
holding the reference manual label (null in a conflict), and, when the task has weak
supervision results, ``...__WEAK_SUPERVISION`` and ``...__WEAK_SUPERVISION__confidence``.
Multi-label values are lists of names; extraction values are lists of spans
``{label, start_token, end_token, text}``. CSV and Parquet cells hold lists as JSON.

CSV exports escape text that a spreadsheet would run as a formula (OWASP "CSV injection"): a
text cell or column name starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading ``'``, unless ``raw``. Numbers are not text and stay as they are. JSON, JSONL
and Parquet always hold the raw values; JSON has no infinity or NaN, so a non-finite number
is written as null there.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import ValidationError
from assay.runtime.job_runner import Progress, no_progress
from assay.services import annotating, archives, projects, queries, slices, tasks, tokens
from assay.services.cells import defuse, json_text
from assay.services.refinery_columns import column_name, is_confidence
from assay.storage.db import Database
from assay.storage.models import (
    Annotation,
    Attribute,
    LabelingTask,
    Project,
    Record,
    RecordText,
)

RECORD_FORMATS = ("json", "jsonl", "csv", "parquet")
"""What makes a spreadsheet read a text cell as a formula (OWASP, "CSV injection")."""
FORMATS = (*RECORD_FORMATS, "project")
CHUNK = 2000


class _Column:
    def __init__(self, session: Session, task: LabelingTask) -> None:
        self.task = task
        self.attribute = tasks.attribute_name(session, task)
        self.manual = column_name(self.attribute, task.name, "manual")
        self.weak = column_name(self.attribute, task.name, "weak_supervision")
        self.weak_confidence = column_name(
            self.attribute, task.name, "weak_supervision", confidence=True
        )
        self.has_weak = (
            session.scalar(
                select(Annotation.id)
                .where(
                    Annotation.task_id == task.id,
                    Annotation.source == "weak_supervision",
                )
                .limit(1)
            )
            is not None
        )


def iter_rows(
    session: Session,
    project: Project,
    where: Any = None,
    progress: Progress = no_progress,
) -> Iterator[dict[str, Any]]:
    """Export rows in id order, computed a chunk at a time."""
    attributes = projects.attributes(session, project)
    columns = [_Column(session, t) for t in tasks.list_all(session, project)]
    ids = queries.record_ids(session, project, where)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        data: dict[int, dict[str, Any]] = dict(
            session.execute(select(Record.id, Record.data).where(Record.id.in_(chunk))).all()
        )
        labels: list[tuple[_Column, dict[int, Any], dict[int, Any], dict[int, Any]]] = []
        for column in columns:
            manual = annotating.reference_values(session, column.task, chunk)
            weak, confidence = (
                annotating.source_values(session, column.task, chunk, "weak_supervision")
                if column.has_weak
                else ({}, {})
            )
            if column.task.task_type == "extraction":
                _add_span_texts(session, column.task, data, manual, weak)
            labels.append((column, manual, weak, confidence))
        for record_id in chunk:
            row = {a.name: data[record_id].get(a.name) for a in attributes}
            for column, manual, weak, confidence in labels:
                row[column.manual] = manual.get(record_id)
                if column.has_weak:
                    row[column.weak] = weak.get(record_id)
                    row[column.weak_confidence] = confidence.get(record_id)
            yield row
        progress(min(1.0, (start + len(chunk)) / max(1, len(ids))), "exported")


def _add_span_texts(
    session: Session,
    task: LabelingTask,
    data: dict[int, dict[str, Any]],
    *value_maps: dict[int, Any],
) -> None:
    attribute = session.get(Attribute, task.attribute_id)
    assert attribute is not None
    wanted = [i for values in value_maps for i in values]
    blobs = {
        record_id: blob
        for record_id, blob in session.execute(
            select(RecordText.record_id, RecordText.offsets).where(
                RecordText.attribute_id == attribute.id,
                RecordText.record_id.in_(wanted),
            )
        )
        if blob is not None
    }
    for values in value_maps:
        for record_id, spans in values.items():
            text = data[record_id][attribute.name]
            for span in spans:
                span["text"] = tokens.span_text(
                    text, blobs[record_id], span["start_token"], span["end_token"]
                )


def _cell(value: Any) -> Any:
    return json_text(value) if isinstance(value, (list, dict)) else value


def export_file(
    db: Database,
    project: str,
    fmt: str,
    out: Path,
    *,
    slice_name: str | None,
    raw: bool,
    progress: Progress,
) -> dict[str, Any]:
    """An export as a long job: :func:`export_records` in one read; what it wrote."""
    with db.session() as s:
        found = projects.get(s, project)
        count = export_records(
            s, found, fmt, out, slice_name=slice_name, raw=raw, progress=progress
        )
    return {"records": count, "path": str(out), "format": fmt}


def export_records(
    session: Session,
    project: Project,
    fmt: str,
    out: Path,
    *,
    slice_name: str | None = None,
    raw: bool = False,
    progress: Progress = no_progress,
) -> int:
    """Write the project's (or a slice's) records with labels to ``out``; returns the count.
    A CSV escapes text cells that would run as spreadsheet formulas unless ``raw``."""
    if fmt == "project":
        if slice_name:
            raise ValidationError("a project archive holds the whole project; drop --slice")
        return archives.export_archive(session, project, out)
    if fmt not in RECORD_FORMATS:
        raise ValidationError(
            f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", format=fmt
        )
    where = None
    if slice_name:
        slices.get(session, project, slice_name)
        where = {"slice": slice_name}
    rows = iter_rows(session, project, where, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        return _write_parquet(session, project, rows, out)
    with out.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            return _write_csv(rows, handle, header(session, project), raw=raw)
        return {"json": _write_json, "jsonl": _write_jsonl}[fmt](rows, handle)


def header(session: Session, project: Project) -> list[str]:
    """Column names of a records export (also when it has no rows)."""
    names = [a.name for a in projects.attributes(session, project)]
    for task in tasks.list_all(session, project):
        column = _Column(session, task)
        names.append(column.manual)
        if column.has_weak:
            names += [column.weak, column.weak_confidence]
    return names


def _write_json(rows: Iterator[dict[str, Any]], handle: IO[str]) -> int:
    count = 0
    handle.write("[")
    for row in rows:
        handle.write(",\n" if count else "\n")
        handle.write(json_text(row))
        count += 1
    handle.write("\n]\n")
    return count


def _write_jsonl(rows: Iterator[dict[str, Any]], handle: IO[str]) -> int:
    count = 0
    for row in rows:
        handle.write(json_text(row))
        handle.write("\n")
        count += 1
    return count


def _write_csv(
    rows: Iterator[dict[str, Any]], handle: IO[str], names: list[str], *, raw: bool
) -> int:
    cell = _cell if raw else (lambda value: defuse(_cell(value)))
    writer = csv.writer(handle)
    writer.writerow([cell(n) for n in names])
    count = 0
    for row in rows:
        writer.writerow([cell(row.get(n)) for n in names])
        count += 1
    return count


_ARROW_TYPES = {"integer": "int64", "float": "float64", "boolean": "bool"}


def _write_parquet(
    session: Session, project: Project, rows: Iterator[dict[str, Any]], out: Path
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {a.name: a.data_type for a in projects.attributes(session, project)}
    writer: Any = None
    count = 0
    batch: list[dict[str, Any]] = []

    def flush(names: list[str] | None = None) -> None:
        nonlocal writer
        if not batch and names is None:
            return
        names = list(batch[0]) if batch else names or []
        fields = [
            pa.field(
                n,
                pa.float64()
                if is_confidence(n)
                else pa.type_for_alias(_ARROW_TYPES.get(kinds.get(n, ""), "string")),
            )
            for n in names
        ]
        schema = pa.schema(fields)
        table = pa.Table.from_pylist(
            [{k: _cell(v) for k, v in row.items()} for row in batch], schema=schema
        )
        if writer is None:
            writer = pq.ParquetWriter(str(out), schema)
        writer.write_table(table)
        batch.clear()

    for row in rows:
        batch.append(row)
        count += 1
        if len(batch) >= 50_000:
            flush()
    flush()
    if writer is None:  # no rows: still a file, with the columns
        flush(header(session, project))
    writer.close()
    return count
