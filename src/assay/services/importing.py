"""Import records (and refinery-style label columns) from a table, all or nothing.

The work is done in two phases: everything that can fail (types, keys, sizes, labels, spans,
tokens) is checked and prepared in memory first; then one transaction writes it. A failed
import leaves the project exactly as it was.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from assay.errors import ImportFileError, NotFound, ValidationError
from assay.services import annotating, projects, records, tasks, tokens
from assay.services.files import Table
from assay.storage.models import (
    Annotation,
    Attribute,
    Project,
    Record,
    RecordText,
    RecordTokens,
    core_table,
)

LABEL_COLUMN = re.compile(
    r"^(?P<attribute>.*?)__(?P<task>[^_](?:[^_]|_(?!_))*?)__(?P<source>MANUAL|WEAK_SUPERVISION)"
    r"(?P<confidence>__confidence)?$"
)
SOURCE_NAMES = {"MANUAL": "manual", "WEAK_SUPERVISION": "weak_supervision"}
IMPORT_SOURCE_ID = "import"
_INT = re.compile(r"^[+-]?\d+$")
_BOOL = {"true": True, "false": False}

Progress = Callable[[float, str], None]


def _no_progress(_done: float, _message: str) -> None:
    return None


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
        if all(_INT.match(v) for v in present):
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
    distinct = set(values)
    if (
        len(values) >= 20
        and len(distinct) <= max(2, min(50, len(values) // 5))
        and max(len(v) for v in distinct) <= 50
    ):
        return "category"
    return "text"


def coerce(table: Table, name: str, values: list[Any], data_type: str, limit: int) -> list[Any]:
    """Values converted to the attribute type; errors name the row."""
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
                out.append(None if math.isnan(number) else number)
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
    label_columns: dict[tuple[str, str, str], LabelColumn] = {}
    confidence_columns: dict[tuple[str, str, str], list[Any]] = {}
    for name, values in table.columns.items():
        match = LABEL_COLUMN.match(name)
        if match is None:
            attribute_columns.append(name)
            continue
        key = (match["attribute"], match["task"], SOURCE_NAMES[match["source"]])
        if match["confidence"]:
            confidence_columns[key] = values
        else:
            parsed = [_parse_label_cell(table, name, i, v) for i, v in enumerate(values)]
            label_columns[key] = LabelColumn(
                name, match["attribute"] or None, key[1], key[2], parsed
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
        seen: dict[str, int] = {}
        for row in range(table.n_rows):
            parts = [values[name][row] for name in key_names]
            if any(p is None or p == "" for p in parts):
                raise ImportFileError(
                    f"{table.source}: row {row + 1} has an empty primary key "
                    f"({', '.join(key_names)})",
                    file=table.source,
                    row=row + 1,
                )
            key = records.canonical_key(parts)
            if key in seen:
                raise ImportFileError(
                    f"{table.source}: rows {seen[key] + 1} and {row + 1} have the same primary "
                    f"key {', '.join(f'{n}={p}' for n, p in zip(key_names, parts, strict=True))}",
                    file=table.source,
                    row=row + 1,
                )
            seen[key] = row
            keys[row] = key
    return _Prepared(planned, values, keys, table.n_rows)


def import_table(
    session: Session,
    project_name: str,
    table: Table,
    *,
    primary_key: list[str] | None = None,
    types: dict[str, str] | None = None,
    annotator: str = "import",
    language: str = "en",
    max_cell_bytes: int = 1_000_000,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Create or update records (and labels) of a project from a table, in this session.

    The caller's transaction makes it all-or-nothing; the project is created when missing.
    """
    if table.n_rows == 0:
        raise ImportFileError(f"{table.source}: no rows", file=table.source)
    attribute_columns, label_columns = split_columns(table)
    if not attribute_columns:
        raise ImportFileError(f"{table.source}: no attribute columns", file=table.source)
    project = session.scalar(select(Project).where(Project.name == project_name))
    prepared = prepare(
        session,
        project,
        table,
        attribute_columns,
        primary_key,
        types or {},
        max_cell_bytes,
    )
    progress(0.05, "checked the file")
    # Tokenize before the first write: it is the slow part, and on SQLite a write
    # transaction locks out every other writer until it ends.
    token_blobs: dict[str, list[bytes | None]] = {}
    for name, data_type, _ in prepared.attributes:
        if data_type == "text":
            token_blobs[name] = _tokenize_column(
                prepared.values[name], project.language if project else language
            )
    progress(0.4, "tokenized")
    if project is None:
        project = projects.create(session, project_name, language=language)
    attributes = _ensure_attributes(session, project, prepared)
    text_attributes = [a for a in attributes if a.data_type == "text"]
    string_attributes = [a for a in attributes if a.data_type in projects.STRING_TYPES]
    names = [a.name for a in attributes]

    existing: dict[str, int] = {}
    if any(k is not None for k in prepared.keys):
        rows = session.execute(
            select(Record.key, Record.id).where(
                Record.project_id == project.id, Record.key.is_not(None)
            )
        ).all()
        existing = {k: i for k, i in rows if k is not None}

    record_ids: list[int] = []
    result = ImportResult(project=project.name, record_ids=record_ids)
    new_rows: list[dict[str, Any]] = []
    new_positions: list[int] = []
    for row in range(prepared.n_rows):
        data = {name: prepared.values[name][row] for name in names}
        key = prepared.keys[row]
        if key is not None and key in existing:
            record_id = existing[key]
            record = session.get(Record, record_id)
            assert record is not None
            merged = {**record.data, **data}
            session.execute(
                update(Record)
                .where(Record.id == record_id)
                .values(data=merged, content_hash=records.content_hash(merged))
            )
            record_ids.append(record_id)
            result.updated += 1
        else:
            record_ids.append(-1)
            new_positions.append(row)
            new_rows.append(
                {
                    "project_id": project.id,
                    "key": key,
                    "data": data,
                    "content_hash": records.content_hash(data),
                }
            )
    if new_rows:
        for position, record_id, new_row in zip(
            new_positions, _allocate_ids(session, project, len(new_rows)), new_rows, strict=True
        ):
            record_ids[position] = record_id
            new_row["id"] = record_id
        session.execute(insert(core_table(Record)), new_rows)
        result.created = len(new_rows)
    progress(0.7, "wrote records")

    created = set(new_positions)
    updated_ids = [record_ids[r] for r in range(prepared.n_rows) if r not in created]
    for chunk_start in range(0, len(updated_ids), 500):
        chunk = updated_ids[chunk_start : chunk_start + 500]
        ids_attr = [a.id for a in attributes]
        session.execute(
            delete(RecordText).where(
                RecordText.record_id.in_(chunk), RecordText.attribute_id.in_(ids_attr)
            )
        )
        session.execute(
            delete(RecordTokens).where(
                RecordTokens.record_id.in_(chunk),
                RecordTokens.attribute_id.in_(ids_attr),
            )
        )
    text_rows = [
        {"record_id": record_ids[row], "attribute_id": a.id, "folded": value.casefold()}
        for a in string_attributes
        for row, value in enumerate(prepared.values[a.name])
        if value is not None
    ]
    if text_rows:
        session.execute(insert(core_table(RecordText)), text_rows)
    token_rows = [
        {"record_id": record_ids[row], "attribute_id": a.id, "offsets": blob}
        for a in text_attributes
        for row, blob in enumerate(token_blobs[a.name])
        if blob is not None
    ]
    if token_rows:
        session.execute(insert(core_table(RecordTokens)), token_rows)
    progress(0.85, "wrote text and tokens")

    for column in label_columns:
        result.labels += _import_labels(
            session,
            project,
            table,
            column,
            record_ids,
            prepared,
            token_blobs,
            annotator,
        )
        result.tasks.append(column.task)
    projects.touch(session, project)
    session.flush()
    result.attributes = [
        {"name": a.name, "data_type": a.data_type, "primary_key": a.is_primary_key}
        for a in attributes
    ]
    progress(1.0, "done")
    return result


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
    session.flush()
    start = session.scalar(select(func.max(Record.id))) or 0
    return list(range(start + 1, start + n + 1))


