"""A chunk of rows in the form they are stored in: encoded data, content hashes, folded
texts and token offsets. Made in worker processes during a staged import
(:func:`assay.services.tokens.workers`), so that the writing process only inserts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.services import projects, records, tokens
from assay.services.importing.planning import Plan


def chunk_columns(plan: Plan, rows: range) -> list[tuple[str, str, list[Any]]]:
    """Name, data type and the values in these rows, of each attribute (in plan order)."""
    return [
        (name, data_type, plan.prepared.values[name][rows.start : rows.stop])
        for name, data_type, _ in plan.prepared.attributes
    ]


@dataclass
class Stored:
    """Rows of a chunk as they are stored: each row's encoded data and content hash, and of
    each present text or category value: its row (in the chunk), attribute (by position in
    the plan), folded text and token offsets (None for a category)."""

    data: list[str]
    hashes: list[str]
    text_rows: list[int]
    text_attributes: list[int]
    folded: list[str]
    offsets: list[bytes | None]


def store(columns: list[tuple[str, str, list[Any]]], language: str) -> Stored:
    """The stored form of a chunk's rows; runs in a worker process (:func:`tokens.workers`),
    so that the writing process only inserts."""
    data = records.encode_columns([name for name, _, _ in columns], [v for _, _, v in columns])
    stored = Stored(data, [records.hash_encoded(d) for d in data], [], [], [], [])
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
