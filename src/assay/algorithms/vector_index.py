"""Nearest neighbours by inner product over L2-normalized float32 rows (cosine similarity).

Two backends with one result shape: :func:`exact_search` (a chunked matrix product, the
reference) and :class:`Hnsw` (a usearch HNSW graph, approximate, persisted in one file).
:func:`search` combines them with a filter (the rows a query may return) so that the full
``k`` comes back whenever ``k`` allowed rows exist: small filtered sets are searched
exactly, large ones through the graph with a widening ``k``, falling back to exact.

Results are ``(scores, rows)``, both ``(q, k')`` for ``q`` queries, best first, where
``k' = min(k, candidates)``; scores are float32 similarities, rows int64 row numbers of
the matrix. Inputs are assumed clean (normalized float32, validated by the caller).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

# Scores per chunk: bounds the memory of one exact search at about 64 MiB of float32.
_CHUNK_SCORES = 16_000_000


def exact_search(
    matrix: np.ndarray, queries: np.ndarray, k: int, *, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``matrix`` (or of its ``rows``, ascending row numbers) with the
    highest inner product with each query; ties go to the lower row."""
    queries = np.atleast_2d(queries)
    total = matrix.shape[0] if rows is None else len(rows)
    k = min(k, total)
    q = queries.shape[0]
    if k <= 0:
        return np.empty((q, 0), np.float32), np.empty((q, 0), np.int64)
    chunk = max(1024, _CHUNK_SCORES // max(q, 1))
    best_scores = np.empty((q, 0), np.float32)
    best_rows = np.empty((q, 0), np.int64)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        if rows is None:
            block, block_rows = matrix[start:stop], np.arange(start, stop, dtype=np.int64)
        else:
            block_rows = np.asarray(rows[start:stop], dtype=np.int64)
            block = matrix[block_rows]
        scores = queries @ np.asarray(block, dtype=np.float32).T
        if scores.shape[1] > k:
            keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            scores = np.take_along_axis(scores, keep, axis=1)
            found = block_rows[keep]
        else:
            found = np.broadcast_to(block_rows, scores.shape)
        best_scores = np.concatenate([best_scores, scores], axis=1)
        best_rows = np.concatenate([best_rows, found], axis=1)
        if best_scores.shape[1] > k:
            keep = np.argpartition(-best_scores, k - 1, axis=1)[:, :k]
            best_scores = np.take_along_axis(best_scores, keep, axis=1)
            best_rows = np.take_along_axis(best_rows, keep, axis=1)
    return _ordered(best_scores, best_rows)


def _ordered(scores: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best first, ties by ascending row (a stable sort over row-ordered columns)."""
    by_row = np.argsort(rows, axis=1, kind="stable")
    scores = np.take_along_axis(scores, by_row, axis=1)
    rows = np.take_along_axis(rows, by_row, axis=1)
    by_score = np.argsort(-scores, axis=1, kind="stable")
    return (
        np.take_along_axis(scores, by_score, axis=1).astype(np.float32, copy=False),
        np.take_along_axis(rows, by_score, axis=1),
    )


class Hnsw:
    """An HNSW graph over the rows of a matrix (usearch, inner product); keys are rows.

    ``connectivity`` (M), ``expansion_add`` (efConstruction) and ``expansion_search`` (ef)
    are usearch's; the defaults reach recall@10 >= 0.95 on MiniLM vectors (see
    docs/benchmarks.md). :meth:`build` or :meth:`load` sets ``index_``.
    """

    def __init__(
        self,
        *,
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 64,
        dtype: str = "f16",
    ) -> None:
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self.expansion_search = expansion_search
        self.dtype = dtype

    def _new(self, ndim: int) -> Any:
        from usearch.index import Index

        return Index(
            ndim=ndim,
            metric="ip",
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def build(self, matrix: np.ndarray, *, threads: int = 0) -> Hnsw:
        """Insert every row (``threads``: 0 = all cores)."""
        index = self._new(matrix.shape[1])
        if matrix.shape[0]:
            keys = np.arange(matrix.shape[0], dtype=np.uint64)
            index.add(keys, np.ascontiguousarray(matrix, dtype=np.float32), threads=threads)
        self.index_ = index
        return self

    def save(self, path: Path) -> None:
        """Write the graph to ``path`` atomically (a temporary file, then a rename)."""
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            self.index_.save(str(partial))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def load(self, path: Path, ndim: int, *, view: bool = True) -> Hnsw:
        """Open a saved graph; ``view`` memory-maps it instead of reading it in."""
        index = self._new(ndim)
        if view:
            index.view(str(path))
        else:
            index.load(str(path))
        index.expansion_search = self.expansion_search
        self.index_ = index
        return self

    def __len__(self) -> int:
        return len(self.index_)

    def search(
        self, queries: np.ndarray, k: int, *, threads: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top ``k``; a query may get fewer (padded with row -1, score -inf)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        q = queries.shape[0]
        k = min(k, len(self))
        if k <= 0:
            return np.empty((q, 0), np.float32), np.empty((q, 0), np.int64)
        # A wide search needs a wide beam: ef below k would cap what comes back.
        self.index_.expansion_search = max(self.expansion_search, k)
        found = self.index_.search(queries, k, threads=threads)
        keys = np.zeros((q, k), np.int64)
        distances = np.zeros((q, k), np.float32)
        if q == 1:  # usearch answers one query with a flat Matches of the hits found
            counts = np.array([len(found.keys)])
            keys[0, : counts[0]] = found.keys
            distances[0, : counts[0]] = found.distances
        else:
            counts = np.asarray(found.counts).reshape(q)
            keys[:] = np.asarray(found.keys).reshape(q, -1)[:, :k]
            distances[:] = np.asarray(found.distances).reshape(q, -1)[:, :k]
        valid = np.arange(keys.shape[1])[None, :] < counts[:, None]
        rows = np.where(valid, keys, -1)
        scores = np.where(valid, 1.0 - distances, -np.inf).astype(np.float32)
        return scores, rows


def search(
    matrix: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    hnsw: Hnsw | None = None,
    allowed: np.ndarray | None = None,
    exact_below: int = 50_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` per query among ``allowed`` rows (ascending row numbers; None: all).

    Without a graph, or when the allowed rows number at most ``exact_below``: exact. Else
    the graph, asked for more than ``k`` in proportion to how few rows are allowed and
    widened fourfold until every query has ``k`` allowed rows (or as many as are allowed);
    once the widened ``k`` would pass a quarter of the rows, exact over the allowed rows.
    The graph's hits are scored again on ``matrix``: scores are exact either way.
    """
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    n = matrix.shape[0]
    candidates = n if allowed is None else len(allowed)
    k = min(k, candidates)
    if hnsw is None or candidates <= exact_below or k <= 0:
        return exact_search(matrix, queries, k, rows=allowed)
    mask: np.ndarray | None = None
    if allowed is not None:
        mask = np.zeros(n, dtype=bool)
        mask[allowed] = True
    wanted = k if mask is None else math.ceil(2 * k * n / candidates)
    while wanted <= max(n // 4, k):
        _, rows = hnsw.search(queries, wanted)
        keep = rows >= 0
        if mask is not None:
            keep &= mask[np.maximum(rows, 0)]
        if (keep.sum(axis=1) >= k).all():
            # Each query's kept hits: a stable sort puts them ahead of the rest.
            order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
            return _rescored(matrix, queries, np.take_along_axis(rows, order, axis=1))
        wanted *= 4
    return exact_search(matrix, queries, k, rows=allowed)


def _rescored(
    matrix: np.ndarray, queries: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The graph's hits with exact float32 scores (it stores float16), in their order."""
    vectors = np.asarray(matrix[rows.ravel()], dtype=np.float32).reshape(*rows.shape, -1)
    scores = np.einsum("qkd,qd->qk", vectors, queries)
    return _ordered(scores, rows)
