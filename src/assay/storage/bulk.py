"""Bulk inserts through the driver, for imports: SQLite multi-row ``INSERT``, PostgreSQL
``COPY``.

Values must already be in their stored form (JSON as text, blobs as bytes). The rows are
written inside the session's current transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import chain, islice
from typing import Any

from sqlalchemy.orm import Session

_ROWS_PER_STATEMENT = 250


def insert_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    width = len(columns)
    # Many rows a statement, within SQLite's limit on parameters: with a statement a row (as
    # executemany runs them) stepping the statements cost more than inserting the rows
    # (measured: a third less time a row with 100 to 1,000 rows a statement).
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_ROWS_PER_STATEMENT, limit // width))
    row_marks = "(" + ", ".join("?" * width) + ")"
    remaining = iter(rows)
    cursor = driver.cursor()
    try:
        while values := list(chain.from_iterable(islice(remaining, per))):
            marks = ", ".join([row_marks] * (len(values) // width))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {marks}", values)
    finally:
        cursor.close()


def bound_datetime(session: Session, column: Any, value: Any) -> Any:
    """``value`` as the ORM would write it into ``column`` (SQLite: a text without the zone),
    for bulk inserts through the driver, which would otherwise write it its own way."""
    dialect = session.get_bind().dialect
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value
