"""The data type of an imported column (inferred, or as the user set it), and its values
converted to that type; errors name the file, row and column."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from assay.errors import ImportFileError, ValidationError
from assay.services import projects
from assay.services.files import Table

_INT = re.compile(r"^[+-]?\d+$")

_BOOL = {"true": True, "false": False}


def location(table: Table, row: int, column: str) -> dict[str, Any]:
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
            **location(table, row, name),
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
                        **location(table, row, name),
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
                        **location(table, row, name),
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
                **location(table, row, name),
            ) from exc
    return out
