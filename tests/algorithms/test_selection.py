"""Selectors: exact streaming k-center (against a naive greedy), TypiClust, stratified,
uncertainty measures, Cluster-Margin and the auto choice."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from assay.algorithms import selection
from assay.algorithms.selection import (
    KCenterState,
    auto_strategy,
    cluster_stratified,
    covering_radius,
    hybrid,
    k_center,
    most_uncertain,
    random_rows,
    typical,
    uncertainty,
)


def normalized(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered(n: int, d: int = 16, clusters: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    points = centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, d))
    return normalized(points)


def naive_k_center(
    matrix: np.ndarray, size: int, start: list[int]
) -> tuple[list[int], list[float]]:
    """Greedy k-center the textbook way, in float64: distances to every centre each step."""
    data = matrix.astype(np.float64)
    centres = list(start)
    picks: list[int] = []
    scores: list[float] = []
    while len(picks) < size:
        dist = np.full(len(data), np.inf)
        for c in centres:
            dist = np.minimum(dist, np.sqrt(((data - data[c]) ** 2).sum(axis=1)))
        dist[centres] = -1.0
        row = int(np.argmax(dist))
        picks.append(row)
        scores.append(float(dist[row]))
        centres.append(row)
    return picks, scores


@pytest.mark.parametrize("candidates", [1024, 16, 1])
def test_k_center_equals_naive_greedy_without_centres(
    monkeypatch: pytest.MonkeyPatch, candidates: int
) -> None:
    monkeypatch.setattr(selection, "_CANDIDATES", candidates)
    matrix = clustered(1500)
    rows, scores = k_center(matrix, 60, seed=4)
    assert rows.dtype == np.int64 and scores.dtype == np.float32
    assert rows[0] == np.random.default_rng(4).integers(1500)  # seeded random first pick
    picks, distances = naive_k_center(matrix, 59, [int(rows[0])])
    assert rows[1:].tolist() == picks
    assert np.allclose(scores[1:], distances, atol=1e-3)
    assert scores[0] == pytest.approx(scores[1])  # the first pick: distance to the farthest
    assert np.all(np.diff(scores) <= 1e-6)


def test_k_center_with_centres_never_picks_them_and_equals_naive() -> None:
    matrix = normalized(np.random.default_rng(5).standard_normal((800, 12)))
    centres = np.array([3, 50, 700, 50])
    rows, scores = k_center(matrix, 40, centres=centres, seed=0)
    picks, distances = naive_k_center(matrix, 40, [3, 50, 700])
    assert rows.tolist() == picks
    assert np.allclose(scores, distances, atol=1e-3)
    assert not set(rows.tolist()) & {3, 50, 700}


def test_k_center_ties_go_to_the_lower_row() -> None:
    # rows 1 and 2 are both at distance 2 from the centre row 0; 1 is the lower
    matrix = np.array([[0, 0], [2, 0], [0, 2], [0.5, 0]], np.float32)
    rows, scores = k_center(matrix, 2, centres=np.array([0]))
    assert rows.tolist() == [1, 2]
    assert scores.tolist() == pytest.approx([2.0, 2.0])  # row 2: 2 from row 0, 2.83 from 1


def test_k_center_size_is_cut_and_duplicates_are_picked_once() -> None:
    matrix = np.array([[0, 0], [0, 0], [1, 0], [1, 0]], np.float32)
    rows, scores = k_center(matrix, 10, centres=np.array([0]))
    assert sorted(rows.tolist()) == [1, 2, 3]
    assert rows[0] == 2 and scores[0] == pytest.approx(1.0)
    assert k_center(matrix, 0)[0].shape == (0,)


def test_k_center_resumes_from_a_stored_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection, "_CANDIDATES", 8)  # many passes
    matrix = clustered(1200, seed=6)
    states: list[KCenterState] = []

    def store(state: KCenterState) -> None:
        states.append(replace(state, nearest=state.nearest.copy()))

    rows, scores = k_center(matrix, 80, centres=np.array([1, 2]), checkpoint=store, seed=1)
    assert len(states) > 3
    assert states[-1].chosen.tolist() == rows.tolist()
    middle = states[len(states) // 2]
    assert 0 < len(middle.chosen) < 80
    resumed_rows, resumed_scores = k_center(
        matrix, 80, centres=np.array([1, 2]), state=middle, seed=1
    )
    assert resumed_rows.tolist() == rows.tolist()
    assert np.array_equal(resumed_scores, scores)


def test_k_center_never_allocates_n_by_n() -> None:
    n = 4000
    matrix = clustered(n, d=32, seed=7)
    tracemalloc.start()
    k_center(matrix, 50, centres=np.arange(10))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < n * n * 4 / 8  # an n x n float32 matrix would be 64 MB; this stays below 8


def test_covering_radius_hand_computed() -> None:
    matrix = np.array([[0, 0], [3, 4], [0, 1], [6, 8]], np.float32)
    assert covering_radius(matrix, np.array([0])) == pytest.approx(10.0)
    assert covering_radius(matrix, np.array([0, 3])) == pytest.approx(5.0)
    assert covering_radius(matrix, np.arange(4)) == pytest.approx(0.0, abs=1e-3)


def test_k_center_covers_better_than_random() -> None:
    matrix = clustered(2000, seed=8)
    rows, scores = k_center(matrix, 30)
    picked = covering_radius(matrix, rows)
    assert picked <= scores[-1] + 1e-4  # greedy's last pick was the farthest row then
    assert picked < covering_radius(matrix, random_rows(2000, 30, seed=0)[0])


def test_random_rows_distinct_seeded_and_ranked() -> None:
    rows, scores = random_rows(100, 10, seed=3)
    assert len(set(rows.tolist())) == 10 and rows.dtype == np.int64
    assert rows.tolist() == random_rows(100, 10, seed=3)[0].tolist()
    assert rows.tolist() != random_rows(100, 10, seed=4)[0].tolist()
    assert scores.tolist() == pytest.approx([1 - i / 10 for i in range(10)])
    assert len(random_rows(5, 10, seed=0)[0]) == 5


def sized_blobs(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blobs far apart in 8 dimensions, blob i with sizes[i] rows, denser at its centre."""
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for i, count in enumerate(sizes):
        centre = np.zeros(8)
        centre[i] = 20.0
        parts.append(centre + rng.standard_normal((count, 8)))
        labels += [i] * count
    return np.concatenate(parts).astype(np.float32), np.array(labels)


