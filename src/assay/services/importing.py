"""Import records (and refinery-style label columns) from a table, all or nothing.

The work is done in two phases: everything that can fail (types, keys, sizes, labels, spans,
tokens) is checked and prepared in memory first; then one transaction writes it, or, for a
large import, short transactions stage it where nobody looks and one last short one swaps it
in (:func:`import_staged`). A failed import leaves the project exactly as it was.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from itertools import repeat
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from assay.errors import Conflict, ImportFileError, NotFound, ValidationError
from assay.services import annotating, jobs, projects, records, refinery_columns, tasks, tokens
from assay.services.files import Table
from assay.services.names import check_characters
from assay.storage import bulk
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
    RecordText,
    core_table,
)

IMPORT_SOURCE_ID = "import"
_INT = re.compile(r"^[+-]?\d+$")
_BOOL = {"true": True, "false": False}

Progress = Callable[[float, str], None]
Into = Literal["new", "existing", "any"]
"""Where an import goes: a new project (refused when the name is taken), an existing one
(refused when missing), or either (the Python API's default: create when missing)."""


def _no_progress(_done: float, _message: str) -> None:
    return None


@dataclass(frozen=True)
class ImportOptions:
    """How to read a table: key columns, type overrides, the annotator of imported manual
    labels, the tokenizer language of a new project, the largest cell accepted, and whether
    the project must be new or must exist (:data:`Into`)."""

    primary_key: list[str] | None = None
    types: dict[str, str] | None = None
    annotator: str = "import"
    language: str = "en"
    max_cell_bytes: int = 1_000_000
    into: Into = "any"


@dataclass
class LabelColumn:
    column: str
    attribute: str | None
    task: str
    source: str
    values: list[Any]
    confidences: list[Any] | None = None


@dataclass
class ImportResult:
    project: str
    created: int = 0
    updated: int = 0
    attributes: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    labels: int = 0
    record_ids: list[int] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "created": self.created,
            "updated": self.updated,
            "attributes": self.attributes,
            "tasks": self.tasks,
            "labels": self.labels,
        }


def _where(table: Table, row: int, column: str) -> dict[str, Any]:
    return {"file": table.source, "row": row + 1, "column": column}


def infer_type(table: Table, name: str, values: list[Any]) -> str:
    """Data type of a column: integer, float, boolean, category or text."""
    present = [v for v in values if v is not None and v != ""]
    if not present:
        return "text"
    if table.textual:
        # Plain digits need no pattern match per value (present values are not empty).
        if all(map(str.isdecimal, present)) or all(_INT.match(v) for v in present):
            return "integer"
        if all(v.strip().lower() in _BOOL for v in present):
            return "boolean"
        try:
            for v in present:
                float(v)
            return "float"
        except ValueError:
            pass
        return _text_or_category(present)
    kinds: dict[str, int] = {}
    for row, v in enumerate(values):
        if v is None:
            continue
        kind = (
            "boolean"
            if isinstance(v, bool)
            else "integer"
            if isinstance(v, int)
            else "float"
            if isinstance(v, float)
            else "string"
            if isinstance(v, str)
            else "nested"
        )
        kinds.setdefault(kind, row)
    if set(kinds) == {"integer", "float"}:
        return "float"
    if len(kinds) > 1:
        described = ", ".join(
            f"{k} in row {r + 1}" for k, r in sorted(kinds.items(), key=lambda x: x[1])
        )
        raise ImportFileError(
            f"{table.source}: column {name!r} mixes types ({described}); "
            f"clean the column or set its type, e.g. --type {name}=text",
            file=table.source,
            column=name,
        )
    kind = next(iter(kinds))
    if kind == "nested":
        row = kinds["nested"]
        raise ImportFileError(
            f"{table.source}: column {name!r} holds lists or objects (row {row + 1}); "
            "attributes hold plain values",
            **_where(table, row, name),
        )
    if kind == "string":
        return _text_or_category([v for v in values if v is not None])
    return kind


