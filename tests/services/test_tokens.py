"""Batched tokenization gives exactly spaCy's tokens of each text alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from assay.services import samples, tokens

TRICKY = [
    "", " ", "\n", "  leading", "trailing  ", "a\nb", "x\n\ny", "tab\there", "a  b",
    "don't stop", "U.S.A. is big.", "e-mail me@x.com http://a.b/c?d=1 :)", "東京 タワー",
    "“quoted”—dash", "emoji 🎉🎉 ok", "can't won't", "3.5km", "$10.50!", "(nested [brackets])",
    "ends with dot.", "Mr. Smith", "hello\u00a0world", "a" * 300, "مرحبا بالعالم", "e\u0301",
]  # fmt: skip


def _alone(texts: list[str]) -> list[list[list[int]]]:
    nlp = tokens.pipeline("en")
    return [tokens._pairs(doc).tolist() for doc in nlp.tokenizer.pipe(texts)]


def _batched(texts: list[str]) -> list[list[list[int]]]:
    return [tokens.offsets(blob).tolist() for blob in tokens.tokenize(texts, "en")]


def test_tricky_texts_tokenize_as_alone() -> None:
    assert _batched(TRICKY) == _alone(TRICKY)


def test_sample_headlines_tokenize_as_alone() -> None:
    texts = [r["headline"] for r in samples.data()]
    assert _batched(texts) == _alone(texts)


def test_shared_datasets_tokenize_as_alone(shared_data: Callable[[str], Path]) -> None:
    rows = json.loads(
        (shared_data("kern-ag-news") / "labeled_data_val.json").read_text(encoding="utf-8")
    )
    texts = [str(r.get(k, "")) for r in rows[:3000] for k in ("Title", "Description")]
    assert _batched(texts) == _alone(texts)
