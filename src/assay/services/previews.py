"""What an import would make of a file, before it runs: the first rows, each column's
inferred type, and the label columns it would turn into labeling tasks."""

from __future__ import annotations

from typing import Any

from assay.errors import ImportFileError
from assay.services import files, importing


def preview(table: files.Table, rows: int = 10) -> dict[str, Any]:
    """Columns with their inferred type (``None`` and a ``problem`` where inference fails:
    the user then picks a type) and the first ``rows`` rows, values as read."""
    attribute_columns, label_columns = importing.split_columns(table)
    columns: list[dict[str, Any]] = []
    for name in attribute_columns:
        column: dict[str, Any] = {"name": name, "data_type": None, "problem": None}
        try:
            column["data_type"] = importing.infer_type(table, name, table.columns[name])
        except ImportFileError as exc:
            column["problem"] = exc.message
        columns.append(column)
    shown = list(table.columns)
    return {
        "source": table.source,
        "rows": table.n_rows,
        "columns": columns,
        "label_columns": [
            {"name": c.column, "task": c.task, "attribute": c.attribute, "source": c.source}
            for c in label_columns
        ],
        "head": [
            {name: _plain(table.columns[name][r]) for name in shown}
            for r in range(min(rows, table.n_rows))
        ],
    }


def _plain(value: Any) -> Any:
    """A cell as JSON can carry it (dates and other Arrow/Excel values as text)."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