def _text_or_category(values: list[str]) -> str:
    # The cheap tests first: the set of a column of long texts is the costly one.
    if len(values) < 20 or max(map(len, values)) > 50:
        return "text"
    return "category" if len(set(values)) <= max(2, min(50, len(values) // 5)) else "text"


def coerce(table: Table, name: str, values: list[Any], data_type: str, limit: int) -> list[Any]:
    """Values converted to the attribute type; errors name the row."""
    kinds = set(map(type, values))
    # Whole columns that need no conversion, or one int() each: no per-value branching.
    if data_type in projects.STRING_TYPES and kinds <= {str, type(None)}:
        strings = [v for v in values if v is not None]
        if not strings or max(map(len, strings)) <= limit // 4:  # at most 4 bytes a character
            return list(values)
    elif data_type == "integer" and kinds == {int}:
        return list(values)
    elif data_type == "integer" and kinds == {str} and "" not in values:
        try:
            return list(map(int, values))
        except ValueError:
            pass  # the loop below names the row
    out: list[Any] = []
    for row, v in enumerate(values):
        if v is None or (v == "" and data_type not in projects.STRING_TYPES):
            out.append(None)
            continue
        try:
            if data_type in projects.STRING_TYPES:
                if isinstance(v, (dict, list)):
                    raise ValueError("a list or object")
                text = v if isinstance(v, str) else json.dumps(v) if isinstance(v, bool) else str(v)
                if len(text) > limit // 4 and len(text.encode()) > limit:
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {name!r}: the cell holds "
                        f"{len(text.encode()):,} bytes, over the limit of {limit:,} "
                        "(ASSAY_MAX_CELL_BYTES)",
                        **_where(table, row, name),
                    )
                out.append(text)
            elif data_type == "integer":
                if isinstance(v, bool):
                    raise ValueError(v)
                if isinstance(v, float):
                    if not v.is_integer():
                        raise ValueError(v)
                    v = int(v)
                out.append(int(v))
            elif data_type == "float":
                if isinstance(v, bool):
                    raise ValueError(v)
                number = float(v)
                if not math.isfinite(number):
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {name!r}: {v!r} is not a finite "
                        "number; assay stores finite numbers only (leave the cell empty for a "
                        f"missing value, or keep the column as text: --type {name}=text)",
                        **_where(table, row, name),
                    )
                out.append(number)
            elif data_type == "boolean":
                if isinstance(v, bool):
                    out.append(v)
                elif isinstance(v, str) and v.strip().lower() in _BOOL:
                    out.append(_BOOL[v.strip().lower()])
                elif v in (0, 1):
                    out.append(bool(v))
                else:
                    raise ValueError(v)
            else:
                raise ValidationError(f"unknown data type {data_type!r}", attribute=name)
        except (ValueError, TypeError) as exc:
            raise ImportFileError(
                f"{table.source}: row {row + 1}, column {name!r}: {v!r} is not a valid {data_type}",
                **_where(table, row, name),
            ) from exc
    return out


