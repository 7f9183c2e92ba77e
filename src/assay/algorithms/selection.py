"""What to label next: pure selectors over an embedding matrix and/or class probabilities.

Every selector returns ``(rows, scores)``: the chosen row numbers in pick order (int64, best
first) and one float32 score per chosen row (higher: picked for a stronger reason; the
strategy says what it means). No selector builds an n x n matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Picked = tuple[np.ndarray, np.ndarray]


def random_rows(n: int, size: int, *, seed: int) -> Picked:
    """``size`` distinct rows of ``n``, uniformly at random (scores: 1 - rank/size)."""
    raise NotImplementedError


@dataclass
class KCenterState:
    """Where a k-center run stands (stored after every pass, so that it resumes):
    the rows chosen so far in order, their scores, and each row's squared distance to its
    nearest centre."""

    chosen: np.ndarray  # int64
    scores: np.ndarray  # float32, the distance of each chosen row when it was picked
    nearest: np.ndarray  # float32 (n,)


def k_center(
    matrix: np.ndarray,
    size: int,
    *,
    centres: np.ndarray | None = None,
    state: KCenterState | None = None,
    checkpoint: Callable[[KCenterState], None] | None = None,
    seed: int = 0,
) -> Picked:
    """Greedy k-center (coreset): each pick is the row farthest from its nearest centre;
    ``centres`` (rows, e.g. the labeled records) start as centres and are never picked.
    Streaming: memory O(n) beside the matrix. ``state`` resumes an interrupted run;
    ``checkpoint`` is called with the state after each pass over the matrix."""
    raise NotImplementedError


def covering_radius(matrix: np.ndarray, rows: np.ndarray) -> float:
    """The largest distance of any row to its nearest row of ``rows`` (chunked)."""
    raise NotImplementedError


def typical(
    matrix: np.ndarray,
    size: int,
    *,
    labeled: np.ndarray | None = None,
    seed: int = 0,
    neighbours: int = 20,
) -> Picked:
    """TypiClust: cluster into ``len(labeled) + size`` clusters; from the largest clusters
    without a labeled row, the most typical row (highest inverse mean distance to its
    ``neighbours`` nearest rows in its cluster). Scores: typicality."""
    raise NotImplementedError


def cluster_stratified(
    matrix: np.ndarray, size: int, *, seed: int = 0, clusters: int | None = None
) -> Picked:
    """Stratified over k-means clusters: each cluster gets its share of ``size`` (largest
    remainders), rows drawn at random within it."""
    raise NotImplementedError


def uncertainty(probabilities: np.ndarray, measure: str) -> np.ndarray:
    """Each row's uncertainty (higher: more uncertain), float32: ``margin`` (1 - (p1 - p2)),
    ``least_confidence`` (1 - p1) or ``entropy``. ``probabilities``: ``(n, classes)``, or
    ``(n,)`` confidences of the top label (least confidence only; margin for two classes)."""
    raise NotImplementedError


def most_uncertain(scores: np.ndarray, size: int) -> Picked:
    """The ``size`` rows with the highest uncertainty, highest first (ties: lower row)."""
    raise NotImplementedError


def hybrid(
    matrix: np.ndarray, scores: np.ndarray, size: int, *, seed: int = 0, factor: int = 10
) -> Picked:
    """Cluster-Margin: the ``factor * size`` most uncertain rows, clustered; picked round-robin
    over the clusters (smallest first), most uncertain first within each."""
    raise NotImplementedError


def auto_strategy(labeled: int, classes: int, has_probabilities: bool) -> tuple[str, str]:
    """``(strategy, reason)``: ``typical`` while labels are few, then ``hybrid`` (``coreset``
    where no probabilities exist)."""
    raise NotImplementedError
