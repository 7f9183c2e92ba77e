"""Exact and HNSW nearest neighbours, and filtered search that returns the full limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay.algorithms import vector_index
from assay.algorithms.vector_index import Hnsw, exact_search, search


def normalized(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered(n: int, d: int = 32, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Points around random centres, like embeddings of texts on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    points = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, d))
    return normalized(points)


def test_exact_search_hand_computed() -> None:
    matrix = normalized([[1, 0], [0, 1], [1, 1], [-1, 0], [1, 0]])
    scores, rows = exact_search(matrix, np.array([1.0, 0.0], np.float32), 3)
    # rows 0 and 4 tie at 1.0: the lower row first; then (1,1)/sqrt(2) = 0.7071
    assert rows.tolist() == [[0, 4, 2]]
    assert scores[0] == pytest.approx([1.0, 1.0, 0.70710677], abs=1e-6)
    assert scores.dtype == np.float32 and rows.dtype == np.int64


def test_exact_search_k_beyond_rows_and_empty() -> None:
    matrix = normalized([[1, 0], [0, 1]])
    scores, rows = exact_search(matrix, np.array([[0.0, 1.0]], np.float32), 10)
    assert rows.tolist() == [[1, 0]]
    assert scores.shape == (1, 2)
    empty = np.empty((0, 2), np.float32)
    assert exact_search(empty, np.array([[1.0, 0.0]], np.float32), 5)[1].shape == (1, 0)


def test_exact_search_in_chunks_matches_a_full_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = clustered(5000)
    queries = matrix[[3, 70, 4000]]
    monkeypatch.setattr(vector_index, "_CHUNK_SCORES", 1500)  # chunks of 1,024 rows
    scores, rows = exact_search(matrix, queries, 15)
    full = queries @ matrix.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :15]
    assert rows.tolist() == expected.tolist()
    assert np.allclose(scores, np.take_along_axis(full, expected, axis=1), atol=1e-6)


def test_exact_search_over_allowed_rows() -> None:
    matrix = clustered(3000)
    allowed = np.arange(1, 3000, 3)
    _, rows = exact_search(matrix, matrix[:2], 10, rows=allowed)
    full = matrix[:2] @ matrix[allowed].T
    expected = allowed[np.argsort(-full, axis=1, kind="stable")[:, :10]]
    assert rows.tolist() == expected.tolist()
    assert set(rows.ravel().tolist()) <= set(allowed.tolist())


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth, strict=True)])
    )


@pytest.fixture(scope="module")
def graph() -> tuple[np.ndarray, Hnsw]:
    matrix = clustered(20_000)
    return matrix, Hnsw().build(matrix)


def test_hnsw_recall_against_exact(graph: tuple[np.ndarray, Hnsw]) -> None:
    matrix, hnsw = graph
    queries = matrix[::200]
    _, approximate = hnsw.search(queries, 10)
    _, exact = exact_search(matrix, queries, 10)
    assert recall(approximate, exact) >= 0.95
    single_scores, single = hnsw.search(queries[0], 10)  # one query, as a 1-D vector
    assert single.shape == (1, 10) and single[0, 0] == 0
    assert single_scores[0, 0] == pytest.approx(1.0, abs=1e-3)  # stored as float16
    # search() scores the graph's hits again on the float32 rows
    scores, rows = search(matrix, queries, 10, hnsw=hnsw, exact_below=0)
    assert recall(rows, exact) >= 0.95
    expected = np.einsum("qkd,qd->qk", matrix[rows], queries)
    assert np.allclose(scores, expected, atol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_hnsw_save_and_load(graph: tuple[np.ndarray, Hnsw], tmp_path: Path) -> None:
    matrix, hnsw = graph
    path = tmp_path / "index.usearch"
    hnsw.save(path)
    assert path.exists() and list(tmp_path.iterdir()) == [path]  # no partial file left
    for view in (True, False):
        loaded = Hnsw().load(path, matrix.shape[1], view=view)
        assert len(loaded) == len(matrix)
        assert loaded.search(matrix[:5], 10)[1].tolist() == hnsw.search(matrix[:5], 10)[1].tolist()


@pytest.mark.parametrize("share", [0.0002, 0.01, 0.1, 0.5])
def test_filtered_search_returns_the_full_limit(
    graph: tuple[np.ndarray, Hnsw], share: float
) -> None:
    matrix, hnsw = graph
    rng = np.random.default_rng(1)
    allowed = np.sort(rng.choice(len(matrix), int(share * len(matrix)), replace=False))
    queries = matrix[::1000]
    k = 10
    # exact_below=0 forces the graph whenever it can serve; it must not lose the limit
    scores, rows = search(matrix, queries, k, hnsw=hnsw, allowed=allowed, exact_below=0)
    assert rows.shape == (len(queries), min(k, len(allowed)))
    assert np.isin(rows, allowed).all()
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    _, exact = exact_search(matrix, queries, k, rows=allowed)
    assert recall(rows, exact) >= 0.9


def test_filtered_search_fewer_allowed_than_the_limit(graph: tuple[np.ndarray, Hnsw]) -> None:
    matrix, hnsw = graph
    allowed = np.array([5, 17, 19_999])
    _, rows = search(matrix, matrix[:3], 10, hnsw=hnsw, allowed=allowed, exact_below=0)
    assert rows.shape == (3, 3)
    assert sorted(rows[0].tolist()) == [5, 17, 19_999]


def test_search_is_exact_below_the_threshold(graph: tuple[np.ndarray, Hnsw]) -> None:
    matrix, hnsw = graph
    queries = matrix[:4]
    expected = exact_search(matrix, queries, 10)[1]
    assert search(matrix, queries, 10, hnsw=None)[1].tolist() == expected.tolist()
    big = search(matrix, queries, 10, hnsw=hnsw, exact_below=len(matrix))
    assert big[1].tolist() == expected.tolist()
