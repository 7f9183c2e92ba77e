"""Near-duplicate groups (services/near_duplicates.py) on SQLite and PostgreSQL: texts of
random words with planted duplicates (exact up to case and punctuation, one or two words
changed); groups checked against brute force (Jaccard of the shingle sets, cosine of the
stored vectors), stored largest first, paged, flagged where manual labels differ."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import Workbench
from assay.errors import AssayError, NotFound, ValidationError
from assay.services import embeddings, near_duplicates, projects, search
from assay.storage.models import AnalysisRun, Job, RunChunk

PROJECT = "dupes"
RECORDS = 200
VOCABULARY = [f"w{n:04d}x" for n in range(3000)]


def _texts(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(VOCABULARY) for _ in range(30)) for _ in range(RECORDS)]

    def changed(text: str, word: int) -> str:
        words = text.split(" ")
        words[word] = "changed"
        return " ".join(words)

    texts[10] = texts[0].upper() + " !!"  # exact: case and punctuation do not count
    texts[11] = texts[0]
    texts[3] = "  " + texts[2].replace(" ", "   ")  # exact: white space does not count
    texts[20] = changed(texts[1], 3)  # lexical: one word of 30
    texts[25] = changed(texts[5], 7)
    texts[45] = changed(texts[25], 20)  # lexical, through 25
    return texts


def _frame() -> pd.DataFrame:
    labels: list[str | None] = [None] * RECORDS
    other: list[str | None] = [None] * RECORDS
    labels[0], labels[11], labels[1], labels[20] = "x", "y", "x", "x"  # group of 0: mixed
    other[2], other[3] = "p", "q"  # group of 2: mixed in the other task
    return pd.DataFrame(
        {
            "id": range(RECORDS),
            "text": _texts(),
            "size": range(RECORDS),
            "__t__MANUAL": labels,
            "__u__MANUAL": other,
        }
    )


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.import_dataframe(_frame(), PROJECT, primary_key=["id"])
    return PROJECT


def _find(wb: Workbench, **options: Any) -> dict[str, Any]:
    job = wb.find_duplicates(PROJECT, wait=True, **options)
    assert job["status"] == "done", job["error"]
    assert job["result"] is not None
    return job["result"]


def _groups(wb: Workbench, kind: str, **options: Any) -> list[dict[str, Any]]:
    """Every group of the newest run of ``kind``, page by page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = wb.duplicate_groups(PROJECT, kind=kind, limit=1, cursor=cursor, **options)
        found += page["page"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _keys(groups: list[dict[str, Any]]) -> list[list[int]]:
    """Each group's records by their ``id`` attribute (the row of the frame)."""
    return [[m["data"]["id"] for m in g["records"]] for g in groups]


def _expected(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components of the pairs (groups of 2 or more), largest first, then by
    their first row, each in row order."""
    owner = list(range(n))

    def root(i: int) -> int:
        while owner[i] != i:
            owner[i] = owner[owner[i]]
            i = owner[i]
        return i

    for i, j in pairs:
        owner[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    found = [g for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def _stored(wb: Workbench) -> tuple[int, int]:
    with wb.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(AnalysisRun)) or 0,
            s.scalar(select(func.count()).select_from(Job).where(Job.kind == "duplicates")) or 0,
        )


def test_exact_groups_largest_first_flagged_where_labels_differ(
    wb: Workbench, project: str
) -> None:
    result = _find(wb)
    assert {k: v for k, v in result.items() if k != "run"} == {
        "kind": "exact",
        "attribute": "text",  # the first text attribute
        "embedding": None,
        "threshold": None,
        "groups": 2,
        "records": 5,
        "mixed": 2,
    }
    texts = [_normalized(t) for t in _texts()]
    pairs = [(i, j) for i, j in itertools.combinations(range(RECORDS), 2) if texts[i] == texts[j]]
    groups = _groups(wb, "exact")
    assert _keys(groups) == _expected(RECORDS, pairs) == [[0, 10, 11], [2, 3]]
    assert [g["group"] for g in groups] == [0, 1]
    assert [g["mixed_labels"] for g in groups] == [True, True]
    assert [g["similarity"] for g in groups] == [1.0, 1.0]
    first = groups[0]["records"][0]
    assert first["labels"] == {"t": "x", "u": None}
    assert first["data"] == wb.get_record(PROJECT, first["id"])["data"]
    assert first["key"] is not None and first["position"] is None
    # the labels change: a rerun is the stored run, its flags brought up to date
    wb.remove_annotation(PROJECT, "id=11", "t", "import")
    wb.annotate(PROJECT, "id=11", "t", "x", "import")
    again = _find(wb)
    assert again["run"]["reused"] and again["run"]["id"] == result["run"]["id"]
    assert again["mixed"] == 1
    assert [g["mixed_labels"] for g in _groups(wb, "exact")] == [False, True]
    assert _keys(_groups(wb, "exact", mixed_only=True)) == [[2, 3]]


def test_lexical_groups_match_jaccard_in_stored_chunks(
    wb: Workbench, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(near_duplicates, "MINHASH_CHUNK", 64)
    result = _find(wb, kind="lexical")
    assert result["threshold"] == 0.8 and result["run"]["chunks"] == 4  # 200 texts / 64
    shingles = [
        {t[at : at + 5] for at in range(max(len(t) - 4, 1))}
        for t in (_normalized(x) for x in _texts())
    ]
    jaccard = {
        (i, j): len(shingles[i] & shingles[j]) / len(shingles[i] | shingles[j])
        for i, j in itertools.combinations(range(RECORDS), 2)
    }
    # the planted pairs lie far above the threshold, every other pair far below
    assert sorted(v for v in jaccard.values() if v > 0.3)[0] > 0.83  # 5 and 45: two words
    assert sorted(v for v in jaccard.values() if v <= 0.3)[-1] < 0.3
    groups = _groups(wb, "lexical")
    expected = _expected(RECORDS, [p for p, v in jaccard.items() if v >= 0.8])
    assert _keys(groups) == expected == [[0, 10, 11], [5, 25, 45], [1, 20], [2, 3]]
    assert [g["mixed_labels"] for g in groups] == [True, False, False, True]
    assert groups[0]["similarity"] == 1.0 and 0.8 <= groups[1]["similarity"] < 1.0
    with wb.db.session() as s:
        chunks = s.scalar(select(func.count()).select_from(RunChunk))
    again = _find(wb, kind="lexical")
    assert again["run"]["reused"] and again["run"]["resumed_chunks"] == 0
    # another threshold is another run; the exact groups are still their own kind
    stricter = _find(wb, kind="lexical", threshold=0.95)
    assert stricter["run"]["id"] != result["run"]["id"] and stricter["groups"] == 2
    with wb.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RunChunk)) == chunks + 4
    with pytest.raises(NotFound, match="no exact duplicates run yet"):
        wb.duplicate_groups(PROJECT, kind="exact")


def test_semantic_groups_match_the_vectors_cosine(
    wb: Workbench, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wb.add_embedding(PROJECT, "text", wait=True)["status"] == "done"
    monkeypatch.setattr(near_duplicates, "SEMANTIC_CHUNK", 50)
    result = _find(wb, kind="semantic", threshold=0.9)
    assert result["embedding"] == "text-tfidf-svd" and result["run"]["chunks"] == 4
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, PROJECT), "text-tfidf-svd")
        vectors = embeddings.load(wb.settings.data_dir, found)
    similarity = np.asarray(vectors.matrix) @ np.asarray(vectors.matrix).T
    rows, columns = np.nonzero(np.triu(similarity >= 0.9, 1))
    expected = _expected(RECORDS, list(zip(rows.tolist(), columns.tolist(), strict=True)))
    assert expected and _keys(_groups(wb, "semantic")) == expected
    lowest = [min(similarity[i, j] for i in g for j in g if i < j) for g in expected]
    assert all(g["similarity"] <= 1.0 for g in _groups(wb, "semantic"))
    assert [g["similarity"] for g in _groups(wb, "semantic")] == pytest.approx(lowest, abs=1e-3)
    # through the HNSW graph (as above 50,000 vectors): the same groups at this size
    monkeypatch.setattr(search, "EXACT_BELOW", 50)
    graph = _find(wb, kind="semantic", threshold=0.8)
    assert (embeddings.version_dir(wb.settings.data_dir, found) / search.INDEX_FILE).exists()
    rows, columns = np.nonzero(np.triu(similarity >= 0.8, 1))
    expected = _expected(RECORDS, list(zip(rows.tolist(), columns.tolist(), strict=True)))
    assert graph["groups"] == len(expected)
    assert _keys(_groups(wb, "semantic")) == expected


def test_pages_and_group_ids(wb: Workbench, project: str) -> None:
    _find(wb)
    _find(wb, kind="lexical")
    everything = wb.duplicate_groups(PROJECT, kind="lexical", limit=10)
    assert everything["next_cursor"] is None and len(everything["page"]) == 4
    assert everything["groups"] == 4 and everything["records"] == 10 and everything["mixed"] == 2
    assert everything["run"]["status"] == "done"
    assert _groups(wb, "lexical") == everything["page"]  # the same, a group a page
    first = wb.duplicate_groups(PROJECT, kind="lexical", limit=2)
    second = wb.duplicate_groups(PROJECT, kind="lexical", limit=2, cursor=first["next_cursor"])
    assert first["page"] + second["page"] == everything["page"]
    assert second["next_cursor"] is None
    for bad in ({"limit": 0}, {"cursor": "not a cursor"}, {"kind": "fuzzy"}):
        with pytest.raises(ValidationError):
            wb.duplicate_groups(PROJECT, **{"kind": "lexical", **bad})
    with wb.db.session() as s:
        found = projects.get(s, PROJECT)
        ids = [int(r["id"]) for r in wb.query(PROJECT, None, limit=1000)["records"]]
        key = {
            int(r["id"]): r["data"]["id"] for r in wb.query(PROJECT, None, limit=1000)["records"]
        }
        group = near_duplicates.group_ids(s, found, ids)
    joined: dict[int, list[int]] = {}
    for record_id, number in zip(ids, group.tolist(), strict=True):
        if number >= 0:
            joined.setdefault(number, []).append(key[record_id])
    assert sorted(joined.values()) == [[0, 10, 11], [1, 20], [2, 3], [5, 25, 45]]
    with wb.db.session() as s:  # a subset: a group with one record of it is no group
        subset = [ids[0], ids[5], ids[25], ids[7]]
        assert near_duplicates.group_ids(s, projects.get(s, PROJECT), subset).tolist() == [
            -1,
            0,
            0,
            -1,
        ]


def test_bad_input_is_refused_and_nothing_stored(wb: Workbench, project: str) -> None:
    refusals: list[tuple[type[AssayError], str, dict[str, Any]]] = [
        (ValidationError, "unknown duplicate kind 'fuzzy'", {"kind": "fuzzy"}),
        (NotFound, "no attribute 'nope'", {"attribute": "nope"}),
        (ValidationError, "attribute 'size' is integer, not text", {"attribute": "size"}),
        (ValidationError, "above 0 and at most 1", {"kind": "lexical", "threshold": 0}),
        (ValidationError, "above 0 and at most 1", {"kind": "lexical", "threshold": 1.5}),
        (ValidationError, "above 0 and at most 1", {"kind": "semantic", "threshold": True}),
        (ValidationError, "exact duplicates take no threshold", {"threshold": 0.9}),
        (ValidationError, "has no ready one", {"kind": "semantic"}),
        (NotFound, "embedding 'gone'", {"kind": "semantic", "embedding": "gone"}),
    ]
    for error, message, options in refusals:
        with pytest.raises(error, match=message):
            wb.find_duplicates(PROJECT, **options)
        assert _stored(wb) == (0, 0), options
    with wb.db.session() as s:
        embeddings.create(s, projects.get(s, PROJECT), "text", name="queued")
    with pytest.raises(ValidationError, match="'queued' is not ready"):
        wb.find_duplicates(PROJECT, kind="semantic", embedding="queued")
    assert _stored(wb) == (0, 0)
