"""The stored form of records: column-at-a-time encoding equals the per-record one."""

from __future__ import annotations

from typing import Any

from assay.services import records

COLUMNS: dict[str, list[Any]] = {
    "id": [1, None, -5, 10**30, 0],
    'he"ad{li}ne': ['a"b\\c{}', "Zürich 🎉 \u2028 \x00 \n\t", None, "", "plain"],
    "score": [1.5, float("inf"), None, -0.0, float("-inf")],
    "flag": [True, False, None, True, False],
}


def test_encode_columns_equals_encode_of_each_row() -> None:
    names = list(COLUMNS)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*COLUMNS.values(), strict=True)]
    encoded = records.encode_columns(names, list(COLUMNS.values()))
    assert encoded == [records.encode(row) for row in rows]


def test_canonical_keys_equal_canonical_key_of_each_row() -> None:
    for columns in (
        [[1, 22, -3, 10**20]],
        [["a", "b", "x,y", 'q"']],
        [[1, 2, 3, 4], ["a", "b", "c", "d"]],
        [[1, 2.5, True, "7"]],
    ):
        keys = records.canonical_keys(columns)
        assert keys == [records.canonical_key(list(parts)) for parts in zip(*columns, strict=True)]
