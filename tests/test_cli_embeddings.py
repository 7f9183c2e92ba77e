"""``assay embed`` and ``assay embeddings list|run|delete``, in-process, on both databases."""

from __future__ import annotations

import json

from test_cli import Run, run  # noqa: F401  (the fixture)

from assay import Workbench


def test_embed_list_run_delete(run: Run, wb: Workbench) -> None:  # noqa: F811
    run("sample", "clickbait", "--project", "cb")
    out, _ = run("embed", "-p", "cb", "--attribute", "headline", "--reducer", "pca-32")
    added = json.loads(out)
    assert (added["name"], added["state"], added["dimensions"]) == (
        "headline-tfidf-svd",
        "ready",
        32,
    )
    assert added["last_run"]["records"] == 1400
    out, _ = run("embeddings", "list", "-p", "cb")
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["headline-tfidf-svd"]
    out, _ = run("embeddings", "run", "-p", "cb", "--name", "headline-tfidf-svd")
    assert json.loads(out)["last_run"]["embedded"] == 0
    _, err = run("embed", "-p", "cb", "--attribute", "headline", "--embedder", "bert", code=1)
    assert err.startswith("error: unknown embedder 'bert'") and len(err.splitlines()) == 1
    run("embeddings", "delete", "-p", "cb", "--name", "headline-tfidf-svd")
    out, _ = run("embeddings", "list", "-p", "cb")
    assert out.strip() == ""
