"""Zero-shot classification in an embedding space: each label is the embedding of its name
(and description), each record votes the label it is most similar to.

Similarities are cosines (rows and label vectors are L2-normalized); a softmax over them at a
``temperature`` turns them into probabilities, so that ``min_confidence`` means the same for
any number of labels. Sentence embedders put unrelated texts at cosines of 0.0-0.3 and close
ones at 0.4-0.8, so a temperature of a few hundredths separates them.

Of ``k`` labels the most probable always has at least 1/k (the chance level): a
``min_confidence`` at chance votes on every record, 0.5 on a two-label task included. The
default asks for part of the way from chance to certainty (:func:`default_min_confidence`), so
that weak evidence abstains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_TEMPERATURE = 0.05
# The default min_confidence: this share of the way from the chance level 1/k to certainty.
# 0.7 for two labels (the top cosine 0.042 above the other at the default temperature), 0.6
# for three, 0.55 for four. Calibrated with benchmarks/bench_zero_shot.py (docs/benchmarks.md):
# on two-label data, where 0.5 voted on every record, it lifts the precision of the votes
# (clickbait sample 0.52 -> 0.80, YouTube spam 0.74 -> 0.84, SMS spam 0.61 -> 0.65) and
# abstains on 31-92% of the records; on four labels it is 0.05 above the old 0.5.
BEYOND_CHANCE = 0.4


def default_min_confidence(n_labels: int) -> float:
    """The default ``min_confidence`` for ``n_labels`` labels: ``BEYOND_CHANCE`` of the way
    from chance (1/k) to 1."""
    chance = 1 / max(n_labels, 1)
    return round(chance + BEYOND_CHANCE * (1 - chance), 2)


def label_text(name: str, description: str | None = None) -> str:
    """The text that stands for a label: its name as words (``not_clickbait`` -> "not
    clickbait"), and its description after a colon where there is one."""
    words = " ".join(name.replace("_", " ").split())
    description = (description or "").strip()
    return f"{words}: {description}" if description else words


def _normalized(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1)


class ZeroShotClassifier:
    """Scores rows against label vectors. ``fit`` takes the label vectors (one row per label,
    in the order of the classes), ``predict_proba`` gives per row a probability per label."""

    def __init__(self, temperature: float = DEFAULT_TEMPERATURE) -> None:
        self.temperature = temperature

    def fit(self, label_vectors: np.ndarray) -> ZeroShotClassifier:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, not {self.temperature}")
        vectors = np.asarray(label_vectors)
        if vectors.ndim != 2 or len(vectors) < 2:
            raise ValueError("zero-shot classification needs the vectors of at least 2 labels")
        self.label_vectors_ = _normalized(vectors)
        return self

    def similarities(self, matrix: np.ndarray) -> np.ndarray:
        """Cosine of each row (normalized float rows, n x d) with each label (n x labels)."""
        if not hasattr(self, "label_vectors_"):
            raise RuntimeError("fit the label vectors first")
        rows = np.asarray(matrix, dtype=np.float32)
        return rows @ self.label_vectors_.T  # type: ignore[no-any-return]

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        logits = self.similarities(matrix).astype(np.float64) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def best_labels(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the index of the most probable label and its probability."""
    best = np.argmax(probabilities, axis=1)
    return best.astype(np.int64), probabilities[np.arange(len(best)), best]


def describe(scores: Sequence[float], labels: Sequence[str]) -> str:
    """A row's probabilities as a line, most probable first (the preview's output)."""
    ordered = sorted(zip(labels, scores, strict=True), key=lambda pair: -pair[1])
    return ", ".join(f"{label} {score:.2f}" for label, score in ordered)
