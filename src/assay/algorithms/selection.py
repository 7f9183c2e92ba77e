"""What to label next: pure selectors over an embedding matrix and/or class probabilities.

Every selector returns ``(rows, scores)``: the chosen row numbers in pick order (int64, best
first) and one float32 score per chosen row (higher: picked for a stronger reason; the
strategy says what it means). No selector builds an n x n matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assay.algorithms.clustering import (
    chunk_rows,
    kmeans,
    nearest,
    squared_distances,
    squared_norms,
)
from assay.algorithms.embedders import one_blas_thread

Picked = tuple[np.ndarray, np.ndarray]

# k-center: rows kept as candidates between two passes over the matrix (see ``k_center``).
_CANDIDATES = 1024
# TypiClust: at most this many clusters (k-means cost grows with it), clusters of at most
# _TINY rows are used only when no other cluster remains, and typicality is computed for at
# most _TYPICAL_SAMPLE candidate rows of a cluster (a seeded sample), against all its rows.
_MAX_CLUSTERS = 1000
_TINY = 5
_TYPICAL_SAMPLE = 2000
# auto: typical while fewer manual labels than this many per class exist (cold start).
LABELS_PER_CLASS_COLD = 5

_MEASURES = ("margin", "least_confidence", "entropy")


def _empty() -> Picked:
    return np.empty(0, np.int64), np.empty(0, np.float32)


def _rank_scores(count: int) -> np.ndarray:
    return (1.0 - np.arange(count, dtype=np.float64) / max(count, 1)).astype(np.float32)


def random_rows(n: int, size: int, *, seed: int) -> Picked:
    """``size`` distinct rows of ``n``, uniformly at random (scores: 1 - rank/size);
    ``size`` is cut to ``n``."""
    size = max(0, min(int(size), int(n)))
    rows = np.random.default_rng(seed).choice(int(n), size, replace=False).astype(np.int64)
    return rows, _rank_scores(size)


@dataclass
class KCenterState:
    """Where a k-center run stands (stored after every pass, so that it resumes):
    the rows chosen so far in order, their scores, and each row's squared distance to its
    nearest centre."""

    chosen: np.ndarray  # int64
    scores: np.ndarray  # float32, the squared distance of each chosen row when picked
    nearest: np.ndarray  # float32 (n,); -1 for chosen rows and given centres


def _lower(
    nearest: np.ndarray,
    rows: np.ndarray,
    matrix: np.ndarray,
    norms: np.ndarray,
    *,
    apart: float = np.inf,
) -> None:
    """``nearest = min(nearest, squared distance to rows)`` in chunks: one GEMM pass.

    ``apart``: a squared distance that every one of ``rows`` keeps from every centre before
    them (greedy's picks: the smallest pick score of the round). A row whose nearest centre
    ``a`` is within half of that cannot come closer to a new centre ``c`` (d(x, c) >=
    d(a, c) - d(x, a) >= d(x, a)), so the pass skips it (kept rows are gathered where they
    are under half of a chunk)."""
    if len(rows) == 0:
        return
    twice = matrix[rows] * np.float32(-2.0)
    centre_norms = norms[rows]
    # skip rows with 4·nearest <= apart, with a margin far above float32 rounding, so that a
    # skipped row is one whose distance the product could not lower
    skip = apart / 4.0 * (1.0 - 1e-3) if np.isfinite(apart) else -1.0
    step = chunk_rows(len(rows))
    for start in range(0, len(matrix), step):
        stop = min(start + step, len(matrix))
        keep = np.flatnonzero(nearest[start:stop] > skip)
        at: slice | np.ndarray
        if 2 * len(keep) > stop - start:  # gathering most rows costs more than it saves
            block, at = matrix[start:stop], slice(start, stop)
        elif len(keep):
            block, at = np.take(matrix, keep + start, axis=0), keep + start
        else:
            continue
        # min over centres of |c|² - 2 x·c, then + |x|²: two passes over the block, not five
        products = block @ twice.T
        products += centre_norms[None, :]
        lowest = products.min(axis=1)
        lowest += norms[at]
        np.maximum(lowest, 0.0, out=lowest)
        nearest[at] = np.minimum(nearest[at], lowest)


def _greedy_round(
    matrix: np.ndarray, norms: np.ndarray, nearest: np.ndarray, budget: int
) -> tuple[list[int], list[float]]:
    """The picks of one round, exactly greedy's: the farthest row first, then, among the
    rows farthest before the round (candidates, their distances kept up to date against the
    round's picks), the farthest while it is at least as far as any other row could be (the
    others' stale distances bound theirs from above, as distances only shrink)."""
    first = int(np.argmax(nearest))  # ties: the lower row
    if nearest[first] < 0:
        return [], []
    picks, scores = [first], [float(nearest[first])]
    nearest[first] = -1.0
    n = len(nearest)
    count = min(_CANDIDATES, n)
    if budget <= 1 or count == 0:
        return picks, scores
    candidates = np.argpartition(nearest, n - count)[n - count :]
    candidates = np.sort(candidates[nearest[candidates] >= 0])
    values = nearest[candidates].copy()
    nearest[candidates] = -np.inf
    bound_row = int(np.argmax(nearest))
    bound = float(nearest[bound_row])
    nearest[candidates] = values
    rows, row_norms = matrix[candidates], norms[candidates]
    newest = first
    while len(picks) < budget:
        d2 = squared_distances(rows, row_norms, matrix[newest : newest + 1], norms[[newest]])
        np.minimum(values, d2[:, 0], out=values)
        best = int(np.argmax(values))  # candidates ascend: ties go to the lower row
        value = float(values[best])
        row = int(candidates[best])
        if value < 0 or value < bound or (value == bound and row > bound_row):
            break
        picks.append(row)
        scores.append(value)
        values[best] = -1.0
        nearest[row] = -1.0
        newest = row
    return picks, scores


def k_center(
    matrix: np.ndarray,
    size: int,
    *,
    centres: np.ndarray | None = None,
    state: KCenterState | None = None,
    checkpoint: Callable[[KCenterState], None] | None = None,
    seed: int = 0,
) -> Picked:
    """Greedy k-center (coreset): each pick is the row farthest from its nearest centre;
    ``centres`` (rows, e.g. the labeled records) start as centres and are never picked.
    Streaming: memory O(n) beside the matrix. ``state`` resumes an interrupted run;
    ``checkpoint`` is called with the state after each pass over the matrix.

    Exact and batched: each round picks greedily among the ~1,000 rows farthest from their
    centres, as long as the pick provably equals greedy's (see ``_greedy_round``), then one
    chunked GEMM pass lowers every row's distance against the round's picks (skipping rows the
    picks cannot reach, see ``_lower``). At 1M x 384 a round makes hundreds of picks: 1,000
    picks took 15 to 20 passes and 27 to 37 s, 0.5 GB beside the vectors, on this 2-core
    machine while loaded (benchmarks/bench_selection.py), against ~0.15 s a pick for
    1,000 matrix-vector passes. Scores: the euclidean distance of each pick to its nearest
    centre when picked (non-increasing). Without centres the first pick is a seeded random
    row; its score is its distance to the farthest row (the second pick's score). Ties go to
    the lower row. ``size`` is cut to the rows that are not centres. The state handed to
    ``checkpoint`` holds the live ``nearest`` array: store (copy) it during the call."""
    matrix = matrix if matrix.dtype == np.float32 else np.asarray(matrix, np.float32)
    n = len(matrix)
    given = np.unique(np.asarray(centres, np.int64)) if centres is not None else None
    available = n - (0 if given is None else len(given))
    size = max(0, min(int(size), available))
    norms = squared_norms(matrix)
    if state is not None:
        chosen = [int(r) for r in state.chosen]
        scores = [float(s) for s in state.scores]
        near = np.array(state.nearest, dtype=np.float32)
    else:
        chosen, scores = [], []
        near = np.full(n, np.inf, np.float32)
        if given is not None and len(given):
            _lower(near, given, matrix, norms)
            near[given] = -1.0
    if not chosen and size > 0 and np.isinf(near).all():
        first = int(np.random.default_rng(seed).integers(n))
        near[first] = -1.0
        _lower(near, np.array([first]), matrix, norms)
        chosen, scores = [first], [float(max(near.max(), 0.0))]
        if checkpoint is not None:
            checkpoint(_state(chosen, scores, near))
    while len(chosen) < size:
        with one_blas_thread():  # matrix-vector products of ~1,000 rows
            picks, values = _greedy_round(matrix, norms, near, size - len(chosen))
        if not picks:
            break
        _lower(near, np.array(picks, np.int64), matrix, norms, apart=min(values))
        chosen.extend(picks)
        scores.extend(values)
        if checkpoint is not None:
            checkpoint(_state(chosen, scores, near))
    rows = np.array(chosen[:size], np.int64)
    return rows, np.sqrt(np.maximum(np.array(scores[:size], np.float32), 0.0))


def _state(chosen: list[int], scores: list[float], near: np.ndarray) -> KCenterState:
    return KCenterState(np.array(chosen, np.int64), np.array(scores, np.float32), near)


def covering_radius(matrix: np.ndarray, rows: np.ndarray) -> float:
    """The largest distance of any row to its nearest row of ``rows`` (chunked)."""
    rows = np.asarray(rows, np.int64)
    if len(matrix) == 0:
        return 0.0
    if len(rows) == 0:
        return float("inf")
    _, d2 = nearest(matrix, matrix[rows])
    return float(np.sqrt(max(float(d2.max()), 0.0)))


def _typicality(
    matrix: np.ndarray, members: np.ndarray, candidates: np.ndarray, k: int
) -> np.ndarray:
    """1 / mean euclidean distance of each candidate to its ``k`` nearest other members
    (chunked over candidates: never candidates x members beyond a chunk)."""
    if k <= 0:
        return np.zeros(len(candidates), np.float32)
    rows = matrix[members]
    norms = squared_norms(rows)
    position = np.searchsorted(members, candidates)
    out = np.empty(len(candidates), np.float32)
    step = chunk_rows(len(members))
    for start in range(0, len(candidates), step):
        at = position[start : start + step]
        d2 = squared_distances(rows[at], norms[at], rows, norms)
        d2[np.arange(len(at)), at] = np.inf  # not its own neighbour
        near = np.partition(d2, k - 1, axis=1)[:, :k]
        out[start : start + step] = 1.0 / (np.sqrt(near).mean(axis=1) + 1e-5)
    return out


def typical(
    matrix: np.ndarray,
    size: int,
    *,
    labeled: np.ndarray | None = None,
    seed: int = 0,
    neighbours: int = 20,
) -> Picked:
    """TypiClust: cluster into ``len(labeled) + size`` clusters; from the largest clusters
    without a labeled row, the most typical row (highest inverse mean distance to its
    ``neighbours`` nearest rows in its cluster). Scores: typicality.

    As in TypiClust (Hacohen et al. 2022): clusters are capped (here at 1,000), each pick
    goes to the cluster with the fewest labeled or picked rows, then the largest; clusters of
    at most 5 rows only when nothing else is left. Typicality is computed per cluster when
    first needed, for a seeded sample of at most 2,000 of its unlabeled rows against all its
    rows. ``size`` is cut to the unlabeled rows."""
    n = len(matrix)
    taken = np.zeros(n, bool)
    if labeled is not None and len(labeled):
        taken[np.asarray(labeled, np.int64)] = True
    size = max(0, min(int(size), int(n - taken.sum())))
    if size == 0:
        return _empty()
    rng = np.random.default_rng(seed)
    k = min(n, int(taken.sum()) + size, _MAX_CLUSTERS)
    _, assignment = kmeans(matrix, k, seed=seed)
    order = np.argsort(assignment, kind="stable")
    bounds = np.searchsorted(assignment[order], np.arange(k + 1))
    members = [order[bounds[c] : bounds[c + 1]] for c in range(k)]
    used = np.bincount(assignment[taken], minlength=k)
    sizes = np.array([len(m) for m in members])
    ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    picks: list[int] = []
    scores: list[float] = []
    exhausted = np.zeros(k, bool)
    while len(picks) < size and not exhausted.all():
        big = ~exhausted & (sizes > _TINY)
        open_ = np.flatnonzero(big if big.any() else ~exhausted)
        cluster = int(open_[np.lexsort((open_, -sizes[open_], used[open_]))[0]])
        if cluster not in ranked:
            free = members[cluster][~taken[members[cluster]]]
            if len(free) > _TYPICAL_SAMPLE:
                free = np.sort(rng.choice(free, _TYPICAL_SAMPLE, replace=False))
            value = _typicality(
                matrix, members[cluster], free, min(neighbours, int(sizes[cluster]) - 1)
            )
            best = np.lexsort((free, -value))
            ranked[cluster] = (free[best], value[best])
        rows, values = ranked[cluster]
        keep = ~taken[rows]
        rows, values = rows[keep], values[keep]
        if not len(rows):
            exhausted[cluster] = True
            continue
        picks.append(int(rows[0]))
        scores.append(float(values[0]))
        taken[rows[0]] = True
        used[cluster] += 1
        ranked[cluster] = (rows[1:], values[1:])
    if len(picks) < size:  # every cluster's sample is used up: fill at random
        rest = np.flatnonzero(~taken)
        extra = rng.choice(rest, size - len(picks), replace=False)
        picks.extend(int(r) for r in extra)
        scores.extend([0.0] * len(extra))
    return np.array(picks, np.int64), np.array(scores, np.float32)


def largest_remainders(sizes: np.ndarray, size: int) -> np.ndarray:
    """Integer shares of ``size`` proportional to ``sizes`` (Hamilton's method; ties: lower),
    adding up to ``size`` exactly."""
    exact: np.ndarray = sizes * (size / sizes.sum())
    share: np.ndarray = np.floor(exact).astype(np.int64)
    left = size - int(share.sum())
    if left > 0:
        order = np.lexsort((np.arange(len(sizes)), -(exact - share)))
        share[order[:left]] += 1
    return share


def cluster_stratified(
    matrix: np.ndarray, size: int, *, seed: int = 0, clusters: int | None = None
) -> Picked:
    """Stratified over k-means clusters: each cluster gets its share of ``size`` (largest
    remainders), rows drawn at random within it.

    ``clusters`` defaults to min(size, 100). The picks are interleaved round-robin over the
    clusters (larger clusters first in each round), so that any prefix is spread too.
    Scores: 1 - rank/size."""
    n = len(matrix)
    size = max(0, min(int(size), n))
    if size == 0:
        return _empty()
    k = min(n, clusters if clusters is not None else min(size, 100))
    _, assignment = kmeans(matrix, max(1, k), seed=seed)
    sizes = np.bincount(assignment, minlength=max(1, k))
    share = largest_remainders(sizes, size)
    rng = np.random.default_rng(seed)
    drawn = [
        rng.choice(np.flatnonzero(assignment == c), share[c], replace=False) if share[c] else None
        for c in range(len(sizes))
    ]
    by_size = np.lexsort((np.arange(len(sizes)), -sizes))
    picks = [
        int(drawn[c][r])
        for r in range(int(share.max()))
        for c in by_size
        if drawn[c] is not None and r < share[c]
    ]
    return np.array(picks, np.int64), _rank_scores(len(picks))


def uncertainty(
    probabilities: np.ndarray, measure: str, *, classes: int | None = None
) -> np.ndarray:
    """Each row's uncertainty (higher: more uncertain), float32: ``margin`` (1 - (p1 - p2)),
    ``least_confidence`` (1 - p1) or ``entropy``. ``probabilities``: ``(n, classes)``, or
    ``(n,)`` confidences of the top label (least confidence only; margin for two classes).

    Entropy is divided by log(classes) so that it lies in [0, 1]. With ``(n,)`` confidences
    only least confidence is defined unless ``classes=2`` is given (then the other label has
    1 - p: margin 2 - 2p, binary entropy); otherwise ``ValueError``, as for an unknown
    measure."""
    if measure not in _MEASURES:
        raise ValueError(f"unknown uncertainty measure {measure!r}: use one of {_MEASURES}")
    p = np.clip(np.asarray(probabilities, np.float64), 0.0, 1.0)
    if p.ndim == 1:
        if measure == "least_confidence":
            return (1.0 - p).astype(np.float32)
        if classes != 2:
            raise ValueError(
                f"{measure} needs every class's probability; with top-label confidences only"
                " least_confidence works (or margin/entropy when classes=2)"
            )
        p = np.stack([p, 1.0 - p], axis=1)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (n,) or (n, classes), got shape {p.shape}")
    count = p.shape[1]
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p), 0.0)
        entropy: np.ndarray = -terms.sum(axis=1) / np.log(max(count, 2))
        return entropy.astype(np.float32)
    if count == 1:
        top, second = p[:, 0], np.zeros(len(p))
    else:
        part = np.partition(p, count - 2, axis=1)
        top, second = part[:, -1], part[:, -2]
    if measure == "least_confidence":
        return (1.0 - top).astype(np.float32)
    return (1.0 - (top - second)).astype(np.float32)


