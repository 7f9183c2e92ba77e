"""Reading tabular files into columns, with errors that say what and where.

Supported: CSV, TSV, JSON (an array of objects), JSONL, Parquet and Excel. The result is a
:class:`Table`: column names and, per column, a list of Python values (strings for CSV/TSV,
native JSON/Arrow types otherwise).

Every reader refuses, naming the row and column, what would be stored wrong or not at all:
a quoted CSV field that is never closed, a cell over the size limit, a NUL character
(PostgreSQL cannot store one), a number that is not finite (``Infinity``, ``NaN``: JSON cannot
carry them; a missing value is an empty cell or null), a name used twice (a duplicate header,
a key twice in one JSON object). Compressed files (Excel, Parquet) are checked against what
they unpack to before they are read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import ImportFileError

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


@dataclass(frozen=True)
class Limits:
    """The largest cell (UTF-8 bytes) and the most a compressed file may unpack to."""

    max_cell_bytes: int = 1_000_000
    max_unpacked_bytes: int = 1 << 30


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
                file=path.name,
            )
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; "
            f"use one of {sorted(FORMATS)}",
            file=path.name,
        )
    return found


def read_table(path: Path, fmt: str | None = None, limits: Limits = Limits()) -> Table:
    """The table in a file. Errors name the file by its name only (never a server path)."""
    fmt = detect_format(path, fmt)
    if not path.is_file():  # a folder too (assay import .)
        raise ImportFileError(f"{path}: no such file", file=path.name)
    if fmt in ("csv", "tsv"):
        return _read_delimited(path, "\t" if fmt == "tsv" else ",", limits.max_cell_bytes)
    if fmt == "json":
        return _read_json(path)
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "parquet":
        return _read_parquet(path, limits.max_unpacked_bytes)
    return _read_excel(path, limits.max_unpacked_bytes)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, checked to be UTF-8 text (a byte-order mark removed)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ImportFileError(f"{path.name}: the file is empty", file=path.name)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ImportFileError(
            f"{path.name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, "
            f"column {column}); save the file as UTF-8",
            file=path.name,
            line=line,
        ) from exc
    return raw


def _decode(path: Path) -> str:
    return _read_bytes(path).decode("utf-8")


# --- CSV and TSV ----------------------------------------------------------------------------


def _read_delimited(path: Path, delimiter: str, limit: int) -> Table:
    """Parsed by pyarrow's CSV reader (strict about the number of fields; its columns held as
    strings), checked where it is lenient: a quoted field left open swallows the rest of the
    file into one cell without a word from it, so a file that may hold one is read again
    with the csv module, and its quotes followed, which says where (:func:`_diagnose`)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    raw = _read_bytes(path)
    header = _header(path, raw, delimiter)
    _check_header(path, header)
    width = len(header)
    # A block must hold the longest row: at most `width` cells of `limit` bytes, each of
    # whose quotes may be doubled (larger cells are refused anyway).
    block = min(len(raw) + 1, max(1 << 24, width * (2 * limit + 3)))
    try:
        parsed = pcsv.read_csv(
            pa.py_buffer(raw),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, block_size=block),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        _diagnose(path, raw, delimiter, header, limit)
        raise ImportFileError(f"{path.name}: {exc}", file=path.name) from exc
    if parsed.num_rows <= 1:
        raise ImportFileError(f"{path.name}: the file has a header but no rows", file=path.name)
    body = parsed.slice(1)
    last = body.column(width - 1)[-1].as_py()
    if (
        raw.count(b'"') % 2  # an odd count: a quote left open, or one inside a field
        or "\n" in last  # the last cell runs over lines: maybe to the end of the file
        or "\r" in last
        or b"\x00" in raw
        or any(pc.max(pc.binary_length(column)).as_py() > limit for column in body.columns)
    ):
        _diagnose(path, raw, delimiter, header, limit)
    columns = [column.to_pylist() for column in body.columns]
    return Table(path.name, dict(zip(header, columns, strict=True)), textual=True)


def _header(path: Path, raw: bytes, delimiter: str) -> list[str]:
    reader = csv.reader(_lines(raw), delimiter=delimiter)
    try:
        return next(reader, [])
    except csv.Error as exc:
        raise ImportFileError(f"{path.name}: line 1: {exc}", file=path.name, line=1) from exc


def _lines(raw: bytes) -> Iterator[str]:
    """The file's lines (ends kept), decoded one at a time as a reader asks for them; lines
    end at \\n, \\r\\n or \\r, as for the csv module."""
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")


