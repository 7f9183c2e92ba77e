"""What an active learner's run needs around the user's classifier: folds for cross-fitting,
and votes from its per-row predictions.

An active learner is fitted on the reference manual labels and votes on every record. Its
statistics compare its votes with those same labels, so a vote on a labeled record must come
from a model that did not see that record: the labeled examples are split into ``k`` folds
(:func:`assign_folds`), and the votes on fold ``f`` come from a model fitted on the other
folds (cross-fitting); every other record gets the vote of the model fitted on all labels.

Rows are records (classification) or tokens (extraction, where the examples of one record
stay in one fold: its tokens are not independent). A prediction is, per row, the index of
the best class and its probability; :func:`classification_votes` and :func:`token_spans`
turn them into votes, abstaining below the learner's ``min_confidence``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OUTSIDE = ""  # the class of a token outside every span (no label is named "")


def assign_folds(groups: np.ndarray, labels: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold in ``0..k-1`` per example, the same for all examples of a group (a record),
    stratified by each group's first label so that every fold sees every label where it can.

    Returns int64 folds aligned with ``groups``; fewer than two groups get no folds (-1: no
    model can leave them out and still learn)."""
    groups = np.asarray(groups)
    labels = np.asarray(labels)
    if len(groups) != len(labels):
        raise ValueError("groups and labels differ in length")
    unique, first = np.unique(groups, return_index=True)
    if len(unique) < 2 or k < 2:
        return np.full(len(groups), -1, dtype=np.int64)
    k = min(k, len(unique))
    order = np.random.default_rng(seed).permutation(len(unique))
    # Group by label (stable on the shuffled order), then deal the groups round robin.
    by_label = order[np.argsort(labels[first][order], kind="stable")]
    fold_of_group = np.empty(len(unique), dtype=np.int64)
    fold_of_group[by_label] = np.arange(len(unique)) % k
    return fold_of_group[np.searchsorted(unique, groups)]


def classification_votes(
    best: np.ndarray,
    confidence: np.ndarray,
    classes: Sequence[str],
    min_confidence: float,
    voting: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The rows that get a vote, each one's label and confidence: a row votes its best
    class when that class is a label (in ``voting`` where given) and its probability reaches
    ``min_confidence``; ``best`` -1 (no prediction) abstains."""
    allowed = np.array(
        [c != OUTSIDE and (voting is None or c in voting) for c in classes] + [False]
    )
    best = np.asarray(best, dtype=np.int64)
    confidence = np.asarray(confidence, dtype=np.float64)
    keep = allowed[np.where(best < 0, len(classes), best)] & (confidence >= min_confidence)
    rows = np.flatnonzero(keep)
    return rows, [classes[i] for i in best[rows]], confidence[rows]


def token_spans(
    best: np.ndarray,
    confidence: np.ndarray,
    offsets: np.ndarray,
    classes: Sequence[str],
    min_confidence: float,
    voting: Sequence[str] | None = None,
) -> list[list[tuple[str, int, int, float]]]:
    """Spans per record from per-token predictions: runs of consecutive tokens that vote
    the same label (as :func:`classification_votes` decides a token's vote) become one span
    ``(label, start_token, end_token, confidence)``, end exclusive, its confidence the mean
    of its tokens'. ``offsets`` (n_records + 1) delimit each record's tokens in the rows."""
    rows, labels, probabilities = classification_votes(
        best, confidence, classes, min_confidence, voting
    )
    offsets = np.asarray(offsets, dtype=np.int64)
    spans: list[list[tuple[str, int, int, float]]] = [[] for _ in range(len(offsets) - 1)]
    records = np.searchsorted(offsets, rows, side="right") - 1
    run: list[float] = []
    for i, row in enumerate(rows):
        record = int(records[i])
        token = int(row - offsets[record])
        run.append(float(probabilities[i]))
        ends_here = (
            i + 1 == len(rows)
            or rows[i + 1] != row + 1
            or records[i + 1] != record
            or labels[i + 1] != labels[i]
        )
        if ends_here:
            start = token - len(run) + 1
            spans[record].append((labels[i], start, token + 1, sum(run) / len(run)))
            run = []
    return spans
