"""What an import will do, checked before any write: the target project, the attributes
and their types, every value converted, the primary keys, and the records it updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import Conflict, ImportFileError, ValidationError
from assay.services import projects, records
from assay.services.files import Table
from assay.services.importing.column_types import coerce, infer_type
from assay.services.importing.label_columns import LabelColumn, split_columns
from assay.services.names import check_characters
from assay.storage.models import Project, Record

Into = Literal["new", "existing", "any"]
"""Where an import goes: a new project (refused when the name is taken), an existing one
(refused when missing), or either (the Python API's default: create when missing)."""


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
class Prepared:
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
) -> Prepared:
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
    return Prepared(planned, values, keys, table.n_rows)


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
class Plan:
    """A checked import, before any write: what to create and with which values."""

    table: Table
    project: Project | None
    prepared: Prepared
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


def plan_import(session: Session, project_name: str, table: Table, options: ImportOptions) -> Plan:
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
    return Plan(table, project, prepared, label_columns, existing, language)
