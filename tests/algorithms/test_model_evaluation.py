"""The metrics document against scikit-learn's figures, calibration on hand-made cases, and
the promotion decision on cases whose answer is known."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from assay.algorithms.model_evaluation import compare, evaluate, predictions, wilson

LABELS = ["a", "b", "c"]


def _onehot(pred: np.ndarray, k: int, confidence: float = 0.9) -> np.ndarray:
    proba = np.full((len(pred), k), (1 - confidence) / (k - 1))
    proba[np.arange(len(pred)), pred] = confidence
    return proba


def test_classification_figures_are_scikit_learns():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet([1, 1, 1], 200)
    proba[y == 0, 0] += 0.5  # label 'a' is learned, the others are noise
    proba /= proba.sum(axis=1, keepdims=True)
    doc = evaluate(y, proba, labels=LABELS, multi_label=False)
    pred = proba.argmax(axis=1)
    for average in ("macro", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            y, pred, labels=[0, 1, 2], average=average, zero_division=0
        )
        assert (doc[f"{average}_precision"], doc[f"{average}_recall"]) == pytest.approx((p, r))
        assert doc[f"{average}_f1"] == pytest.approx(f)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    for i, label in enumerate(LABELS):
        assert doc["per_label"][label] == pytest.approx(
            {"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]}
        )
    assert doc["accuracy"] == pytest.approx((pred == y).mean())
    assert doc["confusion"] == {"labels": LABELS, "counts": confusion_matrix(y, pred).tolist()}
    assert doc["test_records"] == 200
    lo, hi = doc["accuracy_interval"]
    assert lo < doc["accuracy"] < hi


def test_a_label_never_predicted_nor_present_scores_zero_without_warnings():
    y = np.array([0, 0, 1, 1])
    proba = _onehot(np.array([0, 1, 1, 1]), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = evaluate(y, proba, labels=LABELS, multi_label=False)
    assert doc["per_label"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # f1(a) = 2/3, f1(b) = 0.8, f1(c) = 0: the macro average counts all three labels.
    assert doc["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 3)


def test_multi_label_figures_are_scikit_learns():
    rng = np.random.default_rng(1)
    y = (rng.random((100, 3)) < 0.4).astype(int)
    proba = np.clip(y * 0.6 + rng.random((100, 3)) * 0.5, 0, 1)
    doc = evaluate(y, proba, labels=LABELS, multi_label=True)
    pred = (proba >= 0.5).astype(int)
    for average in ("macro", "micro"):
        p, _, f, _ = precision_recall_fscore_support(y, pred, average=average, zero_division=0)
        assert (doc[f"{average}_precision"], doc[f"{average}_f1"]) == pytest.approx((p, f))
    assert doc["accuracy"] == pytest.approx((pred == y).all(axis=1).mean())
    assert doc["confusion"] is None
    assert sum(b["count"] for b in doc["reliability"]) == 300
    np.testing.assert_array_equal(predictions(proba, multi_label=True), pred)


def test_wilson_interval():
    # Hand-computed: 8 of 10, z = 1.96 -> centre 0.7167, half-width 0.2265.
    assert wilson(8, 10) == pytest.approx([0.4902, 0.9433], abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == [0.0, 1.0]


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 rows at confidence 0.8, 8 of them right; 5 rows at 0.6, 3 right.
    y = np.array([0] * 8 + [1] * 2 + [0] * 3 + [1] * 2)
    proba = np.array([[0.8, 0.2]] * 10 + [[0.6, 0.4]] * 5)
    doc = evaluate(y, proba, labels=["a", "b"], multi_label=False)
    assert doc["ece"] == pytest.approx(0.0, abs=1e-12)
    bins = {b["lower"]: b for b in doc["reliability"]}
    assert bins[0.8]["count"] == 10 and bins[0.8]["accuracy"] == pytest.approx(0.8)
    assert bins[0.6]["count"] == 5 and bins[0.6]["confidence"] == pytest.approx(0.6)
    assert bins[0.1] == {
        "lower": 0.1,
        "upper": 0.2,
        "count": 0,
        "confidence": None,
        "accuracy": None,
    }


def test_ece_of_an_overconfident_model():
    # 4 rows at confidence 0.9, half right: ECE = |0.5 - 0.9| = 0.4.
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1]] * 4)
    assert evaluate(y, proba, labels=["a", "b"], multi_label=False)["ece"] == pytest.approx(0.4)


# -- compare ---------------------------------------------------------------------------------


def _predictions_with_accuracy(y: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    """Exactly round(accuracy * n) records right; the others moved to the next label."""
    rng = np.random.default_rng(seed)
    wrong = rng.permutation(len(y))[: len(y) - round(accuracy * len(y))]
    pred = y.copy()
    pred[wrong] = (y[wrong] + 1) % 3
    return pred


@pytest.fixture
def y() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 3, 1000)


@pytest.mark.parametrize("metric", ["macro_f1", "micro_f1", "accuracy"])
def test_identical_predictions_are_not_promoted(y, metric):
    pred = _predictions_with_accuracy(y, 0.8, seed=1)
    result = compare(y, pred, pred.copy(), labels=LABELS, multi_label=False, metric=metric)
    assert result["promote"] is False and result["p_value"] == 1.0
    assert result["candidate"] == result["live"] and "not better" in result["reason"]


@pytest.mark.parametrize("metric", ["macro_f1", "micro_f1", "accuracy"])
def test_a_clearly_better_candidate_is_promoted(y, metric):
    live = _predictions_with_accuracy(y, 0.70, seed=1)
    candidate = _predictions_with_accuracy(y, 0.95, seed=2)
    result = compare(y, candidate, live, labels=LABELS, multi_label=False, metric=metric)
    assert result["promote"] is True and result["p_value"] < 0.05
    assert result["candidate"] > result["live"]
    assert "no label's recall fell" in result["reason"] and metric in result["reason"]


@pytest.mark.parametrize("metric", ["macro_f1", "micro_f1", "accuracy"])
def test_better_by_one_record_is_noise(y, metric):
    live = _predictions_with_accuracy(y, 0.8, seed=1)
    candidate = live.copy()
    fixed = np.flatnonzero(live != y)[0]
    candidate[fixed] = y[fixed]
    result = compare(y, candidate, live, labels=LABELS, multi_label=False, metric=metric)
    assert result["candidate"] > result["live"]
    assert result["promote"] is False and result["p_value"] > 0.3
    assert result["reason"].startswith("not better by more than noise")


def test_a_label_whose_recall_falls_past_the_margin_blocks_promotion(y):
    live = _predictions_with_accuracy(y, 0.80, seed=1)
    candidate = y.copy()  # perfect, except that a tenth of label 'c' becomes 'a'
    c_rows = np.flatnonzero(y == 2)
    candidate[c_rows[: len(c_rows) * 3 // 10]] = 0
    result = compare(y, candidate, live, labels=LABELS, multi_label=False)
    assert result["candidate"] > result["live"] and result["p_value"] < 0.05
    assert result["promote"] is False
    drop = result["recall_drops"]["c"]
    assert drop > 0.05 and set(result["recall_drops"]) == {"c"}
    assert result["reason"].startswith("recall of 'c' fell from ")
    assert result["reason"].endswith("(margin 0.05)")
    relaxed = compare(y, candidate, live, labels=LABELS, multi_label=False, recall_margin=0.5)
    assert relaxed["promote"] is True


def test_multi_label_compare():
    rng = np.random.default_rng(2)
    y = (rng.random((1000, 3)) < 0.3).astype(int)
    live = np.where(rng.random(y.shape) < 0.25, 1 - y, y)
    candidate = np.where(rng.random(y.shape) < 0.05, 1 - y, y)
    result = compare(y, candidate, live, labels=LABELS, multi_label=True)
    assert result["promote"] is True
    assert compare(y, live, candidate, labels=LABELS, multi_label=True)["promote"] is False


def test_the_bootstrap_is_fast():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 20_000)
    live = np.where(rng.random(20_000) < 0.8, y, rng.integers(0, 10, 20_000))
    candidate = np.where(rng.random(20_000) < 0.81, y, rng.integers(0, 10, 20_000))
    labels = [str(i) for i in range(10)]
    start = time.process_time()
    compare(y, candidate, live, labels=labels, multi_label=False, resamples=2000)
    assert time.process_time() - start < 2.0
