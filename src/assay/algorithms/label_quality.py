"""Which labels are probably wrong: confident learning over out-of-fold probabilities,
combined with the labels of each record's nearest neighbours in an embedding; plus the
rankings of manual-versus-weak and annotator disagreement.

Labels are class indices (int, ``(n,)``); probabilities ``(n, classes)`` rows summing to 1.

Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty
in Dataset Labels", JAIR 2021): the threshold of class j is the mean probability of j over
the rows given j; a row is counted in the confident joint at (given, j) for the most probable
class j whose probability reaches its threshold; the joint, rescaled to the class sizes,
estimates how many rows given i belong to j, and that many rows given i with the largest
margin of j over i are flagged. The neighbourhood (kNN label agreement, as in SimiFeat and
deep kNN) is mixed into the probabilities before that, so a row whose model and whose
neighbours both disagree with its label stands out more than one where only the model does.
benchmarks/bench_label_quality.py measures it against cleanlab on the same probabilities.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

# Rows of the query block in neighbour_labels (block x n similarities at a time), fewer where
# block x n would pass SIMILARITY_BUDGET entries (each costs 16 bytes: the similarities and the
# partition's indices), so a block stays near 256 MB however many rows there are.
QUERY_BLOCK = 1024
SIMILARITY_BUDGET = 1 << 24

# Weight of the neighbours' label distribution when it is mixed with the probabilities, and
# the temperature of the neighbours' similarity weights (measured: bench_label_quality.py).
NEIGHBOUR_WEIGHT = 0.3
NEIGHBOUR_TEMPERATURE = 0.1


def fold_of(labels: np.ndarray, folds: int, *, seed: int = 0) -> np.ndarray:
    """Each row's fold (stratified on its label); refuses (``ValueError``) a class with fewer
    than 2 rows, fewer than 2 classes or fewer rows than ``folds`` (too few labels for
    out-of-fold probabilities). A class with fewer rows than ``folds`` is spread over as many
    folds as it has rows: each of its rows is still scored by a model that saw the others.

    Rows are shuffled (seeded), ordered by label and dealt to the folds in turn, so each fold
    holds about the same share of every class and the folds differ in size by at most one.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one class index per row, got shape {labels.shape}")
    if folds < 2:
        raise ValueError(f"out-of-fold probabilities need at least 2 folds, got {folds}")
    n = len(labels)
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        raise ValueError(
            f"out-of-fold probabilities need labeled rows of at least 2 classes, "
            f"got {len(values)} class(es) over {n} row(s)"
        )
    small = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if c < 2]
    if small:
        named = ", ".join(f"class {v}: {c} row" for v, c in small)
        raise ValueError(
            f"too few labels for out-of-fold probabilities: every class needs at least 2 "
            f"labeled rows ({named})"
        )
    if n < folds:
        raise ValueError(
            f"too few labels for out-of-fold probabilities: {folds} folds need at least "
            f"{folds} labeled rows, got {n}"
        )
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(labels[shuffled], kind="stable")]
    fold = np.empty(n, dtype=np.int64)
    fold[order] = (np.arange(n) + int(rng.integers(folds))) % folds
    return fold


def fold_probabilities(
    features: np.ndarray,
    labels: np.ndarray,
    classes: int,
    fold: np.ndarray,
    which: int,
    *,
    balanced: bool = False,
) -> np.ndarray:
    """Probabilities ``(rows of fold which, classes)`` of a logistic regression trained on the
    rows of the other folds (one chunk of the out-of-fold probabilities).

    The columns cover all ``classes``: a class with no row in the training folds gets
    probability 0 (the model cannot predict it), and when the training folds hold a single
    class every row gets probability 1 for it. ``balanced`` weights the classes inversely to
    their frequency (off by default: it lowered the F1 of both assay's and cleanlab's label
    errors on the shared datasets, as did a weaker regularization, C = 10 instead of 1).
    """
    labels = np.asarray(labels)
    fold = np.asarray(fold)
    test = fold == which
    train = ~test
    out = np.zeros((int(test.sum()), classes), dtype=np.float64)
    if not test.any():
        return out
    seen = np.unique(labels[train])
    if len(seen) == 0:
        out[:] = 1.0 / classes
        return out
    if len(seen) == 1:
        out[:, int(seen[0])] = 1.0
        return out
    model = LogisticRegression(max_iter=1000, class_weight="balanced" if balanced else None)
    model.fit(features[train], labels[train])
    out[:, model.classes_.astype(np.int64)] = model.predict_proba(features[test])
    return out