def _diagnose(path: Path, raw: bytes, delimiter: str, header: list[str], limit: int) -> None:
    """Read the file again with the csv module (as leniently as pyarrow: ``"a"b`` is
    ``ab``) and raise on its first problem with its row and line: a quoted field that is
    never closed (the line it opens on), a row of the wrong width, a NUL character, a cell
    over ``limit`` bytes."""
    # The csv module's own cell limit (131,072 characters) is not assay's: the check below is.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    text = raw.decode("utf-8")
    lines = _line_ends(text, 0, len(text)) + (not text.endswith(("\n", "\r")))
    reader = csv.reader(_lines(raw), delimiter=delimiter)
    number, start = 0, 1
    try:
        next(reader)
        start = reader.line_num + 1
        for row in reader:
            if row:
                number += 1
                # A row that runs to the end of the file may be one whose quote never closes:
                # that is its problem, whatever else is wrong with it.
                if reader.line_num == lines:
                    _check_closed(path, text, delimiter, number, start)
                if len(row) != len(header):
                    raise ImportFileError(
                        f"{path.name}: row {number} (line {start}) has {len(row)} fields, "
                        f"the header has {len(header)}",
                        file=path.name,
                        row=number,
                        line=start,
                    )
                for name, cell in zip(header, row, strict=True):
                    _check_cell(path.name, number, name, cell, limit, line=start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            f"{path.name}: line {reader.line_num}: {exc}", file=path.name, line=reader.line_num
        ) from exc


def _check_closed(path: Path, text: str, delimiter: str, row: int, start: int) -> None:
    opened = _open_quote_line(text, delimiter, start)
    if opened is not None:
        raise ImportFileError(
            f"{path.name}: row {row}: the quoted field that starts on line {opened} is never "
            'closed (a missing "), so it would hold the rest of the file',
            file=path.name,
            row=row,
            line=opened,
        )


def _open_quote_line(text: str, delimiter: str, start: int) -> int | None:
    """The line on which a quoted field opens that is still open at the end of the file,
    reading from line ``start`` (the csv module's rules: a quote opens a field only at its
    start; a doubled quote inside one is a quote); None when every quote closes."""
    position = 0
    for _ in range(start - 1):
        found = _LINE_END.search(text, position)
        position = found.end() if found else len(text)
    stops = re.compile(f'["\r\n{re.escape(delimiter)}]')
    line = start
    at_start = True
    while True:
        found = stops.search(text, position)
        if found is None:
            return None
        char, at = found.group(), found.start()
        at_start, position = at_start and at == position, at + 1
        if char == '"':
            if not at_start:
                continue  # a quote inside an unquoted field is a character of it
            opened = line
            while True:  # to the closing quote
                close = text.find('"', position)
                if close < 0:
                    return opened
                line += _line_ends(text, position, close)
                position = close + 1
                if not text.startswith('"', position):
                    break
                position += 1
            at_start = False
        elif char == delimiter:
            at_start = True
        else:
            line += 1
            position += char == "\r" and text.startswith("\n", position)
            at_start = True


def _line_ends(text: str, start: int, end: int) -> int:
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


_LINE_END = re.compile(r"\r\n|\r|\n")


def _check_header(path: Path, header: list[str]) -> None:
    if not header or all(not h.strip() for h in header):
        raise ImportFileError(f"{path.name}: the header row is empty", file=path.name)
    _check_names(path.name, header)


def _check_names(source: str, names: list[str]) -> None:
    """Refuse a column name that is empty, appears twice or holds a NUL character."""
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise ImportFileError(
                f"{source}: column {position} has no name", file=source, column=position
            )
        if "\x00" in name:
            raise ImportFileError(
                f"{source}: the name of column {position} holds a NUL character (\\u0000), "
                "which assay does not store",
                file=source,
                column=position,
            )
        if name in seen:
            raise ImportFileError(
                f"{source}: duplicate column name {name!r}: it appears twice in the header",
                file=source,
                column=name,
            )
        seen.add(name)


def _check_cell(
    source: str, row: int, column: str, cell: str, limit: int, line: int | None = None
) -> None:
    where = {"file": source, "row": row, "column": column, "line": line}
    at = f"row {row}" + (f" (line {line})" if line else "") + f", column {column!r}"
    if "\x00" in cell:
        raise ImportFileError(
            f"{source}: {at}: the cell holds a NUL character (\\u0000), which assay does not "
            "store; remove it",
            **where,
        )
    if len(cell) > limit // 4 and len(cell.encode()) > limit:
        raise ImportFileError(
            f"{source}: {at}: the cell holds {len(cell.encode()):,} bytes, over the limit of "
            f"{limit:,} (ASSAY_MAX_CELL_BYTES)",
            **where,
        )


