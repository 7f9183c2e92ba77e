"""Neural search and outliers over an embedding's vectors (services/embeddings.py).

Search is exact (a matrix product) for embeddings of up to ``exact_below`` records and goes
through an HNSW graph (usearch) above that. The graph lives next to the vectors, in the live
version's folder (``index.usearch``), so a new version of the vectors (a rerun after records
changed) gets a new graph and the old one goes with the old version. It is built by
:func:`build_index` after a run, or on the first search of a version that lacks it.

A filter narrows the search to the records it matches *before* the neighbours are chosen
(``algorithms/vector_index.search``): the full limit comes back whenever that many matching
records reach the threshold.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay import documents
from assay.algorithms import vector_index
from assay.errors import ValidationError
from assay.services import embeddings, projects, queries, records, slices
from assay.storage.models import (
    DataSlice,
    Embedding,
    LabelingTask,
    ManualState,
    Project,
    Record,
)

EXACT_BELOW = 50_000  # the default of the exact_search_below setting
INDEX_FILE = "index.usearch"
# Default similarity thresholds per embedder kind (cosine), about the similarity that 1 in 100
# pairs of unrelated records reaches: measured on clickbait, AG News and ../shared/data
# (benchmarks/bench_search.py "random_pairs"), tfidf-svd 0.38-0.48, MiniLM 0.34-0.36.
# model2vec is not measured (no such model is installed) and takes the sentence models'.
DEFAULT_THRESHOLDS = {"tfidf-svd": 0.4, "st": 0.35, "model2vec": 0.35}
OUTLIER_NEIGHBOURS = 10
# Density scores compare each record with at most this many others (a fixed random sample).
DENSITY_SAMPLE = 20_000
_QUERY_BLOCK = 2048  # queries per matrix product when scoring every record

_graphs: dict[Path, vector_index.Hnsw] = {}
_graphs_lock = threading.Lock()


def default_threshold(embedder: str) -> float:
    """The similarity a result must reach unless a search says otherwise."""
    return DEFAULT_THRESHOLDS[embeddings.parse_embedder(embedder)[0]]


def choose(session: Session, project: Project, name: str | None) -> Embedding:
    """The named embedding, or the project's first ready attribute-level one."""
    if name:
        return embeddings.get(session, project, name)
    for found in embeddings.list_all(session, project):
        if found.state == "ready" and found.level == "attribute":
            return found
    raise ValidationError(
        f"project {project.name!r} has no ready embedding to search: add one "
        "(assay embed --project P --attribute A) and let it finish"
    )


# --- the index -------------------------------------------------------------------------------


def build_index(
    data_dir: Path, embedding: Embedding, *, exact_below: int = EXACT_BELOW
) -> Path | None:
    """Build and save the HNSW graph of the live vectors when they are large enough (and it
    is missing), and their density outlier scores; returns the graph's path, or None for an
    embedding searched exactly (whose scores come quickly on first use)."""
    vectors = embeddings.load(data_dir, embedding)
    graph = _graph(data_dir, embedding, vectors, exact_below)
    if graph is None:
        return None
    density_scores(data_dir, embedding, vectors, exact_below=exact_below)
    return _index_path(data_dir, embedding, vectors)


def _index_path(data_dir: Path, embedding: Embedding, vectors: embeddings.Vectors) -> Path:
    return embeddings.folder(data_dir, embedding.id) / f"v{vectors.version}" / INDEX_FILE


def _graph(
    data_dir: Path, embedding: Embedding, vectors: embeddings.Vectors, exact_below: int
) -> vector_index.Hnsw | None:
    if len(vectors.ids) <= exact_below:
        return None
    path = _index_path(data_dir, embedding, vectors)
    with _graphs_lock:  # one build at a time; a search waiting for it then reuses it
        for stale in [p for p in _graphs if not p.exists()]:
            del _graphs[stale]  # its version was replaced
        graph = _graphs.get(path)
        if graph is not None:
            return graph
        ndim = vectors.matrix.shape[1]
        if path.exists():
            graph = vector_index.Hnsw().load(path, ndim)
        else:
            graph = vector_index.Hnsw().build(np.asarray(vectors.matrix))
            try:
                graph.save(path)
            except OSError:  # the version was replaced meanwhile: use it this once
                return graph
            graph = vector_index.Hnsw().load(path, ndim)  # memory-mapped, not held twice
        _graphs[path] = graph
        return graph


