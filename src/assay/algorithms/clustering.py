"""k-means over the rows of a matrix in O(n·k·d) per pass, never an n x n matrix: mini-batch
updates, then one chunked pass that assigns every row to its nearest centre."""

from __future__ import annotations

import numpy as np


def kmeans(
    matrix: np.ndarray, k: int, *, seed: int = 0, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, assignment)``: ``k`` centres (float32, ``(k, d)``) and each row's nearest
    centre (int32, ``(n,)``); ``k`` is cut to ``n``. Deterministic for a seed."""
    raise NotImplementedError


def nearest(matrix: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centre (int32) and squared euclidean distance to it (float32),
    computed in chunks."""
    raise NotImplementedError