def _parse_label_cell(table: Table, column: str, row: int, value: Any) -> Any:
    """A label cell: a label name, a list of names, or a list of span objects (JSON in CSV)."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ImportFileError(
                    f"{table.source}: row {row + 1}, column {column!r}: invalid JSON list: "
                    f"{exc.msg}",
                    **_where(table, row, column),
                ) from exc
        return stripped
    return value


def split_columns(table: Table) -> tuple[list[str], list[LabelColumn]]:
    """Attribute columns, and label columns in the refinery export style."""
    attribute_columns: list[str] = []
    label_columns: dict[refinery_columns.ColumnName, LabelColumn] = {}
    confidence_columns: dict[refinery_columns.ColumnName, list[Any]] = {}
    for name, values in table.columns.items():
        label = refinery_columns.parse(name)
        if label is None:
            attribute_columns.append(name)
        elif label.confidence:
            confidence_columns[replace(label, confidence=False)] = values
        else:
            parsed = [_parse_label_cell(table, name, i, v) for i, v in enumerate(values)]
            label_columns[label] = LabelColumn(
                name, label.attribute, label.task, label.source, parsed
            )
    for key, values in confidence_columns.items():
        if key in label_columns:
            label_columns[key].confidences = values
    return attribute_columns, list(label_columns.values())


def _task_type_of(column: LabelColumn) -> str:
    for value in column.values:
        if isinstance(value, list) and value:
            return "extraction" if isinstance(value[0], dict) else "multi-label"
    return "classification"


@dataclass
class _Prepared:
    attributes: list[tuple[str, str, bool]]  # name, type, is key
    values: dict[str, list[Any]]
    keys: list[str | None]
    n_rows: int


def prepare(
    session: Session,
    project: Project | None,
    table: Table,
    attribute_columns: list[str],
    primary_key: list[str] | None,
    types: dict[str, str],
    limit: int,
) -> _Prepared:
    existing = {a.name: a for a in projects.attributes(session, project)} if project else {}
    existing_key = [a.name for a in existing.values() if a.is_primary_key]
    if existing and primary_key and sorted(primary_key) != sorted(existing_key):
        raise ValidationError(
            f"project {project.name if project else ''!r} has the primary key "
            f"{existing_key or 'none'}; an import cannot change it",
            primary_key=primary_key,
        )
    key_names = existing_key if existing else list(primary_key or [])
    for name in key_names:
        if name not in attribute_columns:
            raise ImportFileError(
                f"{table.source}: the primary-key column {name!r} is missing",
                file=table.source,
                column=name,
            )
    if not existing:
        # A new key takes the column order: the attribute order references resolve in.
        key_names = [name for name in attribute_columns if name in key_names]
    for name, data_type in types.items():
        if name not in attribute_columns:
            raise ValidationError(f"--type names {name!r}, which is not a column", column=name)
        if data_type not in projects.DATA_TYPES:
            raise ValidationError(
                f"unknown type {data_type!r} for {name!r}; "
                f"use one of {', '.join(projects.DATA_TYPES)}",
                column=name,
            )
    planned: list[tuple[str, str, bool]] = []
    values: dict[str, list[Any]] = {}
    for name in attribute_columns:
        raw = table.columns[name]
        if name in existing and existing[name].code is not None:
            raise ImportFileError(
                f"{table.source}: the column {name!r} is the calculated attribute {name!r}, "
                "whose values its code computes: leave the column out (or delete the attribute)",
                file=table.source,
                column=name,
            )
        if name in existing:
            data_type = existing[name].data_type
            if name in types and types[name] != data_type:
                raise ValidationError(
                    f"attribute {name!r} is already of type {data_type}", attribute=name
                )
        else:
            data_type = types.get(name) or infer_type(table, name, raw)
        values[name] = coerce(table, name, raw, data_type, limit)
        planned.append((name, data_type, name in key_names))
    keys: list[str | None] = [None] * table.n_rows
    if key_names:
        columns = [values[name] for name in key_names]
        keys = list(records.canonical_keys(columns))
        if any(None in c or "" in c for c in columns) or len(set(keys)) < len(keys):
            _check_keys(table, key_names, columns)
    return _Prepared(planned, values, keys, table.n_rows)


def _check_keys(table: Table, key_names: list[str], columns: list[list[Any]]) -> None:
    """Raise on the first row with an empty primary key or one that an earlier row has."""
    seen: dict[str, int] = {}
    for row, parts in enumerate(zip(*columns, strict=True)):
        if any(p is None or p == "" for p in parts):
            raise ImportFileError(
                f"{table.source}: row {row + 1} has an empty primary key ({', '.join(key_names)})",
                file=table.source,
                row=row + 1,
            )
        key = records.canonical_key(list(parts))
        if key in seen:
            raise ImportFileError(
                f"{table.source}: rows {seen[key] + 1} and {row + 1} have the same primary "
                f"key {', '.join(f'{n}={p}' for n, p in zip(key_names, parts, strict=True))}",
                file=table.source,
                row=row + 1,
            )
        seen[key] = row


@dataclass
class _Plan:
    """A checked import, before any write: what to create and with which values."""

    table: Table
    project: Project | None
    prepared: _Prepared
    label_columns: list[LabelColumn]
    existing: dict[str, int]  # primary key -> id of the records this import updates
    language: str


def check_into(session: Session, project_name: str, into: Into) -> Project | None:
    """The project an import goes to (``None``: it creates it), refused when ``into`` says
    it must be new and the name is taken, or must exist and it does not."""
    if into == "existing":
        return projects.get(session, project_name)
    project = projects.find(session, project_name)
    if into == "new" and project is not None:
        raise Conflict(
            f"project {project_name!r} already exists: choose another name for a new "
            "project, or add the file to it explicitly (assay import --add; "
            "into=existing in the API)",
            project=project_name,
        )
    return project


def plan_import(session: Session, project_name: str, table: Table, options: ImportOptions) -> _Plan:
    """Check a table against the project (if any); reads, never writes."""
    project = check_into(session, project_name, options.into)
    if table.n_rows == 0:
        raise ImportFileError(f"{table.source}: no rows", file=table.source)
    attribute_columns, label_columns = split_columns(table)
    for column in attribute_columns:  # attribute names, kept as the file spells them
        check_characters(column, "column", file=table.source, column=column)
    if not attribute_columns:
        raise ImportFileError(f"{table.source}: no attribute columns", file=table.source)
    prepared = prepare(
        session,
        project,
        table,
        attribute_columns,
        options.primary_key,
        options.types or {},
        options.max_cell_bytes,
    )
    existing: dict[str, int] = {}
    if project is not None and any(k is not None for k in prepared.keys):
        wanted = {k for k in prepared.keys if k is not None}
        rows = session.execute(
            select(Record.key, Record.id).where(
                Record.project_id == project.id, Record.key.is_not(None)
            )
        ).all()
        existing = {k: i for k, i in rows if k in wanted}
    language = project.language if project else options.language
    return _Plan(table, project, prepared, label_columns, existing, language)


def import_table(
    session: Session,
    project_name: str,
    table: Table,
    options: ImportOptions = ImportOptions(),
    progress: Progress = _no_progress,
) -> ImportResult:
    """Create or update records (and labels) of a project from a table, in this session.

    The caller's transaction makes it all-or-nothing; the project is created when missing.
    """
    plan = plan_import(session, project_name, table, options)
    return _import_planned(session, plan, project_name, options, progress)


def _import_planned(
    session: Session, plan: _Plan, project_name: str, options: ImportOptions, progress: Progress
) -> ImportResult:
    progress(0.05, "checked the file")
    # Tokenize before the first write: it is the slow part, and on SQLite a write
    # transaction locks out every other writer until it ends.
    rows = range(plan.prepared.n_rows)
    stored = _store(_chunk_columns(plan, rows), plan.language)
    progress(0.4, "tokenized")
    project, attributes = _begin(session, plan, project_name, import_job_id=None)
    result = ImportResult(project=project.name)
    result.record_ids = _write_records(session, plan, project, attributes, rows, stored, None)
    result.updated = len(plan.existing)
    result.created = plan.prepared.n_rows - result.updated
    progress(0.85, "wrote records, text and tokens")
    for column in plan.label_columns:
        result.labels += _import_labels(
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
    _records_updated(session, project, plan)
    merge_text_index(session)
    session.flush()
    result.attributes = _attribute_docs(attributes)
    progress(1.0, "done")
    return result


def _records_updated(session: Session, project: Project, plan: _Plan) -> None:
    """Records this import changed keep their calculated values until the attribute runs
    again: its last run says so (its state becomes ``stale``)."""
    if not plan.existing:
        return
    for attribute in projects.attributes(session, project):
        if attribute.code is not None and attribute.last_run is not None:
            attribute.last_run = {**attribute.last_run, "records_updated": True}


def import_staged(
    db: Database,
    project_name: str,
    table: Table,
    options: ImportOptions,
    *,
    job_id: int,
    chunk_size: int = 5_000,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Import a large table in short transactions, invisible until one last short one.

    Each chunk is written in its own transaction, where nobody looks: new records marked
    with the job (queries hide them while the job is staging), new versions of the records
    it updates in a hidden project, its labels under hidden tasks (:class:`_Stage`). The
    final transaction swaps them in with a few set-based statements and clears the job's
    staging flag (and shows a project the import created), so everything appears at once.
    On any failure the staged rows are removed. Small imports run in one transaction
    instead (:func:`import_table`).
    """
    with db.session() as session:
        plan = plan_import(session, project_name, table, options)
    n = plan.prepared.n_rows
    if n <= chunk_size:
        with db.session() as session:
            return _import_planned(session, plan, project_name, options, progress)
    progress(0.05, "checked the file")
    created_project = plan.project is None
    created = _Created()
    with db.session() as session:
        known = (
            {a.id for a in projects.attributes(session, plan.project)} if plan.project else set()
        )
        project, attributes = _begin(session, plan, project_name, import_job_id=job_id)
        created.attributes = [a.id for a in attributes if a.id not in known]
        stage = _Stage.begin(session, plan, project, job_id, created, options.annotator)
        # Kept with the job, so that recover() can remove them after a crash too.
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(staging=True, project_id=project.id, result={"staged": asdict(created)})
        )
    result = ImportResult(project=project.name, tasks=[c.task for c in plan.label_columns])
    chunks = [range(i, min(n, i + chunk_size)) for i in range(0, n, chunk_size)]
    swapped = False
    try:
        with (
            tokens.workers(plan.language) as workers,
            _pacing(db) as pacer,
        ):
            # Workers prepare the next chunks while this process writes the current one.
            ahead = [
                workers.submit(_store, _chunk_columns(plan, rows), plan.language)
                for rows in chunks[:2]
            ]
            for number, rows in enumerate(chunks):
                stored = ahead.pop(0).result()
                if number + 2 < len(chunks):
                    following = _chunk_columns(plan, chunks[number + 2])
                    ahead.append(workers.submit(_store, following, plan.language))
                pacer.before_chunk()
                with db.session() as session:
                    labels = stage.label_rows(session, plan, rows, stored)
                    ids = _write_records(
                        session, plan, project, attributes, rows, stored, job_id, stage.shadow.id
                    )
                    result.labels += stage.write_labels(session, labels, ids)
                    result.record_ids += ids
                with db.session() as session:
                    merge_text_index(session)
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
                _records_updated(session, project, plan)
            swapped = True
            pacer.after_chunk()  # its pages out of the WAL now, not in the next label's commit
            _discard(db, job_id, None, created=_Created(), pacer=pacer)  # the staging project
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
    result.attributes = _attribute_docs(attributes)
    progress(1.0, "done")
    return result