def rows_of(vectors: embeddings.Vectors, record_ids: np.ndarray) -> np.ndarray:
    """The rows (ascending) of those records that the vectors hold."""
    if not len(vectors.ids) or not len(record_ids):
        return np.empty(0, np.int64)
    rows = np.minimum(np.searchsorted(vectors.ids, record_ids), len(vectors.ids) - 1)
    return np.unique(rows[vectors.ids[rows] == record_ids])


# --- similar records -------------------------------------------------------------------------


def similar(
    session: Session,
    project: Project,
    name: str | None,
    data_dir: Path,
    *,
    record: int | str | None = None,
    text: str | None = None,
    where: Any = None,
    limit: int = 10,
    threshold: float | None = None,
    encoder: Any = None,
    exact_below: int = EXACT_BELOW,
) -> documents.SimilarResult:
    """The records most similar to a record (id or ``col=value`` key) or to a free text in
    the embedding ``name`` (default: :func:`choose`'s), among those ``where`` matches,
    scoring at least ``threshold`` (default: the embedder's), best first. The record
    itself is left out."""
    embedding = choose(session, project, name)
    if (record is None) == (text is None):
        raise ValidationError("similar records: give either a record or a text")
    if not 1 <= limit <= queries.MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {queries.MAX_LIMIT}", limit=limit)
    threshold = default_threshold(embedding.embedder) if threshold is None else float(threshold)
    if not np.isfinite(threshold):  # NaN matches nothing and is no JSON number
        raise ValidationError(f"threshold must be a finite number, not {threshold}")
    vectors = embeddings.load(data_dir, embedding)
    own_row: int | None = None
    if record is not None:
        found = records.resolve(session, project, record)
        own_row = vectors.row_of(found.id)
        if own_row is None:
            raise ValidationError(
                f"record {found.id} has no vector in embedding {embedding.name!r}: it came "
                "after the embedding's last run; run the embedding again",
                record=found.id,
                embedding=embedding.name,
            )
        query = np.asarray(vectors.matrix[own_row], dtype=np.float32)
    else:
        if not str(text).strip():
            raise ValidationError("similar records: the text is empty")
        encode = encoder or embeddings.encoder(data_dir, embedding)
        query = np.asarray(encode([str(text)]), dtype=np.float32)[0]
    if not np.any(query):  # an empty text, or none of its words known to TF-IDF
        return {"embedding": embedding.name, "threshold": threshold, "records": []}
    allowed: np.ndarray | None = None
    if where:
        ids = np.asarray(queries.record_ids(session, project, where), dtype=np.int64)
        allowed = rows_of(vectors, ids)
        if own_row is not None:
            allowed = allowed[allowed != own_row]
    graph = _graph(data_dir, embedding, vectors, exact_below)
    candidates = len(vectors.ids) if allowed is None else len(allowed)
    k = limit + (1 if allowed is None and own_row is not None else 0)
    while True:
        scores, rows = vector_index.search(
            vectors.matrix, query, k, hnsw=graph, allowed=allowed, exact_below=exact_below
        )
        hits = [
            (int(row), float(score))
            for row, score in zip(rows[0].tolist(), scores[0].tolist(), strict=True)
            if row >= 0 and row != own_row and score >= threshold
        ]
        # Records deleted (or staged by an import) since the run drop out here.
        stored = records_by_id(session, project, [int(vectors.ids[row]) for row, _ in hits])
        results = [
            (int(vectors.ids[row]), score) for row, score in hits if int(vectors.ids[row]) in stored
        ]
        below = bool(rows.shape[1]) and float(scores[0, -1]) < threshold
        if len(results) >= limit or k >= candidates or below:
            break
        k = min(k * 4, candidates)
    best = [{"id": i, "score": round(score, 6), **stored[i]} for i, score in results[:limit]]
    return {
        "embedding": embedding.name,
        "threshold": threshold,
        "records": scored_records(session, project, best),
    }