def most_uncertain(scores: np.ndarray, size: int) -> Picked:
    """The ``size`` rows with the highest uncertainty, highest first (ties: lower row)."""
    scores = np.asarray(scores, np.float32)
    size = max(0, min(int(size), len(scores)))
    rows = np.argsort(-scores, kind="stable")[:size].astype(np.int64)
    return rows, scores[rows]


def hybrid(
    matrix: np.ndarray, scores: np.ndarray, size: int, *, seed: int = 0, factor: int = 10
) -> Picked:
    """Cluster-Margin: the ``factor * size`` most uncertain rows, clustered; picked round-robin
    over the clusters (smallest first), most uncertain first within each.

    Citovsky et al. 2021, with k-means into ``size`` clusters in place of the paper's
    agglomerative clustering. Scores: uncertainty."""
    scores = np.asarray(scores, np.float32)
    size = max(0, min(int(size), len(scores)))
    pool, values = most_uncertain(scores, factor * size)
    if len(pool) <= size:
        return pool[:size], values[:size]
    _, assignment = kmeans(matrix[pool], size, seed=seed)
    sizes = np.bincount(assignment, minlength=size)
    order = np.lexsort((np.arange(size), sizes))
    # pool is sorted most uncertain first, so each cluster's members are too
    members = [np.flatnonzero(assignment == c) for c in order if sizes[c]]
    picked: list[int] = []
    for r in range(int(sizes.max())):
        picked.extend(int(m[r]) for m in members if r < len(m))
        if len(picked) >= size:
            break
    at = np.array(picked[:size], np.int64)
    return pool[at], values[at]


