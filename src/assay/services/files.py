"""Reading tabular files into columns, with errors that say what and where.

Supported: CSV, TSV, JSON (an array of objects), JSONL, Parquet and Excel. The result is a
:class:`Table`: column names and, per column, a list of Python values (strings for CSV/TSV,
native JSON/Arrow types otherwise).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import ImportFileError

if TYPE_CHECKING:
    from _csv import Reader

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}


@dataclass
class Table:
    """Columns of equal length; ``textual`` is True when every cell arrived as a string."""

    source: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    textual: bool = False

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise ImportFileError(
                f"unknown format {fmt!r}; use one of {sorted(set(FORMATS.values()))}",
                file=str(path),
            )
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; "
            f"use one of {sorted(FORMATS)}",
            file=str(path),
        )
    return found


def read_table(path: Path, fmt: str | None = None) -> Table:
    fmt = detect_format(path, fmt)
    if not path.exists():
        raise ImportFileError(f"{path}: no such file", file=str(path))
    if fmt in ("csv", "tsv"):
        return _read_delimited(path, "\t" if fmt == "tsv" else ",")
    if fmt == "json":
        return _read_json(path)
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "parquet":
        return _read_parquet(path)
    return _read_excel(path)


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise ImportFileError(f"{path.name}: the file is empty", file=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFileError(
            f"{path.name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, "
            f"column {column}); save the file as UTF-8",
            file=str(path),
            line=line,
        ) from exc


def _read_delimited(path: Path, delimiter: str) -> Table:
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFileError(f"{path.name}: {exc}", file=str(path)) from exc
    _check_header(path, header)
    rows = _rows(path, reader, len(header))
    columns: list[list[str]] = [[] for _ in header]
    # Rows move into the columns a small batch at a time: row lists that die young keep the
    # garbage collector from walking the growing columns again and again, which took two
    # thirds of the time to read a million rows (measured).
    while batch := list(itertools.islice(rows, _BATCH)):
        for column, values in zip(columns, zip(*batch, strict=True), strict=True):
            column.extend(values)
    if not columns[0]:
        raise ImportFileError(f"{path.name}: the file has a header but no rows", file=str(path))
    return Table(path.name, dict(zip(header, columns, strict=True)), textual=True)


_BATCH = 500  # below the collector's first threshold (700 new objects)


def _rows(path: Path, reader: Reader, width: int) -> Iterator[list[str]]:
    """The file's non-empty rows; an error names the row and line of a bad one."""
    number = 0
    try:
        for row in reader:
            if len(row) != width:
                if not row:
                    continue
                raise ImportFileError(
                    f"{path.name}: row {number + 1} (line {reader.line_num}) has "
                    f"{len(row)} fields, the header has {width}",
                    file=str(path),
                    row=number + 1,
                    line=reader.line_num,
                )
            number += 1
            yield row
    except csv.Error as exc:
        raise ImportFileError(
            f"{path.name}: line {reader.line_num}: {exc}",
            file=str(path),
            line=reader.line_num,
        ) from exc


def _check_header(path: Path, header: list[str]) -> None:
    if not header or all(not h.strip() for h in header):
        raise ImportFileError(f"{path.name}: the header row is empty", file=str(path))
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise ImportFileError(
                f"{path.name}: column {position} has no name",
                file=str(path),
                column=position,
            )
        if name in seen:
            raise ImportFileError(
                f"{path.name}: column {name!r} appears twice in the header",
                file=str(path),
                column=name,
            )
        seen.add(name)


def table_from_records(source: str, records: list[Any]) -> Table:
    """Columns from a list of JSON objects; keys missing in a row become None."""
    if not records:
        raise ImportFileError(f"{source}: no records", file=source)
    names: dict[str, None] = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ImportFileError(
                f"{source}: record {number} is a {type(record).__name__}, not an object",
                file=source,
                row=number,
            )
        for key in record:
            names.setdefault(str(key), None)
    columns = {name: [r.get(name) for r in records] for name in names}
    return Table(source, columns)


def _read_json(path: Path) -> Table:
    text = _decode(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path.name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            file=str(path),
            line=exc.lineno,
        ) from exc
    if not isinstance(data, list):
        raise ImportFileError(
            f"{path.name}: expected a JSON array of objects, found a {type(data).__name__}",
            file=str(path),
        )
    return table_from_records(path.name, data)


def _read_jsonl(path: Path) -> Table:
    text = _decode(path)
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path.name}: invalid JSON on line {line_number}, column {exc.colno}: {exc.msg}",
                file=str(path),
                line=line_number,
            ) from exc
    return table_from_records(path.name, records)


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise ImportFileError(
            f"{path.name}: not a readable Parquet file: {exc}", file=str(path)
        ) from exc
    if table.num_rows == 0:
        raise ImportFileError(f"{path.name}: the file has no rows", file=str(path))
    return Table(path.name, {name: table.column(name).to_pylist() for name in table.column_names})


def _read_excel(path: Path) -> Table:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ImportFileError(
            f"{path.name}: not a readable Excel file: {exc}", file=str(path)
        ) from exc
    return table_from_dataframe(path.name, frame)


def table_from_dataframe(source: str, frame: Any) -> Table:
    """Columns from a pandas DataFrame; missing values become None, numpy scalars Python ones."""
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ImportFileError(f"{source}: no rows", file=source)
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        raise ImportFileError(f"{source}: duplicate column names", file=source)
    columns: dict[str, list[Any]] = {}
    for name, label in zip(names, frame.columns, strict=True):
        series = frame[label]
        values = series.astype(object).where(series.notna(), None).tolist()
        columns[name] = [_plain(v) for v in values]
    return Table(source, columns)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float, list, dict)):
        return value
    if hasattr(value, "isoformat"):  # timestamps and dates arrive as text
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays (list cells from Parquet)
        return value.tolist()
    return str(value)