def scored_records(
    session: Session, project: Project, found: list[dict[str, Any]]
) -> list[documents.ScoredRecord]:
    """The records found (id, score, key, data), each with its position in the project
    (what names it where the project has no primary key)."""
    position = records.positions(session, project, [doc["id"] for doc in found])
    return [
        {
            "id": doc["id"],
            "key": doc["key"],
            "position": position[doc["id"]],
            "score": doc["score"],
            "data": doc["data"],
        }
        for doc in found
    ]


def records_by_id(session: Session, project: Project, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The key and data of those of ``ids`` that are visible records of the project (a
    deleted or staged record is absent)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Record.id, Record.key, Record.data).where(
            Record.id.in_(ids), projects.visible_records(session, project)
        )
    )
    return {r.id: {"key": r.key, "data": r.data} for r in rows}


# --- outliers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outliers:
    """Outlier scores (higher: further from the rest) of the records ``ids``; ``method`` is
    ``labeled`` (distance to the manually labeled records, which are left out) or
    ``density`` (mean distance to the nearest records)."""

    ids: np.ndarray
    scores: np.ndarray
    method: str


def labeled_ids(session: Session, project: Project) -> np.ndarray:
    """Ids (ascending) of the records with a manual label in any task of the project."""
    found = session.scalars(
        select(ManualState.record_id)
        .join(LabelingTask, LabelingTask.id == ManualState.task_id)
        .where(LabelingTask.project_id == project.id)
        .distinct()
    )
    return np.unique(np.fromiter(found, dtype=np.int64))


def outlier_scores(
    session: Session,
    project: Project,
    embedding: Embedding,
    data_dir: Path,
    *,
    neighbours: int = OUTLIER_NEIGHBOURS,
    exact_below: int = EXACT_BELOW,
) -> Outliers:
    """Each record's outlier score: with manual labels, one minus its mean similarity to
    its ``neighbours`` most similar labeled records (only unlabeled records are scored);
    without, one minus its mean similarity to its ``neighbours`` most similar records."""
    vectors = embeddings.load(data_dir, embedding)
    labeled = rows_of(vectors, labeled_ids(session, project))
    if len(labeled):
        rest = np.setdiff1d(np.arange(len(vectors.ids)), labeled)
        scores = 1.0 - _mean_similarity(vectors.matrix, rest, labeled, neighbours, self_too=False)
        return Outliers(vectors.ids[rest], scores, "labeled")
    scores = density_scores(data_dir, embedding, vectors, neighbours, exact_below)
    return Outliers(vectors.ids, scores, "density")


def density_scores(
    data_dir: Path,
    embedding: Embedding,
    vectors: embeddings.Vectors,
    neighbours: int = OUTLIER_NEIGHBOURS,
    exact_below: int = EXACT_BELOW,
) -> np.ndarray:
    """Each record's density outlier score (one minus its mean similarity to its nearest
    records), computed once per version of the vectors and kept with them: the embedding job
    makes them for a large embedding, so that no request waits for them."""
    path = embeddings.folder(data_dir, embedding.id) / f"v{vectors.version}"
    cached = path / f"outliers-density-{neighbours}.npy"
    if cached.exists():
        loaded: np.ndarray = np.load(cached)
        return loaded
    every = np.arange(len(vectors.ids))
    graph = _graph(data_dir, embedding, vectors, exact_below)
    if graph is not None:
        scores = 1.0 - _graph_similarity(vectors.matrix, graph, neighbours)
    else:
        reference = every
        if len(every) > DENSITY_SAMPLE:
            rng = np.random.default_rng(0)
            reference = np.sort(rng.choice(every, DENSITY_SAMPLE, replace=False))
        scores = 1.0 - _mean_similarity(vectors.matrix, every, reference, neighbours, self_too=True)
    scores = scores.astype(np.float32)
    if path.exists():  # kept with this version of the vectors
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.partial")
        with open(partial, "wb") as out:
            np.save(out, scores)
        os.replace(partial, cached)
    return scores