def neighbour_labels(
    matrix: np.ndarray,
    labels: np.ndarray,
    classes: int,
    *,
    neighbours: int = 10,
    temperature: float = NEIGHBOUR_TEMPERATURE,
) -> np.ndarray:
    """``(n, classes)``: the label distribution of each row's ``neighbours`` nearest other
    rows (cosine), smoothed; chunked, never n x n.

    ``matrix`` rows are L2-normalized, so the dot product is the cosine. Queries go in blocks
    of at most ``QUERY_BLOCK`` rows against all rows (``block x n`` similarities at a time,
    within ``SIMILARITY_BUDGET``). Each
    neighbour's vote is weighted by ``exp((cosine - nearest cosine) / temperature)``, so the
    nearest count most (a temperature of 0.1 beat plain counts on the shared datasets:
    benchmarks/bench_label_quality.py --variants); the weighted shares, times ``neighbours``,
    are smoothed with one pseudo-count spread over the classes in proportion to their share
    of the labels, so a row whose few neighbours all agree is not given probability 0 for the
    other classes.

    Multi-label: ``labels`` an ``(n, classes)`` bool matrix; then each column is the share of
    the neighbours that have that label, smoothed the same way toward the label's share.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        indicators = labels.astype(np.float64)
    else:
        indicators = np.zeros((len(labels), classes), dtype=np.float64)
        indicators[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    n = len(indicators)
    k = min(neighbours, n - 1)
    prior = indicators.mean(axis=0) if n else np.zeros(classes)
    out = np.empty((n, classes), dtype=np.float64)
    if k < 1:
        out[:] = prior
        return out
    block = max(1, min(QUERY_BLOCK, SIMILARITY_BUDGET // n))
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = matrix[start:stop] @ matrix.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        nearest = np.argpartition(sims, n - k, axis=1)[:, n - k :]
        near = np.take_along_axis(sims, nearest, axis=1).astype(np.float64)
        weights = np.exp((near - near.max(axis=1, keepdims=True)) / temperature)
        weights *= k / weights.sum(axis=1, keepdims=True)
        counts = np.einsum("bk,bkc->bc", weights, indicators[nearest])
        out[start:stop] = (counts + prior) / (k + 1.0)
    return out


def _thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-class thresholds: the mean probability of class j over the rows given j (infinite
    for a class nobody was given, so no row is counted as confidently of it)."""
    classes = probabilities.shape[1]
    given = np.bincount(labels, minlength=classes).astype(np.float64)
    own = probabilities[np.arange(len(labels)), labels]
    sums = np.bincount(labels, weights=own, minlength=classes)
    return np.where(given > 0, sums / np.maximum(given, 1.0), np.inf)