def test_typical_picks_one_dense_row_per_blob_largest_first() -> None:
    matrix, blob = sized_blobs([300, 200, 100])
    rows, scores = typical(matrix, 3, seed=0)
    assert blob[rows].tolist() == [0, 1, 2]
    assert scores.dtype == np.float32 and np.all(scores > 0)
    for row, b in zip(rows, blob[rows], strict=True):
        # the most typical row sits near its blob's centre: closer than most of the blob
        centre = matrix[blob == b].mean(axis=0)
        spread = np.linalg.norm(matrix[blob == b] - centre, axis=1)
        assert np.linalg.norm(matrix[row] - centre) < np.quantile(spread, 0.25)
    again = typical(matrix, 3, seed=0)
    assert again[0].tolist() == rows.tolist()


def test_typical_skips_clusters_that_hold_a_labeled_row() -> None:
    matrix, blob = sized_blobs([300, 200, 100])
    labeled = np.array([5])  # in the largest blob
    rows, _ = typical(matrix, 2, labeled=labeled, seed=0)
    assert blob[rows].tolist() == [1, 2]
    assert 5 not in rows.tolist()


def test_cluster_stratified_shares_follow_cluster_sizes() -> None:
    matrix, blob = sized_blobs([600, 300, 100])
    rows, scores = cluster_stratified(matrix, 10, seed=0, clusters=3)
    assert len(set(rows.tolist())) == 10
    assert np.bincount(blob[rows], minlength=3).tolist() == [6, 3, 1]
    assert blob[rows[:3]].tolist() == [0, 1, 2]  # round-robin: a prefix covers all
    assert scores.tolist() == pytest.approx([1 - i / 10 for i in range(10)])


def test_uncertainty_measures_hand_computed() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [1.0, 0.0, 0.0]])
    assert uncertainty(p, "margin") == pytest.approx([0.5, 1.0, 0.0])
    assert uncertainty(p, "least_confidence") == pytest.approx([0.3, 0.6, 0.0])
    expected = [
        -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1)) / np.log(3),
        -(2 * 0.4 * np.log(0.4) + 0.2 * np.log(0.2)) / np.log(3),
        0.0,
    ]
    entropy = uncertainty(p, "entropy")
    assert entropy == pytest.approx(expected, abs=1e-6) and entropy.dtype == np.float32
    assert uncertainty(np.array([[0.5, 0.5]]), "entropy") == pytest.approx([1.0])


def test_uncertainty_of_top_label_confidences() -> None:
    top = np.array([0.9, 0.6])
    assert uncertainty(top, "least_confidence") == pytest.approx([0.1, 0.4])
    assert uncertainty(top, "margin", classes=2) == pytest.approx([0.2, 0.8])
    with pytest.raises(ValueError, match="classes=2"):
        uncertainty(top, "margin")
    with pytest.raises(ValueError, match="unknown uncertainty measure 'confusion'"):
        uncertainty(np.array([[0.5, 0.5]]), "confusion")


def test_most_uncertain_highest_first_ties_to_the_lower_row() -> None:
    rows, scores = most_uncertain(np.array([0.2, 0.9, 0.5, 0.9, 0.1]), 3)
    assert rows.tolist() == [1, 3, 2]
    assert scores.tolist() == pytest.approx([0.9, 0.9, 0.5])


def test_hybrid_spreads_a_batch_over_clusters_of_uncertain_rows() -> None:
    matrix, blob = sized_blobs([200, 200, 200])
    scores = np.zeros(600, np.float32)
    scores[blob == 0] = 0.95  # plain margin would take all picks from blob 0
    scores[blob == 1] = 0.9
    scores[:5] = 0.99
    rows, picked_scores = hybrid(matrix, scores, 4, seed=0, factor=100)
    assert set(blob[rows].tolist()) >= {0, 1}
    assert set(most_uncertain(scores, 4)[0].tolist()) <= set(range(5))
    assert picked_scores.tolist() == pytest.approx(scores[rows].tolist())
    assert hybrid(matrix, scores, 4, seed=0, factor=100)[0].tolist() == rows.tolist()


def test_auto_strategy_cold_start_then_hybrid_or_coreset() -> None:
    strategy, reason = auto_strategy(12, 4, True)
    assert strategy == "typical"
    assert reason == "12 manual labels (< 20 for 4 classes): cold start, typical"
    assert auto_strategy(20, 4, True)[0] == "hybrid"
    assert auto_strategy(20, 4, False)[0] == "coreset"
    assert "no class probabilities" in auto_strategy(500, 4, False)[1]
    assert auto_strategy(9, 2, True)[0] == "typical"
    assert auto_strategy(9, 1, True)[0] == "typical"  # one class known: counted as two
    assert auto_strategy(10, 2, True)[0] == "hybrid"