def _tokenize_column(column: list[Any], language: str) -> list[bytes | None]:
    blobs = iter(tokens.tokenize((v for v in column if v is not None), language))
    return [next(blobs) if v is not None else None for v in column]


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
    token_blobs: dict[str, list[bytes | None]],
    annotator: str,
) -> int:
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
    label_ids = {lb.name: lb.id for lb in tasks.labels(session, task)}

    def label_id(name: Any, row: int) -> int:
        if not isinstance(name, str) or not name:
            raise ImportFileError(
                f"{table.source}: row {row + 1}, column {column.column!r}: {name!r} is not a "
                "label name",
                **_where(table, row, column.column),
            )
        if name not in label_ids:
            label_ids[name] = tasks.add_label(session, task, name).id
        return label_ids[name]

    rows: list[dict[str, Any]] = []
    for row, value in enumerate(column.values):
        if value is None or value == []:
            continue
        record_id = record_ids[row]
        confidence = None
        if column.confidences is not None and column.confidences[row] not in (None, ""):
            try:
                confidence = float(column.confidences[row])
            except (TypeError, ValueError) as exc:
                raise ImportFileError(
                    f"{table.source}: row {row + 1}: confidence {column.confidences[row]!r} "
                    "is not a number",
                    **_where(table, row, column.column + "__confidence"),
                ) from exc
        base = {
            "record_id": record_id,
            "task_id": task.id,
            "source": column.source,
            "source_id": IMPORT_SOURCE_ID if column.source != annotating.MANUAL else "",
            "annotator": annotator if column.source == annotating.MANUAL else "",
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
            rows.append({**base, "label_id": label_id(value, row)})
        elif task.task_type == "multi-label":
            names = value if isinstance(value, list) else [value]
            for name in dict.fromkeys(names):
                rows.append({**base, "label_id": label_id(name, row)})
        else:
            assert target is not None
            blob = token_blobs.get(target, [None] * len(record_ids))[row]
            text = prepared.values.get(target, [None] * len(record_ids))[row]
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
                rows.append(
                    {
                        **base,
                        "label_id": label_id(span.get("label"), row),
                        "span_start": start,
                        "span_end": end,
                    }
                )
    touched = sorted({record_ids[row] for row, v in enumerate(column.values)})
    for start in range(0, len(touched), 500):
        chunk = touched[start : start + 500]
        replace = delete(Annotation).where(
            Annotation.task_id == task.id,
            Annotation.record_id.in_(chunk),
            Annotation.source == column.source,
        )
        if column.source == annotating.MANUAL:
            replace = replace.where(
                Annotation.annotator == annotator, Annotation.is_gold.is_(False)
            )
        else:
            replace = replace.where(Annotation.source_id == IMPORT_SOURCE_ID)
        session.execute(replace)
    if rows:
        session.execute(insert(core_table(Annotation)), rows)
    if column.source == annotating.MANUAL:
        annotating.refresh_reference(session, task, touched)
    return len(rows)
