"""Cross-fitting folds and votes from predictions, on small hand-checked arrays."""

from __future__ import annotations

import numpy as np
import pytest

from assay.algorithms.active_learning import (
    OUTSIDE,
    assign_folds,
    classification_votes,
    token_spans,
)
from assay.algorithms.zero_shot import ZeroShotClassifier, best_labels, describe, label_text


def test_folds_keep_a_group_together_and_stratify() -> None:
    groups = np.array([10, 10, 10, 11, 12, 12, 13, 14, 15, 16])
    labels = np.array(["a", "a", "b", "b", "a", "a", "a", "b", "a", "b"])
    folds = assign_folds(groups, labels, k=2, seed=3)
    for group in np.unique(groups):
        assert len(set(folds[groups == group])) == 1
    assert set(folds) == {0, 1}
    # Stratified by each group's first label: groups 10, 12, 13, 15 start with "a", 11, 14,
    # 16 with "b": each fold gets 2 "a" groups, and 1 or 2 "b" groups.
    first = {g: labels[np.flatnonzero(groups == g)[0]] for g in np.unique(groups)}
    fold_of = {g: folds[np.flatnonzero(groups == g)[0]] for g in np.unique(groups)}
    for fold in (0, 1):
        a = sum(1 for g in first if first[g] == "a" and fold_of[g] == fold)
        b = sum(1 for g in first if first[g] == "b" and fold_of[g] == fold)
        assert a == 2
        assert b in (1, 2)
    # Deterministic by seed.
    assert np.array_equal(folds, assign_folds(groups, labels, k=2, seed=3))


def test_folds_never_exceed_the_groups() -> None:
    folds = assign_folds(np.array([1, 2, 3]), np.array(["a", "b", "a"]), k=5)
    assert sorted(folds) == [0, 1, 2]
    assert list(assign_folds(np.array([7, 7]), np.array(["a", "b"]), k=5)) == [-1, -1]
    with pytest.raises(ValueError):
        assign_folds(np.array([1, 2]), np.array(["a"]), k=2)


def test_classification_votes_abstain_below_min_confidence() -> None:
    classes = ["no", "yes"]
    best = np.array([1, 0, 1, -1, 0])
    confidence = np.array([0.9, 0.6, 0.55, 0.0, 0.8])
    rows, labels, conf = classification_votes(best, confidence, classes, 0.6)
    assert rows.tolist() == [0, 1, 4]
    assert labels == ["yes", "no", "no"]
    assert conf.tolist() == [0.9, 0.6, 0.8]
    rows, labels, _ = classification_votes(best, confidence, classes, 0.6, voting=["yes"])
    assert rows.tolist() == [0]
    assert labels == ["yes"]


def test_token_spans_merge_consecutive_tokens_of_one_label() -> None:
    classes = [OUTSIDE, "country", "person"]
    # Record 0: tokens 0-4; record 1: tokens 5-8.
    offsets = np.array([0, 5, 9])
    best = np.array([0, 1, 1, 2, 1, 1, 1, 0, 2])
    confidence = np.array([0.9, 0.8, 0.6, 0.9, 0.4, 0.9, 0.7, 0.9, 0.95])
    spans = token_spans(best, confidence, offsets, classes, 0.5)
    # Record 0: "country" tokens 1-2 (mean 0.7), "person" token 3; token 4 is below 0.5.
    assert spans[0] == [("country", 1, 3, pytest.approx(0.7)), ("person", 3, 4, 0.9)]
    # Record 1: a run from its first token (row 5): row 4 (record 0) is below 0.5 anyway.
    assert spans[1] == [("country", 0, 2, pytest.approx(0.8)), ("person", 3, 4, 0.95)]


def test_token_spans_do_not_merge_across_records() -> None:
    offsets = np.array([0, 2, 4])
    spans = token_spans(np.array([1, 1, 1, 1]), np.full(4, 0.9), offsets, [OUTSIDE, "x"], 0.5)
    assert spans == [[("x", 0, 2, 0.9)], [("x", 0, 2, 0.9)]]


def test_zero_shot_picks_the_nearest_label() -> None:
    labels = np.array([[1.0, 0.0], [0.0, 1.0]])
    rows = np.array([[0.8, 0.6], [0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    model = ZeroShotClassifier(temperature=0.1).fit(labels)
    probabilities = model.predict_proba(rows)
    assert np.allclose(probabilities.sum(axis=1), 1)
    best, confidence = best_labels(probabilities)
    assert best.tolist() == [0, 1, 0]
    # Cosines 0.8 and 0.6: softmax of (8, 6) = 1 / (1 + e^-2).
    assert confidence[0] == pytest.approx(1 / (1 + np.exp(-2)))
    assert confidence[2] == pytest.approx(1 / (1 + np.exp(-10)))
    assert describe(probabilities[1].tolist(), ["a", "b"]).startswith("b 0.88, a 0.12")


def test_zero_shot_validates() -> None:
    with pytest.raises(ValueError, match="at least 2 labels"):
        ZeroShotClassifier().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="positive"):
        ZeroShotClassifier(temperature=0).fit(np.eye(2))
    with pytest.raises(RuntimeError):
        ZeroShotClassifier().predict_proba(np.eye(2))


def test_label_text() -> None:
    assert label_text("not_clickbait") == "not clickbait"
    assert label_text("Sci/Tech", " science and technology ") == "Sci/Tech: science and technology"