@dataclass
class _Created:
    """What a staged import added to an existing project before its rows (ids): removed
    again when it fails, or by :func:`recover` when its process died."""

    attributes: list[int] = field(default_factory=list)
    tasks: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)


@dataclass
class _StagedColumn:
    column: LabelColumn
    task: LabelingTask
    target: str | None
    labels: _Labels
    hidden: int  # the id of the staging task that holds the column's labels until the swap


STAGING_PROJECT = "/staging/import-{}"  # a "/" no project name can hold: never taken


@dataclass
class _Stage:
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
        plan: _Plan,
        project: Project,
        job_id: int,
        created: _Created,
        annotator: str,
    ) -> _Stage:
        shadow = Project(
            name=STAGING_PROJECT.format(job_id), language=plan.language, import_job_id=job_id
        )
        session.add(shadow)
        session.flush()
        known = {t.id for t in tasks.list_tasks(session, project)}
        columns = []
        for number, column in enumerate(plan.label_columns):
            task, target = _label_task(session, project, plan.table, column)
            if task.id not in known:
                known.add(task.id)
                created.tasks.append(task.id)
            labels = _Labels(session, task)
            labels.add_all(column)
            if task.id not in created.tasks:
                created.labels += labels.created
            hidden = LabelingTask(project_id=shadow.id, name=str(number), task_type="staging")
            session.add(hidden)
            session.flush()
            columns.append(_StagedColumn(column, task, target, labels, hidden.id))
        return cls(shadow, columns, annotator)

    def label_rows(
        self, session: Session, plan: _Plan, rows: range, stored: _Stored
    ) -> list[list[dict[str, Any]]]:
        """The checked labels of these rows, per column, each row's position in ``rows`` in
        place of its record's id: made before the chunk's first write, as on SQLite the
        write lock is held from there to the commit."""
        out = []
        for staged in self.columns:
            staged.labels.session = session
            positions = list(range(len(rows)))
            out.append(
                _label_rows(
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
                session.execute(
                    insert(core_table(Annotation)), _owned(new, staged.column, self.annotator)
                )
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
        _bulk(
            session,
            delete(RecordText).where(
                RecordText.record_id.in_(select(replaced).where(in_stage)),
                RecordText.attribute_id.in_([a.id for a in attributes]),
            ),
        )
        _bulk(
            session,
            update(RecordText)
            .where(RecordText.record_id == version.id, in_stage)
            .values(record_id=replaced),
        )
        _bulk(
            session,
            update(Record)
            .where(Record.id == replaced, in_stage)
            .values(data=version.data, content_hash=version.content_hash),
        )
        for staged in self.columns:
            task, column = staged.task, staged.column
            marked = select(ManualState.record_id).where(ManualState.task_id == staged.hidden)
            # The labels this import replaces: the importer's on the records the column names.
            _bulk(
                session,
                delete(Annotation).where(
                    Annotation.record_id.in_(marked), *_replaced(task.id, column, self.annotator)
                ),
            )
            _bulk(
                session,
                update(Annotation)
                .where(Annotation.task_id == staged.hidden)
                .values(task_id=task.id),
            )
            if column.source != annotating.MANUAL:
                continue
            _bulk(
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
            _bulk(
                session,
                update(ManualState)
                .where(ManualState.task_id == staged.hidden, ManualState.state != "-")
                .values(task_id=task.id),
            )
            # Where others labeled the record too (now, in this transaction), the rule decides.
            annotating.refresh_reference(session, task, shared)


def _bulk(session: Session, statement: Any) -> None:
    """A set-based UPDATE or DELETE, without SQLAlchemy's fetch of the rows it changed (to
    keep objects in the session in sync; there are none): on SQLite that fetch took as long
    as the statement (measured)."""
    session.execute(statement, execution_options={"synchronize_session": False})


def recover(db: Database) -> list[int]:
    """Fail the import jobs whose process died, and remove the rows they had staged; also
    remove hidden projects left by jobs that ended (a clean-up that failed)."""
    with db.session() as session:
        found = [
            (job.id, job.staging, job.project_id, _Created(**(job.result or {}).get("staged", {})))
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
            _discard(db, job_id, None, created=_Created())
    for job_id in set(ended) - {job_id for job_id, *_ in found}:
        _discard(db, job_id, None, created=_Created())
    return [job_id for job_id, *_ in found]


def _discard(
    db: Database,
    job_id: int,
    project_id: int | None,
    *,
    created: _Created,
    pacer: _Pacer | None = None,
) -> None:
    """Remove what a staged import wrote: its hidden projects (the staging one, and the one it
    was creating) and, in ``project_id``, the records it staged and what it added (``created``);
    rows a chunk per transaction, so that no transaction is long."""
    with db.session() as session:
        hidden = list(session.scalars(select(Project.id).where(Project.import_job_id == job_id)))
        hidden_tasks = list(
            session.scalars(select(LabelingTask.id).where(LabelingTask.project_id.in_(hidden)))
        )
    pacer = pacer or _Pacer(None)
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
    db: Database, pacer: _Pacer, column: Any, condition: ColumnElement[bool]
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
            _bulk(session, delete(column.class_).where(condition, column.in_(ids)))
            last = ids[-1]
        pacer.after_chunk()


def _attribute_docs(attributes: list[Attribute]) -> list[dict[str, Any]]:
    return [
        {"name": a.name, "data_type": a.data_type, "primary_key": a.is_primary_key}
        for a in attributes
    ]


def _chunk_columns(plan: _Plan, rows: range) -> list[tuple[str, str, list[Any]]]:
    """Name, data type and the values in these rows, of each attribute (in plan order)."""
    return [
        (name, data_type, plan.prepared.values[name][rows.start : rows.stop])
        for name, data_type, _ in plan.prepared.attributes
    ]


@dataclass
class _Stored:
    """Rows of a chunk as they are stored: each row's encoded data and content hash, and of
    each present text or category value: its row (in the chunk), attribute (by position in
    the plan), folded text and token offsets (None for a category)."""

    data: list[str]
    hashes: list[str]
    text_rows: list[int]
    text_attributes: list[int]
    folded: list[str]
    offsets: list[bytes | None]


def _store(columns: list[tuple[str, str, list[Any]]], language: str) -> _Stored:
    """The stored form of a chunk's rows; runs in a worker process (:func:`tokens.workers`),
    so that the writing process only inserts."""
    data = records.encode_columns([name for name, _, _ in columns], [v for _, _, v in columns])
    stored = _Stored(data, [records.hash_encoded(d) for d in data], [], [], [], [])
    for position, (_, data_type, values) in enumerate(columns):
        if data_type not in projects.STRING_TYPES:
            continue
        rows = [row for row, value in enumerate(values) if value is not None]
        present = [values[row] for row in rows]
        stored.text_rows += rows
        stored.text_attributes += [position] * len(rows)
        stored.folded += [value.casefold() for value in present]
        stored.offsets += (
            list(tokens.tokenize(present, language))
            if data_type == "text"
            else [None] * len(present)
        )
    return stored


def _begin(
    session: Session, plan: _Plan, project_name: str, import_job_id: int | None
) -> tuple[Project, list[Attribute]]:
    project = plan.project
    if project is None:
        project = projects.create(session, project_name, language=plan.language)
        project.import_job_id = import_job_id
    return project, _ensure_attributes(session, project, plan.prepared)


def _write_records(
    session: Session,
    plan: _Plan,
    project: Project,
    attributes: list[Attribute],
    rows: range,
    stored: _Stored,
    import_job_id: int | None,
    versions_in: int | None = None,
) -> list[int]:
    """Insert or update the records of these rows with their folded text and tokens; the id
    of each row's record. With ``versions_in`` (a staged import's hidden project) an update
    writes a new version of the record there instead, for :meth:`_Stage.swap`."""
    values = plan.prepared.values
    keys = plan.prepared.keys[rows.start : rows.stop]
    names = [a.name for a in attributes]
    # The record each row updates (0: none, a new record), then the id of each row's record.
    record_ids = [0 if key is None else plan.existing.get(key, 0) for key in keys]
    # Whose texts each row's are: its record's, or its new version's; None: no change.
    owners: list[int | None] = list(record_ids)
    versions: list[tuple[int, str, str]] = []  # position, encoded data, hash
    updated = [(record_id, position) for position, record_id in enumerate(record_ids) if record_id]
    for start in range(0, len(updated), 500):
        chunk = [
            (record_id, {name: values[name][rows[position]] for name in names})
            for record_id, position in updated[start : start + 500]
        ]
        before = {
            record_id: (data, content_hash)
            for record_id, data, content_hash in session.execute(
                select(Record.id, Record.data, Record.content_hash).where(
                    Record.id.in_([i for i, _ in chunk])
                )
            )
        }
        _check_spans_survive(
            session, plan, attributes, chunk, {i: data for i, (data, _) in before.items()}
        )
        for (record_id, data), (_, position) in zip(
            chunk, updated[start : start + 500], strict=True
        ):
            merged = {**before[record_id][0], **data}
            if versions_in is None:
                session.execute(
                    update(Record)
                    .where(Record.id == record_id)
                    .values(data=merged, content_hash=records.content_hash(merged))
                )
                continue
            encoded = records.encode(merged)
            hashed = records.hash_encoded(encoded)
            if hashed == before[record_id][1]:
                owners[position] = None
            else:
                versions.append((position, encoded, hashed))
    attribute_ids = [a.id for a in attributes]
    if versions_in is None:
        for start in range(0, len(updated), 500):
            session.execute(
                delete(RecordText).where(
                    RecordText.record_id.in_([i for i, _ in updated[start : start + 500]]),
                    RecordText.attribute_id.in_(attribute_ids),
                )
            )
    new = [position for position, record_id in enumerate(record_ids) if not record_id]
    if new or versions:
        allocated = _allocate_ids(session, project, len(new) + len(versions))
        for position, record_id in zip(new, allocated, strict=False):
            record_ids[position] = owners[position] = record_id
        for (position, _, _), version_id in zip(versions, allocated[len(new) :], strict=True):
            owners[position] = version_id
        bulk.insert_rows(
            session,
            "record",
            ("id", "project_id", "key", "data", "content_hash", "import_job_id"),
            [
                *zip(
                    allocated,
                    repeat(project.id),
                    [keys[p] for p in new],
                    [stored.data[p] for p in new],
                    [stored.hashes[p] for p in new],
                    repeat(import_job_id),
                ),
                *(
                    (version_id, versions_in, str(record_ids[p]), encoded, hashed, import_job_id)
                    for (p, encoded, hashed), version_id in zip(
                        versions, allocated[len(new) :], strict=True
                    )
                ),
            ],
        )
    _insert_texts(
        session,
        (
            (owner, attribute_ids[a], folded, offsets)
            for row, a, folded, offsets in zip(
                stored.text_rows, stored.text_attributes, stored.folded, stored.offsets, strict=True
            )
            if (owner := owners[row]) is not None
        ),
    )
    return record_ids


def _check_spans_survive(
    session: Session,
    plan: _Plan,
    attributes: list[Attribute],
    chunk: list[tuple[int, dict[str, Any]]],
    stored: dict[int, dict[str, Any]],
) -> None:
    """Refuse an update that changes a text that has labeled spans: its token indices would
    point at other words. The user removes those labels first (or keeps the text)."""
    texts = {a.id: a.name for a in attributes if a.data_type == "text"}
    changed = [
        (record_id, attribute_id)
        for record_id, data in chunk
        for attribute_id, name in texts.items()
        if data.get(name) != stored[record_id].get(name)
    ]
    if not changed:
        return
    spans = session.execute(
        select(Annotation.record_id, LabelingTask.attribute_id, func.count())
        .join(LabelingTask, LabelingTask.id == Annotation.task_id)
        .where(
            Annotation.record_id.in_({r for r, _ in changed}),
            LabelingTask.attribute_id.in_({a for _, a in changed}),
            Annotation.span_start.is_not(None),
        )
        .group_by(Annotation.record_id, LabelingTask.attribute_id)
    ).all()
    pairs = set(changed)
    for record_id, attribute_id, count in spans:
        if attribute_id is not None and (record_id, attribute_id) in pairs:
            key = next(k for k, i in plan.existing.items() if i == record_id)
            raise ImportFileError(
                f"{plan.table.source}: the upload changes {texts[attribute_id]!r} of the record "
                f"with key {key}, which has {count} labeled span(s) on that text; remove those "
                "labels first or keep the text",
                file=plan.table.source,
                column=texts[attribute_id],
            )


def _insert_texts(session: Session, rows: Iterable[tuple[int, int, str, bytes | None]]) -> None:
    """Insert folded texts and their tokens; on SQLite also into the substring index, in the
    same transaction."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    before = session.scalar(select(func.max(RecordText.id))) or 0 if sqlite else 0
    bulk.insert_rows(
        session, "record_text", ("record_id", "attribute_id", "folded", "offsets"), rows
    )
    if sqlite:
        session.execute(
            text(
                "INSERT INTO record_text_fts(rowid, folded) "
                "SELECT id, folded FROM record_text WHERE id > :before"
            ),
            {"before": before},
        )


def merge_text_index(session: Session) -> None:
    """A bounded step of merging the SQLite substring index's segments (see migration 0002);
    nothing to do on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO record_text_fts(record_text_fts, rank) VALUES ('merge', 200)")
        )


class _Pacer:
    """Between the chunks of a staged import on SQLite: checkpoints the WAL, and leaves the
    write lock free for a while when other connections write too (labels during an import).

    SQLite hands a free write lock to whoever asks first, and a writer that waits polls with
    growing sleeps (25 ms apart once it has waited 53 ms, then 50 and 100 ms apart), so
    behind back-to-back chunks it can miss every short gap between them: labels waited up
    to 2 s (measured). Once another connection has committed in a gap, the gaps last
    ``GAP`` for the next ``WINDOW`` seconds, long enough for such a poll to land in one
    (labels then waited at most about 160 ms). An import that writes alone never waits.
    Without a connection (PostgreSQL, which locks rows, not the database) it does nothing.
    """

    GAP = 0.025
    WINDOW = 1.0

    def __init__(self, connection: sqlite3.Connection | None) -> None:
        self._connection = connection
        self._mine = self._version()
        self._others_until = 0.0

    def _version(self) -> int:
        """SQLite's data_version: it changes when another connection commits."""
        if self._connection is None:
            return 0
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def before_chunk(self) -> None:
        if self._version() != self._mine:
            self._others_until = time.monotonic() + self.WINDOW

    def after_chunk(self) -> None:
        if self._connection is None:
            return
        self._mine = self._version()
        # Copy the chunk's pages from the WAL into the database now, in the importer:
        # otherwise the next small commit (a label) may find a large WAL and do it.
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if time.monotonic() < self._others_until:
            time.sleep(self.GAP)


@contextmanager
def _pacing(db: Database) -> Iterator[_Pacer]:
    """A pacer on a connection of its own, held for the import (none on PostgreSQL)."""
    if db.dialect != "sqlite":
        yield _Pacer(None)
        return
    raw = db.engine.raw_connection()
    try:
        yield _Pacer(raw.driver_connection)
    finally:
        raw.close()


def _allocate_ids(session: Session, project: Project, n: int) -> list[int]:
    """Ids for new records, so a bulk insert needs no RETURNING (one statement per row)."""
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('record', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
        )
    # SQLite: a write first, so this transaction holds the write lock before reading max(id).
    projects.touch(session, project)
    start = session.scalar(select(func.max(Record.id))) or 0
    return list(range(start + 1, start + n + 1))


def _ensure_attributes(session: Session, project: Project, prepared: _Prepared) -> list[Attribute]:
    existing = {a.name: a for a in projects.attributes(session, project)}
    position = len(existing)
    for name, data_type, is_key in prepared.attributes:
        if name not in existing:
            attribute = Attribute(
                project_id=project.id,
                name=name,
                data_type=data_type,
                is_primary_key=is_key,
                position=position,
            )
            session.add(attribute)
            position += 1
            existing[name] = attribute
    session.flush()
    return [existing[name] for name, _, _ in prepared.attributes]


def _import_labels(
    session: Session,
    project: Project,
    table: Table,
    column: LabelColumn,
    record_ids: list[int],
    prepared: _Prepared,
    stored: _Stored,
    annotator: str,
) -> int:
    task, target = _label_task(session, project, table, column)
    rows = range(prepared.n_rows)
    labels = _Labels(session, task)
    new = _label_rows(table, column, task, target, labels, rows, record_ids, prepared, stored)
    touched = sorted(set(record_ids))
    for start in range(0, len(touched), 500):
        chunk = touched[start : start + 500]
        session.execute(
            delete(Annotation).where(
                Annotation.record_id.in_(chunk), *_replaced(task.id, column, annotator)
            )
        )
    if new:
        session.execute(insert(core_table(Annotation)), _owned(new, column, annotator))
    if column.source == annotating.MANUAL:
        annotating.refresh_reference(session, task, touched)
    return len(new)


def _replaced(task_id: int, column: LabelColumn, annotator: str) -> list[ColumnElement[bool]]:
    """Which rows of a task an import's label column replaces on the records it names: the
    importer's own (non-gold) manual labels, or the earlier imports' labels of the source."""
    conditions = [Annotation.task_id == task_id, Annotation.source == column.source]
    if column.source == annotating.MANUAL:
        return [*conditions, Annotation.annotator == annotator, Annotation.is_gold.is_(False)]
    return [*conditions, Annotation.source_id == IMPORT_SOURCE_ID]


def _owned(rows: list[dict[str, Any]], column: LabelColumn, annotator: str) -> list[dict[str, Any]]:
    manual = column.source == annotating.MANUAL
    for row in rows:
        row["source_id"] = "" if manual else IMPORT_SOURCE_ID
        row["annotator"] = annotator if manual else ""
    return rows


def _label_task(
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
            _task_type_of(column),
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


class _Labels:
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
        cells that name none are left to :func:`_label_rows`, which says where they are."""
        for value in column.values:
            for item in value if isinstance(value, list) else [value]:
                name = item.get("label") if isinstance(item, dict) else item
                if isinstance(name, str) and name:
                    self.id(name)


def _label_rows(
    table: Table,
    column: LabelColumn,
    task: LabelingTask,
    target: str | None,
    labels: _Labels,
    rows: range,
    record_ids: list[int],
    prepared: _Prepared,
    stored: _Stored,
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
                **_where(table, row, column.column),
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
                    **_where(table, row, column.column + "__confidence"),
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
                    **_where(table, row, column.column),
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
                    **_where(table, row, column.column),
                )
            for span in value:
                try:
                    start, end = int(span["start_token"]), int(span["end_token"])
                    span_text = tokens.span_text(text, blob, start, end)
                except (KeyError, TypeError, ValueError, ValidationError) as exc:
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {column.column!r}: bad span "
                        f"{span!r}: {getattr(exc, 'message', exc)}",
                        **_where(table, row, column.column),
                    ) from exc
                if "text" in span and span["text"] != span_text:
                    raise ImportFileError(
                        f"{table.source}: row {row + 1}, column {column.column!r}: span text "
                        f"{span['text']!r} differs from the tokens' text {span_text!r}",
                        **_where(table, row, column.column),
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