def cold_start_threshold(classes: int) -> int:
    """Manual labels below which ``auto`` picks ``typical``: 5 per class (of at least 2)."""
    return LABELS_PER_CLASS_COLD * max(int(classes), 2)


def auto_strategy(labeled: int, classes: int, has_probabilities: bool) -> tuple[str, str]:
    """``(strategy, reason)``: ``typical`` while labels are few, then ``hybrid`` (``coreset``
    where no probabilities exist).

    "Few": below 5 manual labels per class. TypiClust and ProbCover (Hacohen et al. 2022,
    Yehuda et al. 2022) beat uncertainty sampling at budgets of about one to a few labels per
    class; margin within cluster diversity (Citovsky et al. 2021) takes over after. On the
    shared datasets (benchmarks/bench_selection.py, 5 seeds, rounds of a fifth of the
    budget) 3, 5 and 10 per class gave the same accuracy at 200 and 500 labels within noise;
    at 100 labels 10 per class fell 1.3 points below random on ChemProt (10 relation
    classes, where typicality follows the sentences, not the relation), 5 per class did not.
    """
    threshold = cold_start_threshold(classes)
    counted = f"{labeled} manual labels"
    per = f"{threshold} for {max(int(classes), 2)} classes"
    if labeled < threshold:
        return "typical", f"{counted} (< {per}): cold start, typical"
    if has_probabilities:
        return "hybrid", f"{counted} (>= {per}) and class probabilities: hybrid"
    return "coreset", f"{counted} (>= {per}) but no class probabilities: coreset"
