"""Scoring a model on its task's test split, and deciding whether a candidate replaces the
live model.

Targets are as :func:`assay.algorithms.text_models.fit` takes them: classification, an int
array ``(n,)`` of label indices; multi-label, an ``(n, L)`` 0/1 array. Predictions
(:func:`predictions`) have the same shape.

Per-label figures follow scikit-learn's ``precision_recall_fscore_support`` with
``zero_division=0`` over every label of the task (a label with no support and no prediction
scores 0 and still counts in the macro average), computed from per-label true positive,
false positive and false negative counts so that the paired bootstrap of :func:`compare` can
compute the same figures for thousands of resamples at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.algorithms.heuristic_stats import wilson_interval

METRICS = ("macro_f1", "micro_f1", "accuracy")

# Resamples per block of the bootstrap: a block's weight matrix (block x n float64) is 16 MB
# at n = 20,000, and 2,000 resamples over 20,000 records take well under a second.
_BLOCK = 100


def predictions(proba: np.ndarray, *, multi_label: bool, threshold: float = 0.5) -> np.ndarray:
    """Classification: the argmax label index per row ``(n,)``. Multi-label: ``(n, L)`` 0/1,
    1 where the probability is at least ``threshold``."""
    proba = np.asarray(proba, dtype=np.float64)
    if multi_label:
        return (proba >= threshold).astype(np.int64)
    return np.asarray(proba.argmax(axis=1), dtype=np.int64)


def evaluate(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    labels: list[str],
    multi_label: bool,
    threshold: float = 0.5,
    bins: int = 10,
) -> dict[str, Any]:
    """The metrics document of one model on one test split (plain JSON values).

    ``accuracy`` is top-1 (classification) or exact-set match (multi-label), with a 95 %
    Wilson score interval. ``ece`` and ``reliability`` bin the top probability of each row
    against whether the top label is right (classification), or every per-label probability
    against whether the label is present (multi-label: its ``accuracy`` is the observed share
    of positives), in ``bins`` equal-width bins."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    n = int(y_true.shape[0])
    if n == 0:
        raise ValueError("no test records to evaluate on")
    pred = predictions(proba, multi_label=multi_label, threshold=threshold)
    tp, fp, fn = _counts(y_true, pred, len(labels), multi_label)
    precision, recall, f1 = _f1_from_counts(tp, fp, fn)
    correct = _correct(y_true, pred, multi_label)
    accuracy = float(correct.mean())
    if multi_label:
        confidence, outcome = proba.ravel(), y_true.ravel().astype(np.float64)
    else:
        confidence, outcome = proba.max(axis=1), correct.astype(np.float64)
    ece, reliability = _reliability(confidence, outcome, bins)
    micro = _f1_from_counts(tp.sum(), fp.sum(), fn.sum())
    return {
        "test_records": n,
        "accuracy": accuracy,
        "accuracy_interval": wilson(int(correct.sum()), n),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "micro_precision": float(micro[0]),
        "micro_recall": float(micro[1]),
        "micro_f1": float(micro[2]),
        "per_label": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(tp[i] + fn[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": None
        if multi_label
        else {"labels": list(labels), "counts": _confusion(y_true, pred, len(labels))},
        "ece": ece,
        "reliability": reliability,
    }


def wilson(successes: int, n: int) -> list[float]:
    """The 95 % Wilson score interval of a proportion as a JSON list (``[0, 1]`` for no
    trials): :func:`assay.algorithms.heuristic_stats.wilson_interval`, which stays inside
    [0, 1] and is sound near 0 and 1 and for small ``n``."""
    interval = wilson_interval(successes, n)
    return [0.0, 1.0] if interval is None else [interval[0], interval[1]]


def compare(
    y_true: np.ndarray,
    candidate: np.ndarray,
    live: np.ndarray,
    *,
    labels: list[str],
    multi_label: bool,
    metric: str = "macro_f1",
    alpha: float = 0.05,
    recall_margin: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Should ``candidate`` replace ``live``? Both are :func:`predictions` of the two models
    on the same test records.

    Paired tests: ``accuracy`` by McNemar's exact test (one-sided binomial test on the
    records only one model gets right); ``macro_f1`` and ``micro_f1`` by a paired bootstrap
    of the difference (the one-sided p-value is the share of resamples where the candidate is
    not better). Promoted only when the candidate is better, ``p < alpha``, and no label's
    recall falls by more than ``recall_margin`` (absolute). ``recall_drops`` lists each label
    (with support) whose recall fell, by how much."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    y_true, candidate, live = (np.asarray(a, dtype=np.int64) for a in (y_true, candidate, live))
    k = len(labels)
    counts_c = _counts(y_true, candidate, k, multi_label)
    counts_l = _counts(y_true, live, k, multi_label)
    value_c = _metric(metric, counts_c, _correct(y_true, candidate, multi_label))
    value_l = _metric(metric, counts_l, _correct(y_true, live, multi_label))
    if metric == "accuracy":
        p_value = _mcnemar(
            _correct(y_true, candidate, multi_label), _correct(y_true, live, multi_label)
        )
    else:
        p_value = _bootstrap(y_true, candidate, live, k, multi_label, metric, resamples, seed)
    recall_c, recall_l = _f1_from_counts(*counts_c)[1], _f1_from_counts(*counts_l)[1]
    support = counts_c[0] + counts_c[2]
    drops = {
        labels[i]: float(recall_l[i] - recall_c[i])
        for i in range(k)
        if support[i] > 0 and recall_l[i] > recall_c[i]
    }
    fallen = [i for i in range(k) if drops.get(labels[i], 0.0) > recall_margin + 1e-12]
    figures = f"{metric} {value_c:.3f} vs {value_l:.3f}, p={p_value:.3g}"
    if fallen:
        reason = (
            "; ".join(
                f"recall of {labels[i]!r} fell from {recall_l[i]:.2f} to {recall_c[i]:.2f}"
                for i in fallen
            )
            + f" (margin {recall_margin:g})"
        )
    elif value_c <= value_l:
        reason = f"not better than the live model: {figures}"
    elif p_value >= alpha:
        reason = f"not better by more than noise: {figures}"
    else:
        reason = f"{figures}; no label's recall fell by more than {recall_margin:g}"
    return {
        "promote": not fallen and value_c > value_l and p_value < alpha,
        "reason": reason,
        "metric": metric,
        "candidate": float(value_c),
        "live": float(value_l),
        "p_value": float(p_value),
        "recall_drops": drops,
    }


# -- counting kernels (validated input) ------------------------------------------------------


def _counts(
    y_true: np.ndarray, pred: np.ndarray, k: int, multi_label: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label true positives, false positives, false negatives."""
    if multi_label:
        truth, guess = y_true.astype(bool), pred.astype(bool)
        tp = (truth & guess).sum(axis=0)
        return tp, guess.sum(axis=0) - tp, truth.sum(axis=0) - tp
    tp = np.bincount(y_true[y_true == pred], minlength=k)
    return tp, np.bincount(pred, minlength=k) - tp, np.bincount(y_true, minlength=k) - tp


def _correct(y_true: np.ndarray, pred: np.ndarray, multi_label: bool) -> np.ndarray:
    if multi_label:
        return np.asarray((y_true == pred).all(axis=1))
    return np.asarray(y_true == pred)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _f1_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 (0 where undefined), elementwise over any shape of counts."""
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)


def _metric(
    metric: str, counts: tuple[np.ndarray, np.ndarray, np.ndarray], correct: np.ndarray
) -> float:
    tp, fp, fn = counts
    if metric == "accuracy":
        return float(correct.mean()) if correct.size else 0.0
    if metric == "micro_f1":
        return float(_f1_from_counts(tp.sum(), fp.sum(), fn.sum())[2])
    return float(_f1_from_counts(tp, fp, fn)[2].mean())


def _mcnemar(correct_c: np.ndarray, correct_l: np.ndarray) -> float:
    """One-sided exact McNemar: P(X >= b), X ~ Binomial(b + c, 1/2), where b records only
    the candidate gets right and c only the live model."""
    from scipy.stats import binom  # type: ignore[import-untyped]

    b = int((correct_c & ~correct_l).sum())
    c = int((~correct_c & correct_l).sum())
    if b + c == 0:
        return 1.0
    return float(binom.sf(b - 1, b + c, 0.5))


def _indicators(y_true: np.ndarray, pred: np.ndarray, k: int, multi_label: bool) -> np.ndarray:
    """``(n, 3k)`` 0/1 columns: each record's tp, fp, fn per label."""
    if multi_label:
        truth, guess = y_true.astype(bool), pred.astype(bool)
    else:
        eye = np.eye(k, dtype=bool)
        truth, guess = eye[y_true], eye[pred]
    return np.hstack([truth & guess, guess & ~truth, truth & ~guess]).astype(np.float64)


def _bootstrap(
    y_true: np.ndarray,
    candidate: np.ndarray,
    live: np.ndarray,
    k: int,
    multi_label: bool,
    metric: str,
    resamples: int,
    seed: int,
) -> float:
    """Share of paired bootstrap resamples where the candidate's metric is not above the
    live model's. A resample is a vector of record weights (how often each record was
    drawn); the counts of every resample in a block come from one matrix product."""
    n = y_true.shape[0]
    if n == 0 or resamples <= 0:
        return 1.0
    columns = np.hstack(
        [_indicators(y_true, candidate, k, multi_label), _indicators(y_true, live, k, multi_label)]
    )
    rng = np.random.default_rng(seed)
    not_better = 0
    for start in range(0, resamples, _BLOCK):
        size = min(_BLOCK, resamples - start)
        drawn = rng.integers(0, n, size=(size, n))
        drawn += np.arange(size)[:, None] * n
        weights = np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n)
        counts = weights.astype(np.float64) @ columns
        values = []
        for part in (counts[:, : 3 * k], counts[:, 3 * k :]):
            tp, fp, fn = part[:, :k], part[:, k : 2 * k], part[:, 2 * k :]
            if metric == "micro_f1":
                values.append(_f1_from_counts(tp.sum(1), fp.sum(1), fn.sum(1))[2])
            else:
                values.append(_f1_from_counts(tp, fp, fn)[2].mean(axis=1))
        not_better += int((values[0] - values[1] <= 1e-12).sum())
    return not_better / resamples


def _confusion(y_true: np.ndarray, pred: np.ndarray, k: int) -> list[list[int]]:
    """Rows = true label, columns = predicted."""
    cells = np.bincount(y_true * k + pred, minlength=k * k).reshape(k, k)
    return [[int(v) for v in row] for row in cells]


def _reliability(
    confidence: np.ndarray, outcome: np.ndarray, bins: int
) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error and the reliability table over equal-width bins of
    ``confidence`` (bin ``i`` holds [i/bins, (i+1)/bins), the last one includes 1)."""
    index = np.clip(np.floor(confidence * bins).astype(np.int64), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    mean_conf = _ratio(np.bincount(index, weights=confidence, minlength=bins), count)
    mean_out = _ratio(np.bincount(index, weights=outcome, minlength=bins), count)
    total = max(int(count.sum()), 1)
    ece = float((count * np.abs(mean_out - mean_conf)).sum() / total)
    table = [
        {
            "lower": i / bins,
            "upper": (i + 1) / bins,
            "count": int(count[i]),
            "confidence": float(mean_conf[i]) if count[i] else None,
            "accuracy": float(mean_out[i]) if count[i] else None,
        }
        for i in range(bins)
    ]
    return ece, table
