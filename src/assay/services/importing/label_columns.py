"""Label columns of a table (refinery column names, :mod:`assay.services.refinery_columns`):
split from the attribute columns, their cells parsed (a label name, a list of names, or a list
of spans; JSON text in CSV)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from assay.errors import ImportFileError
from assay.services import refinery_columns
from assay.services.files import Table
from assay.services.importing.column_types import location


@dataclass
class LabelColumn:
    column: str
    attribute: str | None
    task: str
    source: str
    values: list[Any]
    confidences: list[Any] | None = None


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
                    **location(table, row, column),
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


def task_type_of(column: LabelColumn) -> str:
    for value in column.values:
        if isinstance(value, list) and value:
            return "extraction" if isinstance(value[0], dict) else "multi-label"
    return "classification"