def _mean_similarity(
    matrix: np.ndarray, rows: np.ndarray, reference: np.ndarray, k: int, *, self_too: bool
) -> np.ndarray:
    """Mean similarity of each of ``rows`` to its ``k`` most similar ``reference`` rows;
    ``self_too``: rows may be in ``reference`` and are not their own neighbour."""
    k = min(k, len(reference) - (1 if self_too else 0))
    out = np.zeros(len(rows), dtype=np.float32)
    if k <= 0:
        return out
    for start in range(0, len(rows), _QUERY_BLOCK):
        block = rows[start : start + _QUERY_BLOCK]
        queries_ = np.asarray(matrix[block], dtype=np.float32)
        scores, found = vector_index.exact_search(
            matrix, queries_, k + (1 if self_too else 0), rows=reference
        )
        if self_too:
            mine = found == block[:, None]
            # drop the row itself where found, else the weakest of the k + 1
            keep = np.where(mine.any(axis=1, keepdims=True), ~mine, np.arange(k + 1) < k)
            scores = scores[keep].reshape(len(block), k)
        out[start : start + len(block)] = scores[:, :k].mean(axis=1)
    return out


def _graph_similarity(matrix: np.ndarray, graph: vector_index.Hnsw, k: int) -> np.ndarray:
    """Mean similarity of every row to its ``k`` nearest other rows, through the graph."""
    out = np.zeros(matrix.shape[0], dtype=np.float32)
    step = 8 * _QUERY_BLOCK
    for start in range(0, matrix.shape[0], step):
        block = np.asarray(matrix[start : start + step], dtype=np.float32)
        scores, found = graph.search(block, k + 1)
        valid = (found >= 0) & (found != np.arange(start, start + len(block))[:, None])
        first = np.argsort(~valid, axis=1, kind="stable")[:, :k]  # the first k valid hits
        kept = np.take_along_axis(valid, first, axis=1)
        total = np.where(kept, np.take_along_axis(scores, first, axis=1), 0.0).sum(axis=1)
        out[start : start + len(block)] = total / np.maximum(kept.sum(axis=1), 1)
    return out


def outliers(
    session: Session,
    project: Project,
    embedding: Embedding,
    data_dir: Path,
    *,
    limit: int = 50,
    exact_below: int = EXACT_BELOW,
) -> documents.OutlierResult:
    """The ``limit`` records with the highest outlier scores, highest first."""
    if not 1 <= limit <= queries.MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {queries.MAX_LIMIT}", limit=limit)
    found = outlier_scores(session, project, embedding, data_dir, exact_below=exact_below)
    ranked = _ranked(session, project, found, limit)
    stored = records_by_id(session, project, [i for i, _ in ranked])
    return {
        "embedding": embedding.name,
        "method": cast(documents.OutlierMethod, found.method),
        "records": scored_records(
            session, project, [{"id": i, "score": round(s, 6), **stored[i]} for i, s in ranked]
        ),
    }


def _ranked(
    session: Session, project: Project, found: Outliers, limit: int
) -> list[tuple[int, float]]:
    """The ``limit`` highest scores of records that still exist, highest first (ties by id)."""
    order = np.lexsort((found.ids, -found.scores))
    out: list[tuple[int, float]] = []
    for start in range(0, len(order), 4 * limit):
        chunk = order[start : start + 4 * limit]
        ids = [int(i) for i in found.ids[chunk]]
        alive = set(records_by_id(session, project, ids))
        out += [
            (i, float(s))
            for i, s in zip(ids, found.scores[chunk].tolist(), strict=True)
            if i in alive
        ]
        if len(out) >= limit:
            break
    return out[:limit]


def outlier_slice_name(embedding: Embedding) -> str:
    return f"outliers-{embedding.name}"


def outlier_slice(
    session: Session,
    project: Project,
    embedding: Embedding,
    data_dir: Path,
    *,
    size: int = 100,
    exact_below: int = EXACT_BELOW,
) -> DataSlice:
    """Create or refresh the static slice ``outliers-<embedding>``: the ``size`` records
    with the highest outlier scores now, ranked (its order, ``slice:NAME``, is highest first)."""
    if not 1 <= size <= 100_000:
        raise ValidationError("an outlier slice holds between 1 and 100,000 records", size=size)
    found = outlier_scores(session, project, embedding, data_dir, exact_below=exact_below)
    ids = [i for i, _ in _ranked(session, project, found, size)]
    return slices.put_static(
        session, project, outlier_slice_name(embedding), ids, where="where the outlier slice goes"
    )