def confident_classes(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's confident class: the most probable class whose probability reaches its
    threshold, or -1 where none does (the row is left out of the confident joint)."""
    thresholds = _thresholds(probabilities, labels)
    above = probabilities >= thresholds[None, :]
    masked = np.where(above, probabilities, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(above.any(axis=1), best, -1)


def confident_joint(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(classes, classes)`` counts of rows given i whose confident class is j."""
    classes = probabilities.shape[1]
    confident = confident_classes(probabilities, labels)
    counted = confident >= 0
    joint = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(joint, (labels[counted], confident[counted]), 1)
    return joint


def estimated_errors(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(classes, classes)``: how many rows given i probably belong to j, the confident joint
    with each row rescaled to the number of rows given i (rows of the joint that count no
    row stay 0), rounded."""
    joint = confident_joint(probabilities, labels).astype(np.float64)
    given = np.bincount(labels, minlength=probabilities.shape[1]).astype(np.float64)
    counted = joint.sum(axis=1, keepdims=True)
    scaled = np.where(counted > 0, joint / np.maximum(counted, 1.0) * given[:, None], 0.0)
    return np.rint(scaled).astype(np.int64)


def mixed_probabilities(
    probabilities: np.ndarray,
    neighbours: np.ndarray | None,
    neighbour_weight: float = NEIGHBOUR_WEIGHT,
) -> np.ndarray:
    """The probabilities mixed with the neighbours' label distribution, ``(1 - w) p + w q``
    (the probabilities themselves when there are no neighbours)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if neighbours is None or neighbour_weight == 0:
        return p
    q = np.asarray(neighbours, dtype=np.float64)
    return (1.0 - neighbour_weight) * p + neighbour_weight * q


def label_issues(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    neighbours: np.ndarray | None = None,
    neighbour_weight: float = NEIGHBOUR_WEIGHT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, scores, suggested)``: the rows flagged as label errors, most suspect first,
    their scores (higher: more suspect) and the class suggested for each. Confident learning
    (per-class thresholds, the confident joint) over the probabilities, combined with the
    neighbours' label distribution when given.

    1. The neighbours' distribution is mixed in (``mixed_probabilities``): a row whose model
       and whose neighbours both doubt its label moves further than one where only one does.
    2. The confident joint of the mixed probabilities, rescaled to the class sizes, estimates
       how many rows given i belong to j (``estimated_errors``).
    3. For each pair (i, j), that many rows given i are flagged: those with the largest
       margin of j over i. Counting by the joint but choosing by the margin flags the rows
       most likely wrong even where no single row clears a threshold (Northcutt et al.'s
       "prune by noise rate").
    4. A row whose most probable class is its given one is never flagged.

    Score: one minus the mixed probability of the given label (self-confidence: it ranked
    the flipped labels first more often than the margin over the best other class did);
    suggested: the most probable other class.
    """
    labels = np.asarray(labels, dtype=np.int64)
    p = mixed_probabilities(probabilities, neighbours, neighbour_weight)
    n, classes = p.shape
    index = np.arange(n)
    given = p[index, labels]
    others = p.copy()
    others[index, labels] = -np.inf
    suggested = others.argmax(axis=1)
    scores = 1.0 - given
    errors = estimated_errors(p, labels)
    flagged = np.zeros(n, dtype=bool)
    for i in range(classes):
        rows = np.flatnonzero(labels == i)
        for j in range(classes):
            count = int(errors[i, j]) if j != i else 0
            if count <= 0:
                continue
            margin = p[rows, j] - p[rows, i]
            flagged[rows[np.argsort(-margin, kind="stable")[:count]]] = True
    flagged &= p.argmax(axis=1) != labels
    flagged_rows = np.flatnonzero(flagged)
    flagged_rows = flagged_rows[np.argsort(-scores[flagged_rows], kind="stable")]
    return flagged_rows, scores[flagged_rows], suggested[flagged_rows]


def weak_disagreement(
    manual: np.ndarray, weak: np.ndarray, confidence: np.ndarray, *, threshold: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scores)``: rows whose weak label differs from the manual one with confidence
    at least ``threshold``, most confident first. A negative weak label (abstain) never
    disagrees."""
    manual = np.asarray(manual)
    weak = np.asarray(weak)
    confidence = np.asarray(confidence, dtype=np.float64)
    flagged = (weak >= 0) & (weak != manual) & (confidence >= threshold)
    rows = np.flatnonzero(flagged)
    rows = rows[np.argsort(-confidence[rows], kind="stable")]
    return rows, confidence[rows]


def annotator_disagreement(votes: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scores)``: rows whose annotators gave different labels, most disagreement
    first (score: one minus the share of the most common label)."""
    scores = np.zeros(len(votes), dtype=np.float64)
    for row, given in enumerate(votes):
        if len(given) > 1:
            _, counts = np.unique(np.asarray(given), return_counts=True)
            scores[row] = 1.0 - counts.max() / len(given)
    rows = np.flatnonzero(scores > 0)
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return rows, scores[rows]


def label_issues_multilabel(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    neighbours: np.ndarray | None = None,
    neighbour_weight: float = NEIGHBOUR_WEIGHT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-label: ``(rows, scores, columns)`` for ``probabilities`` ``(n, L)`` (each label's
    own probability) and ``labels`` ``(n, L)`` bool. Each label is checked one-vs-rest with
    ``label_issues`` (``neighbours``: ``neighbour_labels`` of the bool matrix); a row is
    flagged when any of its labels is, scored by its most suspect label, whose column is
    returned (the suggestion: flip that label, add it where absent, remove it where given).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(labels, dtype=bool)
    n, width = given.shape
    best = np.full(n, -np.inf)
    column = np.full(n, -1, dtype=np.int64)
    for label in range(width):
        pair = np.column_stack([1.0 - p[:, label], p[:, label]])
        near = None
        if neighbours is not None:
            share = np.asarray(neighbours, dtype=np.float64)[:, label]
            near = np.column_stack([1.0 - share, share])
        rows, scores, _ = label_issues(
            pair,
            given[:, label].astype(np.int64),
            neighbours=near,
            neighbour_weight=neighbour_weight,
        )
        better = scores > best[rows]
        best[rows[better]] = scores[better]
        column[rows[better]] = label
    flagged = np.flatnonzero(column >= 0)
    flagged = flagged[np.argsort(-best[flagged], kind="stable")]
    return flagged, best[flagged], column[flagged]
