"""Mini-batch k-means and the chunked nearest-centre pass."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from assay.algorithms import clustering
from assay.algorithms.clustering import kmeans, nearest


def blobs(n: int, centres: np.ndarray, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(centres), n)
    points = centres[truth] + spread * rng.standard_normal((n, centres.shape[1]))
    return points.astype(np.float32), truth


def test_nearest_matches_a_full_distance_matrix_in_small_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((500, 8)).astype(np.float32)
    centres = rng.standard_normal((7, 8)).astype(np.float32)
    monkeypatch.setattr(clustering, "_CHUNK_ENTRIES", 7 * 30)  # chunks of 30 rows
    owner, d2 = nearest(matrix, centres)
    full = ((matrix[:, None, :].astype(np.float64) - centres[None, :, :]) ** 2).sum(axis=2)
    assert owner.dtype == np.int32 and d2.dtype == np.float32
    assert owner.tolist() == full.argmin(axis=1).tolist()
    assert np.allclose(d2, full.min(axis=1), atol=1e-4)


def test_nearest_hand_computed_ties_go_to_the_lower_centre() -> None:
    matrix = np.array([[0, 0], [2, 0], [1, 0]], np.float32)
    centres = np.array([[0, 0], [2, 0]], np.float32)
    owner, d2 = nearest(matrix, centres)
    assert owner.tolist() == [0, 1, 0]  # (1, 0) is 1 from both: the lower centre
    assert d2.tolist() == [0.0, 0.0, 1.0]


def test_kmeans_finds_separated_blobs_and_is_deterministic() -> None:
    centres = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10], [-10, 0, 0]], np.float32)
    matrix, truth = blobs(3000, centres, 0.5, seed=2)
    found, assignment = kmeans(matrix, 4, seed=3)
    assert found.shape == (4, 3) and found.dtype == np.float32
    assert assignment.shape == (3000,) and assignment.dtype == np.int32
    # each true blob lands in one cluster, and each cluster holds one blob
    pairs = set(zip(truth.tolist(), assignment.tolist(), strict=True))
    assert len(pairs) == 4 and len({a for _, a in pairs}) == 4
    # centres sit on the blobs' centres
    assert np.abs(np.sort(found, axis=0) - np.sort(centres, axis=0)).max() < 0.2
    again = kmeans(matrix, 4, seed=3)
    assert np.array_equal(again[0], found) and np.array_equal(again[1], assignment)


def test_kmeans_k_is_cut_to_the_rows() -> None:
    matrix = np.array([[0, 0], [1, 1], [5, 5]], np.float32)
    found, assignment = kmeans(matrix, 10, seed=0)
    assert found.shape == (3, 2)
    assert sorted(assignment.tolist()) == [0, 1, 2]
    empty_centres, empty_assignment = kmeans(np.empty((0, 2), np.float32), 3)
    assert empty_centres.shape == (0, 2) and empty_assignment.shape == (0,)


def test_nearest_never_holds_rows_by_centres_beyond_a_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(4)
    matrix = rng.standard_normal((20_000, 8)).astype(np.float32)
    centres = rng.standard_normal((400, 8)).astype(np.float32)
    monkeypatch.setattr(clustering, "_CHUNK_ENTRIES", 400 * 500)  # chunks of 500 rows
    tracemalloc.start()
    nearest(matrix, centres)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000 * 400 * 4 / 10  # the full 20,000 x 400 block would be 32 MB