# --- JSON and JSONL -------------------------------------------------------------------------


class _NonFinite:
    """What the JSON reader makes of ``Infinity``, ``-Infinity``, ``NaN`` and numbers too large
    for a float: a marker that :func:`_check_values` finds and refuses with its place."""

    def __init__(self, text: str) -> None:
        self.text = text


class _DuplicateKeys(dict[str, Any]):
    """A JSON object in which a key appears twice (``key``: the first such)."""

    key = ""


@dataclass
class _JsonReader:
    """json.loads with hooks that mark what a table may not hold; ``suspect`` says whether
    a record needs to be searched for a mark (most files: none, and no search). The hooks
    cost about a third more time than json.loads alone (measured)."""

    suspect: bool = False

    def loads(self, text: str) -> Any:
        return json.loads(
            text,
            parse_constant=self._constant,
            parse_float=self._float,
            object_pairs_hook=self._object,
        )

    def _constant(self, name: str) -> _NonFinite:
        self.suspect = True
        return _NonFinite(name)

    def _float(self, text: str) -> float | _NonFinite:
        number = float(text)
        if math.isfinite(number):
            return number
        self.suspect = True  # too large for a float (1e999)
        return _NonFinite(text)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        self.suspect = True
        duplicated = _DuplicateKeys(found)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                duplicated.key = key
                break
            seen.add(key)
        return duplicated


def _json_reader(text: str) -> _JsonReader:
    # A NUL in JSON text is the escape \u0000 (a raw one is invalid JSON).
    return _JsonReader(suspect="\\u0000" in text)


def table_from_records(source: str, records: list[Any], *, checked: bool = False) -> Table:
    """Columns from a list of JSON objects; keys missing in a row become None. ``checked``:
    the values are known to hold nothing :func:`_check_values` refuses."""
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
    if not checked:
        _check_values(source, columns, records)
    return Table(source, columns)


def _read_json(path: Path) -> Table:
    text = _decode(path)
    reader = _json_reader(text)
    try:
        data = reader.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path.name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            file=path.name,
            line=exc.lineno,
        ) from exc
    except RecursionError as exc:
        raise ImportFileError(
            f"{path.name}: the JSON is nested too deeply", file=path.name
        ) from exc
    if not isinstance(data, list):
        raise ImportFileError(
            f"{path.name}: expected a JSON array of objects, found a {type(data).__name__}",
            file=path.name,
        )
    return table_from_records(path.name, data, checked=not reader.suspect)


def _read_jsonl(path: Path) -> Table:
    text = _decode(path)
    reader = _json_reader(text)
    records = []
    lines: list[int] = []
    # Lines end at \n (or \r\n) only: str.splitlines() also splits at U+2028, U+0085 and
    # others, which JSON strings may hold as they are (assay's own export writes them so).
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        try:
            records.append(reader.loads(line))
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{path.name}: invalid JSON on line {line_number}, column {exc.colno}: {exc.msg}",
                file=path.name,
                line=line_number,
            ) from exc
        except RecursionError as exc:
            raise ImportFileError(
                f"{path.name}: line {line_number}: the JSON is nested too deeply",
                file=path.name,
                line=line_number,
            ) from exc
        lines.append(line_number)
    try:
        return table_from_records(path.name, records, checked=not reader.suspect)
    except ImportFileError as exc:
        row = exc.detail.get("row")
        if row is not None and "line" not in exc.detail:
            exc.detail["line"] = lines[row - 1]
        raise


# --- Parquet and Excel ----------------------------------------------------------------------


def _read_parquet(path: Path, max_unpacked: int) -> Table:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
        unpacked = sum(
            metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
        )
        if unpacked > max_unpacked:
            raise ImportFileError(
                f"{path.name}: the file unpacks to {unpacked:,} bytes, over the limit of "
                f"{max_unpacked:,} (ASSAY_MAX_UPLOAD_BYTES)",
                file=path.name,
            )
        table = pq.read_table(path)
    except ImportFileError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise ImportFileError(
            f"{path.name}: not a readable Parquet file: {exc}", file=path.name
        ) from exc
    if table.num_rows == 0:
        raise ImportFileError(f"{path.name}: the file has no rows", file=path.name)
    _check_names(path.name, table.column_names)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    _check_values(path.name, columns)
    return Table(path.name, columns)


