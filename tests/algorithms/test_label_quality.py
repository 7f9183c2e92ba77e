"""Label-quality algorithms on small synthetic data: folds, out-of-fold probabilities, the
neighbours' label distribution, confident learning with and without neighbours, and the
disagreement rankings."""

from __future__ import annotations

import numpy as np
import pytest

from assay.algorithms.label_quality import (
    annotator_disagreement,
    confident_joint,
    fold_of,
    fold_probabilities,
    label_issues,
    label_issues_multilabel,
    neighbour_labels,
    weak_disagreement,
)


def _blobs(
    per_class: int = 100, classes: int = 3, flips: int = 15, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs on the unit sphere; ``flips`` rows moved to another class.
    Returns (normalized features, true labels, given labels, flipped rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 16)) * 3.0
    truth = np.repeat(np.arange(classes), per_class)
    features = centres[truth] + rng.normal(size=(len(truth), 16))
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    given = truth.copy()
    flipped = rng.choice(len(truth), size=flips, replace=False)
    given[flipped] = (truth[flipped] + rng.integers(1, classes, size=flips)) % classes
    return features.astype(np.float32), truth, given, np.sort(flipped)


def _out_of_fold(features: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    fold = fold_of(labels, 5, seed=1)
    probabilities = np.zeros((len(labels), classes))
    for which in range(5):
        probabilities[fold == which] = fold_probabilities(features, labels, classes, fold, which)
    return probabilities


def test_folds_are_stratified_balanced_and_seeded() -> None:
    labels = np.array([0] * 50 + [1] * 20 + [2] * 7)
    fold = fold_of(labels, 5, seed=3)
    sizes = np.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    for c, count in ((0, 50), (1, 20), (2, 7)):
        per_fold = np.bincount(fold[labels == c], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1, (c, per_fold)
        assert per_fold.sum() == count
    assert np.array_equal(fold, fold_of(labels, 5, seed=3))
    assert not np.array_equal(fold, fold_of(labels, 5, seed=4))


def test_folds_refuse_too_few_labels() -> None:
    with pytest.raises(ValueError, match=r"at least 2 labeled rows.*class 2: 1 row"):
        fold_of(np.array([0, 0, 1, 1, 2]), 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        fold_of(np.array([1, 1, 1, 1]), 2)
    with pytest.raises(ValueError, match="5 folds need at least 5 labeled rows, got 4"):
        fold_of(np.array([0, 0, 1, 1]), 5)
    with pytest.raises(ValueError, match="at least 2 folds"):
        fold_of(np.array([0, 0, 1, 1]), 1)


def test_fold_probabilities_cover_every_class_even_one_missing_from_training() -> None:
    features, _, labels, _ = _blobs(per_class=20, classes=2, flips=0)
    # Class 2 exists only in fold 0: the model scoring fold 0 never saw it.
    labels = labels.copy()
    fold = fold_of(labels, 3, seed=0)
    lone = np.flatnonzero(fold == 0)[:2]
    labels[lone] = 2
    probabilities = fold_probabilities(features, labels, 3, fold, 0)
    assert probabilities.shape == ((fold == 0).sum(), 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.all(probabilities[:, 2] == 0.0)
    # Scoring fold 1, the model saw class 2 and gives it a column of its own.
    other = fold_probabilities(features, labels, 3, fold, 1)
    assert np.all(other[:, 2] > 0.0)


def test_balanced_fold_probabilities_favour_the_rare_class() -> None:
    rng = np.random.default_rng(0)
    labels = np.array([0] * 180 + [1] * 20)
    features = rng.normal(size=(200, 4)) + labels[:, None] * 0.5
    fold = fold_of(labels, 5)
    plain = fold_probabilities(features, labels, 2, fold, 0)
    balanced = fold_probabilities(features, labels, 2, fold, 0, balanced=True)
    assert balanced[:, 1].mean() > plain[:, 1].mean() + 0.1


def test_fold_probabilities_with_a_single_training_class() -> None:
    features = np.eye(4, dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    fold = np.array([0, 0, 1, 1])
    probabilities = fold_probabilities(features, labels, 2, fold, 1)
    assert np.array_equal(probabilities, [[1.0, 0.0], [1.0, 0.0]])


def test_neighbour_labels_count_other_rows_only_and_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two tight pairs on orthogonal axes, each row's nearest other row is its partner.
    matrix = np.array([[1, 0], [0.99, 0.141], [0, 1], [0.141, 0.99]], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    labels = np.array([0, 1, 1, 1])
    whole = neighbour_labels(matrix, labels, 2, neighbours=1)
    # Prior (1/4, 3/4) as one pseudo-count over k + 1 = 2.
    assert np.allclose(whole[0], [(0 + 0.25) / 2, (1 + 0.75) / 2])
    assert np.allclose(whole[1], [(1 + 0.25) / 2, (0 + 0.75) / 2])
    assert np.allclose(whole[2], [0.25 / 2, 1.75 / 2])
    assert np.allclose(whole.sum(axis=1), 1.0)
    monkeypatch.setattr("assay.algorithms.label_quality.QUERY_BLOCK", 3)
    assert np.allclose(neighbour_labels(matrix, labels, 2, neighbours=1), whole)


def test_neighbour_votes_are_weighted_by_similarity() -> None:
    # Row 0's two neighbours: row 1 (cosine 0.9, class 1) and row 2 (cosine 0.8, class 0).
    # Weights exp(0) = 1 and exp(-0.1 / 0.1) = 1/e, scaled to sum to k = 2.
    matrix = np.array(
        [[1.0, 0.0, 0.0], [0.9, np.sqrt(1 - 0.81), 0.0], [0.8, 0.0, 0.6]], dtype=np.float32
    )
    labels = np.array([0, 1, 0])
    out = neighbour_labels(matrix, labels, 2, neighbours=2, temperature=0.1)
    w1, w2 = 1.0, np.exp(-1.0)
    votes = 2 * np.array([w2, w1]) / (w1 + w2)
    assert np.allclose(out[0], (votes + np.array([2 / 3, 1 / 3])) / 3, atol=1e-6)
    # A high temperature counts the two alike.
    flat = neighbour_labels(matrix, labels, 2, neighbours=2, temperature=1e6)
    assert np.allclose(flat[0], (np.array([1.0, 1.0]) + np.array([2 / 3, 1 / 3])) / 3, atol=1e-6)


def test_confident_joint_counts_by_threshold() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7], [0.1, 0.9]])
    # Thresholds: class 0 = mean(0.9, 0.8, 0.1) = 0.6; class 1 = mean(0.7, 0.9) = 0.8.
    # Row 3 reaches neither threshold (0.3 < 0.6, 0.7 < 0.8): not counted.
    assert np.array_equal(confident_joint(probabilities, labels), [[2, 1], [0, 1]])
    rows, scores, suggested = label_issues(probabilities, labels)
    assert rows.tolist() == [2]
    assert suggested.tolist() == [1]
    assert np.allclose(scores, [0.9])  # one minus the given label's probability


def test_the_joint_counts_the_errors_and_the_margin_chooses_them() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1])
    probabilities = np.array(
        [[0.9, 0.1], [0.02, 0.98], [0.02, 0.98], [0.3, 0.7], [0.05, 0.95], [0.05, 0.95]]
    )
    # Thresholds: class 0 = (0.9 + 0.02 + 0.02 + 0.3) / 4 = 0.31, class 1 = 0.95. Row 3
    # reaches neither (0.3, 0.7), so the joint counts 3 of the 4 rows given 0: [1, 2],
    # rescaled to 4 rows: [1.33, 2.67] -> 3 rows given 0 belong to 1. The 3 with the largest
    # margin of 1 over 0 are rows 1, 2 and 3, though row 3 is in no off-diagonal cell.
    assert np.array_equal(confident_joint(probabilities, labels), [[1, 2], [0, 2]])
    rows, scores, suggested = label_issues(probabilities, labels)
    assert rows.tolist() == [1, 2, 3]
    assert np.allclose(scores, [0.98, 0.98, 0.7])
    assert suggested.tolist() == [1, 1, 1]


def test_label_issues_find_the_flipped_rows() -> None:
    features, _, given, flipped = _blobs()
    probabilities = _out_of_fold(features, given, 3)
    rows, scores, suggested = label_issues(probabilities, given)
    hits = np.isin(rows, flipped).sum()
    assert hits / len(rows) >= 0.8
    assert hits / len(flipped) >= 0.8
    assert np.all(np.diff(scores) <= 0)
    assert np.all(suggested != given[rows])


def test_neighbours_help_where_the_model_is_unsure() -> None:
    features, truth, given, flipped = _blobs(per_class=60, classes=2, flips=12, seed=5)
    probabilities = _out_of_fold(features, given, 2)
    knn = neighbour_labels(features, given, 2, neighbours=10)
    rows, _, suggested = label_issues(probabilities, given, neighbours=knn)
    assert np.isin(rows, flipped).sum() / len(flipped) >= 0.8
    assert np.isin(rows, flipped).mean() >= 0.8
    assert np.array_equal(suggested[np.isin(rows, flipped)], truth[rows[np.isin(rows, flipped)]])


def test_weak_disagreement_ranks_confident_disagreement_only() -> None:
    manual = np.array([0, 1, 1, 0, 2])
    weak = np.array([1, 1, 0, -1, 0])
    confidence = np.array([0.85, 0.99, 0.95, 0.99, 0.5])
    rows, scores = weak_disagreement(manual, weak, confidence, threshold=0.8)
    assert rows.tolist() == [2, 0]
    assert scores.tolist() == [0.95, 0.85]


def test_annotator_disagreement_scores_the_minority_share() -> None:
    votes = [[0, 0, 0], [0, 1], [2], [1, 1, 2], [0, 1, 2], []]
    rows, scores = annotator_disagreement(votes)
    assert rows.tolist() == [4, 1, 3]
    assert np.allclose(scores, [2 / 3, 1 / 2, 1 / 3])


def test_multilabel_issues_point_at_the_flipped_label() -> None:
    # Label l is present where coordinate l of the row is positive; the model's probability
    # of each label follows the truth; 20 (row, label) entries are flipped, one per row. Those
    # near a boundary cannot be told apart: at least half must be found.
    rng = np.random.default_rng(2)
    points = rng.normal(size=(300, 8))
    truth = points[:, :3] > 0
    probabilities = 1.0 / (1.0 + np.exp(-5.0 * points[:, :3]))
    given = truth.copy()
    flipped = rng.choice(300, size=20, replace=False)
    columns = rng.integers(0, 3, size=20)
    given[flipped, columns] = ~given[flipped, columns]
    matrix = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    shares = neighbour_labels(matrix, given, 3, neighbours=10)
    assert shares.shape == (300, 3)
    assert shares.min() > 0.0 and shares.max() < 1.0
    # Unweighted (a huge temperature): (neighbours with the label + its share) / (10 + 1).
    plain = neighbour_labels(matrix, given, 3, neighbours=10, temperature=1e9)
    counts = plain * 11 - given.mean(axis=0)
    assert np.allclose(counts, counts.round()) and counts.min() > -1e-9 and counts.max() < 10.01
    for neighbours in (None, shares):
        rows, scores, suspect = label_issues_multilabel(probabilities, given, neighbours=neighbours)
        assert np.all(np.diff(scores) <= 0)
        hit = np.isin(rows, flipped)
        assert hit.mean() >= 0.7
        assert hit.sum() >= 10
        column_of = dict(zip(flipped.tolist(), columns.tolist(), strict=True))
        assert all(column_of[r] == c for r, c in zip(rows[hit], suspect[hit], strict=True))
