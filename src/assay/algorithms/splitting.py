"""Splitting labeled records into named sets that each represent the whole, and measuring how
well they do.

- :func:`set_sizes` turns ``train=0.8,validation=0.1,test=0.1`` (fractions or counts) into
  counts;
- :func:`split` assigns rows to sets, stratified on labels (a multi-label indicator matrix)
  and on clusters of an embedding, keeping each group (near-duplicates) in one set;
- :func:`distances` measures each set's embedding distribution against the pool (squared MMD,
  Gaussian kernel through random Fourier features: linear in n) next to random splits.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def set_sizes(spec: str | Mapping[str, float], total: int) -> dict[str, int]:
    """Counts per set, in the order given. Fractions must add up to 1 (within 1e-6), counts
    to at most ``total``; a mix, a negative, an empty or a repeated name: ``ValueError`` with
    a message that says what is wrong."""
    raise NotImplementedError


def split(
    labels: np.ndarray,
    sizes: list[int],
    *,
    clusters: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Each row's set (int16 index into ``sizes``). ``labels``: ``(n, L)`` bool indicator
    matrix (one column per label; one True per row for single-label tasks); ``clusters``:
    ``(n,)`` cluster of each row; ``groups``: ``(n,)`` group id (-1: alone), a group's rows
    all go to one set. Set sizes are met exactly where groups allow."""
    raise NotImplementedError


def distances(
    matrix: np.ndarray,
    assignment: np.ndarray,
    sets: int,
    *,
    random_splits: int = 20,
    features: int = 512,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Per set: ``mmd`` (squared MMD between the set's rows and all rows), and for
    ``random_splits`` random assignments of the same sizes ``random_median``, ``random_p95``
    and ``percentile`` (share of random sets with a larger MMD). Chunked over rows."""
    raise NotImplementedError
