"""Record queries: every query runs on SQLite and PostgreSQL and must give the same records
in the same order, which must also match a plain-Python reading of the filter."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from assay import NotFound, ValidationError, Workbench

WORDS = [
    "Straße", "STRASSE", "ΣΊΣΥΦΟΣ", "σίσυφος", "İstanbul", "istanbul", "Zürich", "zurich",
    "東京", "Ünïcödé", "emoji 🎉", "You", "you", "YOU", "young", "Mike Tyson", "mike tyson",
    "apple", "Apple", "banana", "", "Ångström", "ａｂｃ", "abc", '100%_done "quoted"', "100 done",
]  # fmt: skip


def _rows(n: int = 240) -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        words = rng.sample(WORDS, 3)
        rows.append(
            {
                "rid": i,
                "text": " ".join(words).strip() if i % 17 else None,
                "topic": rng.choice(["sport", "Sport", "tech", "médecine"]),
                "score": rng.choice([None, -1.5, 0.0, 2.25, 10.0, rng.uniform(-5, 5)]),
                "n": rng.randint(-3, 30),
                "flag": rng.choice([True, False]),
            }
        )
    return rows


def _load(wb: Workbench, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    frame["score"] = frame["score"].astype(float)
    wb.import_dataframe(
        frame, "q", primary_key=["rid"], types={"topic": "category", "text": "text"}
    )
    wb.add_task("q", "kind", "classification", labels=["yes", "no"])
    for rid in range(0, 60, 3):
        wb.annotate("q", f"rid={rid}", "kind", "yes" if rid % 2 else "no", "ann")
    wb.annotate("q", "rid=3", "kind", "no", "bob")  # a conflict


@pytest.fixture
def both(sqlite_wb: Workbench, pg_wb: Workbench) -> list[Workbench]:
    rows = _rows()
    for wb in (sqlite_wb, pg_wb):
        _load(wb, rows)
    return [sqlite_wb, pg_wb]


def _all_ids(wb: Workbench, where: Any, **options: Any) -> tuple[list[int], int]:
    """Every matching rid, walking pages by cursor; and the reported total."""
    ids: list[int] = []
    cursor = None
    total = -1
    while True:
        page = wb.query("q", where, limit=7, cursor=cursor, **options)
        total = page["total"]
        ids += [r["data"]["rid"] for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, total


def _fold(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


ROWS = _rows()
CASES: list[tuple[str, Any, Callable[[dict[str, Any]], bool]]] = [
    ("all", None, lambda r: True),
    (
        "contains folded",
        {"attribute": "text", "op": "contains", "value": "STRASSE"},
        lambda r: "strasse" in (_fold(r["text"]) or "\0"),
    ),
    (
        "contains sigma",
        {"attribute": "text", "op": "contains", "value": "σίσυφος"},
        lambda r: "σίσυφος".casefold() in (_fold(r["text"]) or "\0"),
    ),
    (
        "contains LIKE wildcards literally",
        {"attribute": "text", "op": "contains", "value": "0%_D"},
        lambda r: "0%_d" in (_fold(r["text"]) or "\0"),
    ),
    (
        "contains quotes",
        {"attribute": "text", "op": "contains", "value": '"QUOTED"'},
        lambda r: '"quoted"' in (_fold(r["text"]) or "\0"),
    ),
    (
        "contains case-sensitive",
        {"attribute": "text", "op": "contains", "value": "You", "case_sensitive": True},
        lambda r: "You" in (r["text"] or "\0"),
    ),
    (
        "begins with",
        {"attribute": "text", "op": "begins_with", "value": "mike"},
        lambda r: (_fold(r["text"]) or "\0").startswith("mike"),
    ),
    (
        "ends with",
        {"attribute": "text", "op": "ends_with", "value": "TYSON"},
        lambda r: (_fold(r["text"]) or "\0").endswith("tyson"),
    ),
    (
        "not contains",
        {"not": {"attribute": "text", "op": "contains", "value": "you"}},
        lambda r: "you" not in (_fold(r["text"]) or ""),
    ),
    (
        "negate flag",
        {"attribute": "topic", "op": "eq", "value": "sport", "negate": True},
        lambda r: r["topic"] != "sport",
    ),
    (
        "eq case-insensitive",
        {"attribute": "topic", "op": "eq", "value": "SPORT", "case_sensitive": False},
        lambda r: r["topic"].casefold() == "sport",
    ),
    (
        "in",
        {"attribute": "topic", "op": "in", "value": ["tech", "médecine"]},
        lambda r: r["topic"] in ("tech", "médecine"),
    ),
    ("between", {"attribute": "n", "op": "between", "value": [0, 9]}, lambda r: 0 <= r["n"] <= 9),
    (
        "float gt",
        {"attribute": "score", "op": "gt", "value": 0.5},
        lambda r: r["score"] is not None and r["score"] > 0.5,
    ),
    ("bool", {"attribute": "flag", "op": "eq", "value": True}, lambda r: r["flag"] is True),
    ("null", {"attribute": "text", "op": "is_null"}, lambda r: r["text"] is None),
    (
        "string lt by code point",
        {"attribute": "text", "op": "lt", "value": "Z"},
        lambda r: r["text"] is not None and r["text"] < "Z",
    ),
    (
        "and/or",
        {
            "and": [
                {"or": [{"attribute": "n", "op": "lt", "value": 5},
                        {"attribute": "flag", "op": "eq", "value": False}]},
                {"attribute": "text", "op": "contains", "value": "a"},
            ]
        },
        lambda r: (r["n"] < 5 or r["flag"] is False) and "a" in (_fold(r["text"]) or "\0"),
    ),
    (
        "search all terms",
        {"search": "mike TYSON"},
        lambda r: all(t in f"{_fold(r['text']) or ''} {r['topic'].casefold()}"
                      for t in ("mike", "tyson")),
    ),
    ("ids", {"ids": [1, 2, 3, 999]}, None),  # internal ids: compared across databases only
]  # fmt: skip


@pytest.mark.parametrize(("name", "where", "oracle"), CASES, ids=[c[0] for c in CASES])
def test_filters_agree_with_python_and_across_databases(
    both: list[Workbench], name: str, where: Any, oracle: Callable[[dict[str, Any]], bool] | None
) -> None:
    results = [_all_ids(wb, where) for wb in both]
    assert results[0] == results[1]
    ids, total = results[0]
    assert total == len(ids)
    if oracle is not None:
        assert ids == [r["rid"] for r in ROWS if oracle(r)]


ORDERS = [
    ("text", False),
    ("text", True),
    ("topic", False),
    ("score", False),
    ("score", True),
    ("n", True),
    ("flag", False),
    ("id", True),
]


@pytest.mark.parametrize(("order_by", "descending"), ORDERS)
def test_ordering_is_by_code_point_with_nulls_last(
    both: list[Workbench], order_by: str, descending: bool
) -> None:
    results = [_all_ids(wb, None, order_by=order_by, descending=descending)[0] for wb in both]
    assert results[0] == results[1]
    if order_by == "id":
        expected = sorted((r["rid"] for r in ROWS), reverse=descending)
    else:
        present = [r for r in ROWS if r[order_by] is not None]
        present.sort(key=lambda r: (r[order_by], r["rid"]), reverse=descending)
        expected = [r["rid"] for r in present] + [
            r["rid"]
            for r in sorted(ROWS, key=lambda r: r["rid"], reverse=descending)
            if r[order_by] is None
        ]
    assert results[0] == expected


def test_random_order_is_seeded_and_identical(both: list[Workbench]) -> None:
    first = [_all_ids(wb, None, order_by="random", seed=42)[0] for wb in both]
    assert first[0] == first[1]
    assert sorted(first[0]) == list(range(len(ROWS)))
    assert first[0] != sorted(first[0])
    other = _all_ids(both[0], None, order_by="random", seed=43)[0]
    assert other != first[0]


def test_label_filters_agree(both: list[Workbench]) -> None:
    for where in (
        {"task": "kind", "label": "yes"},
        {"task": "kind", "labels": ["yes", "no"]},
        {"task": "kind", "state": "conflict"},
        {"task": "kind", "state": "none"},
        {"task": "kind", "state": "labeled"},
        {"task": "kind", "source": "weak_supervision", "state": "none"},
    ):
        results = [_all_ids(wb, where) for wb in both]
        assert results[0] == results[1], where
    conflict, _ = _all_ids(both[0], {"task": "kind", "state": "conflict"})
    assert conflict == [3]
    yes, _ = _all_ids(both[0], {"task": "kind", "label": "yes"})
    assert yes == [rid for rid in range(0, 60, 3) if rid % 2 and rid != 3]


def test_keyset_and_offset_pages_agree(both: list[Workbench]) -> None:
    for wb in both:
        by_cursor = _all_ids(wb, None, order_by="text")[0]
        by_offset: list[int] = []
        for offset in range(0, len(ROWS), 50):
            page = wb.query("q", None, order_by="text", limit=50, offset=offset)
            by_offset += [r["data"]["rid"] for r in page["records"]]
        assert by_cursor == by_offset


def test_a_static_slice_keeps_its_order(both: list[Workbench]) -> None:
    picked = [17, 3, 200, 42, 3, 99]  # 3 twice: its first place counts
    results = []
    for wb in both:
        ids = {r["data"]["rid"]: r["id"] for r in wb.query("q", None, limit=1000)["records"]}
        made = wb.create_slice("q", "picked", kind="static", record_ids=[ids[r] for r in picked])
        assert made["records"] == 5
        results.append(
            (
                _all_ids(wb, {"slice": "picked"}, order_by="slice:picked"),
                _all_ids(wb, {"slice": "picked"}, order_by="slice:picked", descending=True),
                _all_ids(wb, {"not": {"slice": "picked"}}, order_by="slice:picked")[0][:3],
                _all_ids(wb, None, order_by="slice:picked")[0][:7],
            )
        )
        wb.create_slice("q", "dynamic", {"search": "you"})
        with pytest.raises(ValidationError, match="dynamic slice"):
            wb.query("q", None, order_by="slice:dynamic")
        with pytest.raises(NotFound, match="no slice 'gone'"):
            wb.query("q", None, order_by="slice:gone")
    assert results[0] == results[1]
    assert results[0] == (
        ([17, 3, 200, 42, 99], 5),
        ([99, 42, 200, 3, 17], 5),
        [0, 1, 2],  # outside the slice: by id
        [17, 3, 200, 42, 99, 0, 1],  # the slice's records first
    )


def test_bad_filters_name_the_node(wb: Workbench) -> None:
    wb.import_dataframe(pd.DataFrame({"a": ["x", "y"], "n": [1, 2]}), "q")
    with pytest.raises(ValidationError, match=r"\$\.and\[1\]: unknown attribute 'nope'"):
        wb.query(
            "q", {"and": [{"attribute": "a", "op": "eq", "value": "x"}, {"attribute": "nope"}]}
        )
    with pytest.raises(ValidationError, match="unknown op"):
        wb.query("q", {"attribute": "a", "op": "like", "value": "x"})
    with pytest.raises(ValidationError, match="not a integer value"):
        wb.query("q", {"attribute": "n", "op": "eq", "value": "one"})
    with pytest.raises(ValidationError, match="text and category attributes only"):
        wb.query("q", {"attribute": "n", "op": "contains", "value": "1"})
    with pytest.raises(ValidationError, match="cannot order by"):
        wb.query("q", None, order_by="nope")
    with pytest.raises(ValidationError, match="invalid cursor"):
        wb.query("q", None, cursor="garbage!")
    with pytest.raises(ValidationError, match="limit"):
        wb.query("q", None, limit=0)


def test_negation_includes_missing_values(both: list[Workbench]) -> None:
    for where in (
        {"not": {"attribute": "text", "op": "eq", "value": "abc"}},
        {"attribute": "text", "op": "lt", "value": "Z", "negate": True},
        {"not": {"attribute": "score", "op": "gt", "value": 0.5}},
    ):
        results = [_all_ids(wb, where)[0] for wb in both]
        assert results[0] == results[1]
        missing = [
            r["rid"] for r in ROWS if r[where.get("attribute") or where["not"]["attribute"]] is None
        ]  # type: ignore[index]
        assert set(missing) <= set(results[0]), where