# An Excel workbook is a zip of XML. Sheets of real data pack 5 to 15 times (a 48 MB sheet of
# one repeated row: 13x, measured); a decompression bomb packs a thousand times. Apache POI
# refuses entries that pack more than 100 times; so does assay, above a size too small to hurt.
_MAX_PACKING = 100
_PACKING_CHECKED_ABOVE = 1 << 20


def _check_zip(path: Path, max_unpacked: int) -> None:
    """Refuse a zip that unpacks to more than ``max_unpacked`` bytes, or holds an entry that
    packs suspiciously well, before anything is unpacked (from its directory only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # not a zip (an old .xls): the reader says what it is
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > max_unpacked:
        raise ImportFileError(
            f"{path.name}: the workbook unpacks to {unpacked:,} bytes, over the limit of "
            f"{max_unpacked:,} (ASSAY_MAX_UPLOAD_BYTES)",
            file=path.name,
        )
    for entry in entries:
        packing = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > _PACKING_CHECKED_ABOVE and packing > _MAX_PACKING:
            raise ImportFileError(
                f"{path.name}: {entry.filename} unpacks {packing:,.0f} times its size "
                f"(to {entry.file_size:,} bytes), more than a workbook's data does "
                f"(at most {_MAX_PACKING} times): refused as a decompression bomb",
                file=path.name,
            )


def _read_excel(path: Path, max_unpacked: int) -> Table:
    import pandas as pd

    _check_zip(path, max_unpacked)
    try:
        frame = pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ImportFileError(
            f"{path.name}: not a readable Excel file: {exc}", file=path.name
        ) from exc
    names = [str(name) for name in frame.columns]
    # pandas renames a repeated header ("text", "text.1"); refuse it as for CSV instead.
    if any(_MANGLED.sub("", name) in names for name in names if _MANGLED.search(name)):
        header = pd.read_excel(path, sheet_name=0, header=None, nrows=1).iloc[0]
        _check_names(path.name, [str(name) for name in header[header.notna()].tolist()])
    return table_from_dataframe(path.name, frame)


_MANGLED = re.compile(r"\.\d+$")


def table_from_dataframe(source: str, frame: Any) -> Table:
    """Columns from a pandas DataFrame; missing values (None, NaN, NaT: pandas' markers of a
    missing value) become None, numpy scalars Python ones; an infinite number is refused."""
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ImportFileError(f"{source}: no rows", file=source)
    names = [str(name) for name in frame.columns]
    _check_names(source, names)
    columns: dict[str, list[Any]] = {}
    for name, label in zip(names, frame.columns, strict=True):
        series = frame[label]
        values = series.astype(object).where(series.notna(), None).tolist()
        columns[name] = [_plain(v) for v in values]
    _check_values(source, columns)
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


# --- values no database stores alike --------------------------------------------------------


def _check_values(
    source: str, columns: dict[str, list[Any]], records: list[Any] | None = None
) -> None:
    """Refuse the first cell, in row order, that holds a NUL character, a number that is not
    finite, or an object with a key twice (``records``: the rows, for keys of their own)."""
    found: tuple[int, str, str] | None = None
    for name, values in columns.items():
        for row, value in enumerate(values):
            if found is not None and row >= found[0]:
                break
            problem = _problem(value)
            if problem is not None:
                found = (row, name, problem)
                break
    if records is not None:
        for row, record in enumerate(records[: found[0] if found else None]):
            if isinstance(record, _DuplicateKeys):
                found = (row, record.key, f"the key {record.key!r} appears twice in the object")
                break
            if any("\x00" in key for key in record):
                key = next(key for key in record if "\x00" in key)
                found = (
                    row,
                    key,
                    "the column name holds a NUL character (\\u0000), which assay does not store",
                )
                break
    if found is None:
        return
    row, name, problem = found
    raise ImportFileError(
        f"{source}: row {row + 1}, column {name!r}: {problem}",
        file=source,
        row=row + 1,
        column=name,
    )


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "the cell holds a NUL character (\\u0000), which assay does not store"
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return _not_finite(repr(value))
    if isinstance(value, _NonFinite):
        return _not_finite(value.text)
    if isinstance(value, _DuplicateKeys):
        return f"the key {value.key!r} appears twice in an object"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return "a key holds a NUL character (\\u0000), which assay does not store"
            if (problem := _problem(item)) is not None:
                return problem
    elif isinstance(value, list):
        for item in value:
            if (problem := _problem(item)) is not None:
                return problem
    return None


def _not_finite(text: str) -> str:
    return (
        f"{text} is not a finite number; assay stores finite numbers only "
        "(leave the cell empty, or null, for a missing value)"
    )
