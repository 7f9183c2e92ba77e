"""Which labels are probably wrong: confident learning over out-of-fold probabilities,
combined with the labels of each record's nearest neighbours in an embedding; plus the
rankings of manual-versus-weak and annotator disagreement.

Labels are class indices (int, ``(n,)``); probabilities ``(n, classes)`` rows summing to 1.
"""

from __future__ import annotations

import numpy as np


def fold_of(labels: np.ndarray, folds: int, *, seed: int = 0) -> np.ndarray:
    """Each row's fold (stratified on its label); refuses (``ValueError``) a class with fewer
    rows than ``folds``... or fewer than 2 rows (too few labels for out-of-fold probabilities)."""
    raise NotImplementedError


def fold_probabilities(
    features: np.ndarray, labels: np.ndarray, classes: int, fold: np.ndarray, which: int
) -> np.ndarray:
    """Probabilities ``(rows of fold which, classes)`` of a logistic regression trained on the
    rows of the other folds (one chunk of the out-of-fold probabilities)."""
    raise NotImplementedError


def neighbour_labels(
    matrix: np.ndarray, labels: np.ndarray, classes: int, *, neighbours: int = 10
) -> np.ndarray:
    """``(n, classes)``: the label distribution of each row's ``neighbours`` nearest other
    rows (cosine), smoothed; chunked, never n x n."""
    raise NotImplementedError


def label_issues(
    probabilities: np.ndarray, labels: np.ndarray, *, neighbours: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, scores, suggested)``: the rows flagged as label errors, most suspect first,
    their scores (higher: more suspect) and the class suggested for each. Confident learning
    (per-class thresholds, the confident joint) over the probabilities, combined with the
    neighbours' label distribution when given."""
    raise NotImplementedError


def weak_disagreement(
    manual: np.ndarray, weak: np.ndarray, confidence: np.ndarray, *, threshold: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scores)``: rows whose weak label differs from the manual one with confidence
    at least ``threshold``, most confident first."""
    raise NotImplementedError


def annotator_disagreement(votes: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scores)``: rows whose annotators gave different labels, most disagreement
    first (score: one minus the share of the most common label)."""
    raise NotImplementedError
