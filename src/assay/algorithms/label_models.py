"""Label models: combine the votes of heuristics into one label per record.

The label matrix ``L`` is the only input, as in Snorkel: ``n`` records x ``m`` sources
(heuristics), integers, ``-1`` = the source abstains, ``0 .. k-1`` = the class it votes for,
``k`` the model's ``cardinality``. Label models never see records.

Every model is an estimator with the scikit-learn contract: ``__init__`` stores its keyword
parameters; ``fit(L, y=None)`` validates ``L`` once and returns the model (``y`` is used only
by :class:`WeightedVote`); fitted state ends in ``_``; ``predict_proba(L)`` gives an
``n x k`` array whose rows sum to 1; ``predict(L, tie_break=..., random_state=...)`` gives one
class per row, or ``-1``.

Two policies hold for every model:

- **Rows without a vote** get a uniform row in ``predict_proba``: no vote is no evidence, so
  ``predict`` treats them as a tie among all classes.
- **Ties**: ``predict`` takes the classes whose probability is within ``1e-6`` of the row's
  highest. ``tie_break="random"`` (the default) picks one of them uniformly at random, drawn
  from ``random_state``; ``tie_break="abstain"`` returns ``-1`` for the row.
  :func:`break_ties` applies the same rule to any probability array.

The models (:func:`make_model` builds them by name):

==================  ========================================================================
``majority``        :class:`MajorityVote`: each vote counts 1.
``weighted``        :class:`WeightedVote`: refinery's precision-weighted vote.
``dawid-skene``     :class:`DawidSkene`: EM over per-source confusion matrices.
``generative``      :class:`Generative`: class-conditional vote probabilities learned from
                    the votes alone (no gold); the default, :data:`DEFAULT_MODEL`.
==================  ========================================================================

:data:`DEFAULT_MODEL` was chosen on the validation splits of the WRENCH benchmark (youtube,
sms, semeval, chemprot): the model with the highest mean validation score
(``benchmarks/bench_label_models.py`` prints that table; test labels played no part).

Multi-label tasks are one binary problem per label (:class:`MultiLabel`); extraction tasks
are aggregated per token and turned back into spans (:func:`aggregate_spans`).

The kernels work on blocks of rows with one dense comparison per class (``L == l``) and a
small matrix product, so a 1,000,000 x 50 matrix needs a few passes over its bytes and
memory of the order of ``n x k`` floats. Models that iterate (:class:`DawidSkene`,
:class:`Generative`) fit on a random sample of ``sample_size`` rows when ``L`` has more; they
always predict every row. The private kernels assume validated input.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

ABSTAIN = -1
DEFAULT_MODEL = "generative"

TieBreak: TypeAlias = Literal["random", "abstain"]
Seed: TypeAlias = int | np.random.Generator | None
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Matrix: TypeAlias = npt.NDArray[np.integer[Any]]

TIE_TOLERANCE = 1e-6
# Entries per block of rows: a block's float copy (1 MB) stays in cache across the passes
# over it, which measured 3-10x faster than blocks of 10+ MB on a 1,000,000 x 50 matrix.
_BLOCK_ENTRIES = 1 << 17


class NotFittedError(ValueError, AttributeError):
    """A model was used before ``fit`` (the scikit-learn exception's bases)."""


# -- validation (once, at the public edge) ---------------------------------------------------


def _check_cardinality(cardinality: object) -> int:
    if isinstance(cardinality, bool) or not isinstance(cardinality, int | np.integer):
        raise ValueError(f"cardinality must be an integer, found {cardinality!r}")
    if cardinality < 2:
        raise ValueError(f"cardinality must be at least 2, found {cardinality}")
    return int(cardinality)


def _check_matrix(L: npt.ArrayLike, cardinality: int, n_sources: int | None = None) -> Matrix:
    """``L`` as an integer array (not copied) after checking shape and values."""
    array = np.asarray(L)
    if array.ndim != 2:
        raise ValueError(f"L must be a 2-D array (records x sources), found {array.ndim}-D")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"L must hold integers (-1 = abstain), found dtype {array.dtype}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"L must have at least one row and one source, found {array.shape}")
    if n_sources is not None and array.shape[1] != n_sources:
        raise ValueError(f"L has {array.shape[1]} sources, the model was fit on {n_sources}")
    low, high = int(array.min()), int(array.max())
    if low < ABSTAIN or high >= cardinality:
        bad = low if low < ABSTAIN else high
        raise ValueError(
            f"L holds {bad}: votes must be -1 (abstain) or a class 0..{cardinality - 1}"
        )
    return array


def _check_labels(y: npt.ArrayLike, n: int, cardinality: int) -> IntArray:
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"y must be a 1-D array of {n} labels, found shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"y must hold integers (-1 = unknown), found dtype {labels.dtype}")
    if labels.size and (labels.min() < ABSTAIN or labels.max() >= cardinality):
        raise ValueError(f"y must hold -1 (unknown) or a class 0..{cardinality - 1}")
    return labels.astype(np.int64, copy=False)


def _rng(random_state: Seed) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


# -- kernels (clean input assumed) -----------------------------------------------------------


def _block_rows(L: Matrix) -> int:
    n, m = L.shape
    return int(max(1, min(n, _BLOCK_ENTRIES // m)))


def _blocks(L: Matrix) -> Iterator[slice]:
    size = _block_rows(L)
    for start in range(0, L.shape[0], size):
        yield slice(start, min(start + size, L.shape[0]))


def _vote_counts(L: Matrix, k: int) -> FloatArray:
    """``counts[i, l]``: how many sources vote ``l`` on row ``i``."""
    counts = np.empty((L.shape[0], k))
    for rows in _blocks(L):
        block = L[rows]
        for label in range(k):
            counts[rows, label] = np.count_nonzero(block == label, axis=1)
    return counts


def _covered(L: Matrix) -> npt.NDArray[np.bool_]:
    """Rows with at least one vote."""
    covered = np.empty(L.shape[0], dtype=bool)
    for rows in _blocks(L):
        covered[rows] = (L[rows] != ABSTAIN).any(axis=1)
    return covered


def _scores(
    L: Matrix,
    table: FloatArray,
    weights: npt.NDArray[np.floating[Any]] | None = None,
    first: int = 0,
) -> FloatArray:
    """``scores[i, y] = sum over the entries (j, l) of row i of table[j, l - first, y]``.

    ``table`` is ``m x outcomes x c`` for the values ``first, first + 1, ...`` of ``L``
    (``first=-1`` makes abstains an outcome; with 0 they add nothing). With ``weights``
    (``n x m``) each entry's term is multiplied by its weight. One comparison and one small
    matrix product per value and block of rows.
    """
    per_value = [np.ascontiguousarray(table[:, i, :]) for i in range(table.shape[1])]
    scores = np.zeros((L.shape[0], table.shape[2]))
    buffer = np.empty((_block_rows(L), L.shape[1]))
    for rows in _blocks(L):
        block = L[rows]
        hot = buffer[: block.shape[0]]
        for i, part in enumerate(per_value):
            np.equal(block, first + i, out=hot, casting="unsafe")
            if weights is not None:
                hot *= weights[rows]
            scores[rows] += hot @ part
    return scores


def _label_class_sums(L: Matrix, q: FloatArray, outcomes: int, first: int = 0) -> FloatArray:
    """``sums[j, l - first, y] = sum of q[i, y] over the rows i where L[i, j] == l``."""
    sums = np.zeros((L.shape[1], outcomes, q.shape[1]))
    buffer = np.empty((_block_rows(L), L.shape[1]))
    for rows in _blocks(L):
        block = L[rows]
        hot = buffer[: block.shape[0]]
        for i in range(outcomes):
            np.equal(block, first + i, out=hot, casting="unsafe")
            sums[:, i, :] += hot.T @ q[rows]
    return sums


def _softmax(scores: FloatArray) -> FloatArray:
    shifted: FloatArray = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _shares(counts: FloatArray) -> FloatArray:
    """Each row divided by its sum; rows summing to 0 become uniform."""
    total = counts.sum(axis=1, keepdims=True)
    k = counts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares: FloatArray = np.where(total > 0, counts / total, 1.0 / k)
    return shares


def _sample(L: Matrix, sample_size: int | None, random_state: Seed) -> Matrix:
    """``L``, or a random sample of ``sample_size`` of its rows when it has more."""
    n = L.shape[0]
    if sample_size is None or n <= sample_size:
        return L
    return L[np.sort(_rng(random_state).choice(n, size=sample_size, replace=False))]


def break_ties(
    proba: npt.ArrayLike, tie_break: TieBreak = "random", random_state: Seed = None
) -> IntArray:
    """One class per row of a probability array, with the module's tie rule.

    The tied classes of a row are those within ``TIE_TOLERANCE`` (``1e-6``) of its highest
    probability. ``"random"`` picks one uniformly at random; ``"abstain"`` gives ``-1``.
    """
    probs = np.asarray(proba, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"proba must be n x k with k >= 2, found shape {probs.shape}")
    if tie_break not in ("random", "abstain"):
        raise ValueError(f"tie_break must be 'random' or 'abstain', found {tie_break!r}")
    tied = probs >= probs.max(axis=1, keepdims=True) - TIE_TOLERANCE
    labels: IntArray = np.argmax(tied, axis=1).astype(np.int64)
    several = np.flatnonzero(tied.sum(axis=1) > 1)
    if several.size:
        if tie_break == "abstain":
            labels[several] = ABSTAIN
        else:
            noise = _rng(random_state).random((several.size, probs.shape[1]))
            labels[several] = np.argmax(np.where(tied[several], noise, -1.0), axis=1)
    return labels


# -- the models ------------------------------------------------------------------------------


class LabelModel:
    """Base of the label models: parameters, the fitted check and ``predict``."""

    cardinality: int
    n_sources_: int

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword parameters, as scikit-learn's ``get_params``."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_sources_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(L) first")

    def _start_fit(self, L: npt.ArrayLike) -> Matrix:
        k = _check_cardinality(self.cardinality)
        matrix = _check_matrix(L, k)
        self.n_sources_ = matrix.shape[1]
        return matrix

    def _check_predict(self, L: npt.ArrayLike) -> Matrix:
        self._check_fitted()
        return _check_matrix(L, self.cardinality, self.n_sources_)

    def fit(self, L: npt.ArrayLike, y: npt.ArrayLike | None = None) -> LabelModel:
        raise NotImplementedError

    def predict_proba(self, L: npt.ArrayLike) -> FloatArray:
        raise NotImplementedError

    def predict(
        self, L: npt.ArrayLike, *, tie_break: TieBreak = "random", random_state: Seed = None
    ) -> IntArray:
        """The most probable class of each row; ties as :func:`break_ties` says."""
        return break_ties(self.predict_proba(L), tie_break, random_state)

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"{type(self).__name__}({params})"


class MajorityVote(LabelModel):
    """Majority vote: ``predict_proba`` is each class's share of the row's votes.

    Abstains are not votes. A row without votes is uniform; equal counts are a tie, broken
    as ``predict``'s ``tie_break`` says. ``fit`` learns nothing but the number of sources.
    """

    def __init__(self, *, cardinality: int = 2) -> None:
        self.cardinality = cardinality

    def fit(self, L: npt.ArrayLike, y: npt.ArrayLike | None = None) -> MajorityVote:
        """Check ``L`` and record its number of sources (``y`` is ignored)."""
        self._start_fit(L)
        return self

    def predict_proba(self, L: npt.ArrayLike) -> FloatArray:
        matrix = self._check_predict(L)
        return _shares(_vote_counts(matrix, self.cardinality))


def estimate_precisions(L: npt.ArrayLike, y: npt.ArrayLike, cardinality: int) -> FloatArray:
    """Each source's precision per class on the rows with a known label, as refinery does.

    ``precision[j, l] = TP / (TP + FP)`` over the rows where ``y`` is not ``-1`` and source
    ``j`` votes ``l``: the share of those votes that match ``y``. A (source, class) pair
    without such a vote gets 0, so its votes will not count.
    """
    k = _check_cardinality(cardinality)
    matrix = _check_matrix(L, k)
    labels = _check_labels(y, matrix.shape[0], k)
    known = labels != ABSTAIN
    return _precisions(matrix[known], labels[known], k)


def _precisions(L: Matrix, y: IntArray, k: int) -> FloatArray:
    votes = _label_class_sums(L, np.eye(k)[y], k)  # [j, voted l, true class]
    hits = np.einsum("jll->jl", votes)
    total = votes.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / total, 0.0)


class WeightedVote(LabelModel):
    """refinery's precision-weighted vote.

    Each vote of source ``j`` for class ``l`` weighs ``precision[j, l] * confidence``, where
    ``confidence`` is the vote's own confidence (``confidences[i, j]``, 1 when not given).
    A row's score for class ``l`` is the sum of the weights of its votes for ``l``;
    ``predict_proba`` is each score's share of the row's total (uniform when the total is 0:
    no votes, or only votes of weight 0). ``predict`` takes the highest score; equal scores
    are a tie.

    refinery also gives the winner a confidence from its margin ``m`` (the winner's score
    minus the sum of all other scores): ``1 / (1 + exp(-c * m + k))``, with ``c = 7`` and
    ``k = 3``; :meth:`confidence` computes it (0 where ``m <= 0``, where refinery gives no
    label). Here ``k`` is that offset, not the number of classes (``cardinality``).

    Precisions come from the ``precisions`` parameter (one per source, or ``m x k`` per
    source and class, each in [0, 1]) or, when it is None, from ``fit``'s gold labels ``y``
    through :func:`estimate_precisions`.
    """

    def __init__(
        self,
        *,
        cardinality: int = 2,
        precisions: npt.ArrayLike | None = None,
        c: float = 7.0,
        k: float = 3.0,
    ) -> None:
        self.cardinality = cardinality
        self.precisions = precisions
        self.c = c
        self.k = k

    def fit(self, L: npt.ArrayLike, y: npt.ArrayLike | None = None) -> WeightedVote:
        """Set ``precisions_`` (``m x k``) from ``precisions`` or from the gold labels ``y``
        (one per row of ``L``, ``-1`` where unknown)."""
        matrix = self._start_fit(L)
        m, k = matrix.shape[1], self.cardinality
        if self.precisions is not None:
            given = np.asarray(self.precisions, dtype=np.float64)
            if given.shape not in ((m,), (m, k)):
                raise ValueError(f"precisions must have shape ({m},) or ({m}, {k})")
            if not np.all((given >= 0) & (given <= 1)):
                raise ValueError("precisions must lie in [0, 1]")
            self.precisions_ = np.broadcast_to(given.reshape(m, -1), (m, k)).copy()
        elif y is not None:
            labels = _check_labels(y, matrix.shape[0], k)
            known = labels != ABSTAIN
            self.precisions_ = _precisions(matrix[known], labels[known], k)
        else:
            raise ValueError("WeightedVote needs precisions, or gold labels y to estimate them")
        return self

    def _weighted_scores(self, L: npt.ArrayLike, confidences: npt.ArrayLike | None) -> FloatArray:
        matrix = self._check_predict(L)
        weights = None
        if confidences is not None:
            weights = np.asarray(confidences, dtype=np.float64)
            if weights.shape != matrix.shape:
                raise ValueError(f"confidences must have the shape of L, {matrix.shape}")
            votes = matrix != ABSTAIN
            voted = weights[votes]
            if not np.all((voted >= 0) & (voted <= 1)):
                raise ValueError("confidences of votes must lie in [0, 1]")
            weights = np.where(votes, weights, 0.0)  # an abstain's entry may be anything
        k = self.cardinality
        table = self.precisions_[:, :, None] * np.eye(k)[None, :, :]  # vote l scores class l
        return _scores(matrix, table, weights)

    def predict_proba(
        self, L: npt.ArrayLike, confidences: npt.ArrayLike | None = None
    ) -> FloatArray:
        return _shares(self._weighted_scores(L, confidences))

    def predict(
        self,
        L: npt.ArrayLike,
        confidences: npt.ArrayLike | None = None,
        *,
        tie_break: TieBreak = "random",
        random_state: Seed = None,
    ) -> IntArray:
        return break_ties(self.predict_proba(L, confidences), tie_break, random_state)

    def confidence(self, L: npt.ArrayLike, confidences: npt.ArrayLike | None = None) -> FloatArray:
        """refinery's confidence in each row's top class: ``1 / (1 + exp(-c * m + k))``.

        ``m`` is the top score minus the sum of the other scores; rows where ``m <= 0``
        (no votes, or a winner that does not outweigh the rest together) get 0.
        """
        scores = self._weighted_scores(L, confidences)
        top = scores.max(axis=1)
        margin = top - (scores.sum(axis=1) - top)
        sigmoid = 1.0 / (1.0 + np.exp(-self.c * margin + self.k))
        return np.where(margin > 0, sigmoid, 0.0)


class DawidSkene(LabelModel):
    """Dawid and Skene's EM: a confusion matrix per source and a class prior.

    The model: the true class ``y`` has prior ``class_prior_[y]``; source ``j`` answers
    ``l`` with probability ``confusion_[j, y, l]``, independently of the other sources given
    ``y``. ``abstain`` says what an abstain is:

    - ``"missing"`` (the default, the classic model): a missing answer, no evidence.
      ``confusion_`` is ``m x k x k``, the vote given that the source votes, and EM fits
      the rows with at least one vote.
    - ``"category"``: one more answer. ``confusion_`` is ``m x k x (k + 1)``, column 0 the
      abstain, and EM fits every row.

    EM starts from the majority-vote shares, adds ``smoothing`` to every count (a Dirichlet
    prior) and stops after ``max_iter`` rounds or when the mean log-likelihood per row
    changes by less than ``tol``; on a random sample of ``sample_size`` rows when ``L`` has
    more. ``accuracies_[j]``: the probability that source ``j``'s vote is right, under the
    class prior.

    ``predict_proba``: the posterior of the class given the row; uniform for a row without
    votes (as in every model here, whatever ``abstain`` says). Equal posteriors are a tie.

    With abstains missing, a source that only ever votes one class has the same confusion
    row for every true class and so adds no evidence: that model suits sources that vote
    several classes (annotators, models) rather than one-class heuristics.
    """

    def __init__(
        self,
        *,
        cardinality: int = 2,
        abstain: Literal["missing", "category"] = "missing",
        smoothing: float = 1.0,
        max_iter: int = 100,
        tol: float = 1e-5,
        sample_size: int | None = 100_000,
        random_state: Seed = 0,
    ) -> None:
        self.cardinality = cardinality
        self.abstain = abstain
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.sample_size = sample_size
        self.random_state = random_state

    def fit(self, L: npt.ArrayLike, y: npt.ArrayLike | None = None) -> DawidSkene:
        """Run EM (``y`` is ignored); sets ``class_prior_``, ``confusion_``,
        ``accuracies_`` and ``n_iter_``."""
        matrix = self._start_fit(L)
        if self.abstain not in ("missing", "category"):
            raise ValueError(f"abstain must be 'missing' or 'category', found {self.abstain!r}")
        if not self.smoothing > 0 or self.max_iter < 1:
            raise ValueError("smoothing must be > 0 and max_iter >= 1")
        k, s = self.cardinality, float(self.smoothing)
        first = ABSTAIN if self.abstain == "category" else 0
        rows = _sample(matrix, self.sample_size, self.random_state)
        if self.abstain == "missing":
            covered = _covered(rows)
            rows = rows if covered.all() else rows[covered]
        q = _shares(_vote_counts(rows, k))
        previous = -np.inf
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            sums = _label_class_sums(rows, q, k - first, first) + s  # [j, answer, true y]
            self.confusion_ = np.transpose(sums / sums.sum(axis=1, keepdims=True), (0, 2, 1))
            self.class_prior_ = (q.sum(axis=0) + s) / (q.shape[0] + k * s)
            scores = self._log_joint(rows)
            top = scores.max(axis=1, keepdims=True)
            likelihood = float(np.mean(top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))))
            q = _softmax(scores)
            if abs(likelihood - previous) < self.tol:
                break
            previous = likelihood
        votes = self.confusion_[:, :, -k:]  # the answers that are votes
        right = np.einsum("jyy->jy", votes) / votes.sum(axis=2)
        self.accuracies_ = right @ self.class_prior_
        return self

    def _log_joint(self, L: Matrix) -> FloatArray:
        table = np.log(np.transpose(self.confusion_, (0, 2, 1)))  # [j, answer, true y]
        first = ABSTAIN if self.abstain == "category" else 0
        log_joint: FloatArray = _scores(L, table, first=first) + np.log(self.class_prior_)
        return log_joint

    def predict_proba(self, L: npt.ArrayLike) -> FloatArray:
        matrix = self._check_predict(L)
        proba = _softmax(self._log_joint(matrix))
        proba[~_covered(matrix)] = 1.0 / self.cardinality
        return proba


class Generative(LabelModel):
    """A generative model of the votes, learned without gold labels (Snorkel's structure).

    Sources are independent given the true class ``y``; source ``j`` votes ``l`` with
    probability ``vote_probs_[j, y, l]`` (the rest of the row, up to 1, is its abstain
    probability), so a source that only votes one class still tells classes apart by how
    often it fires on each. As in Snorkel's ``LabelModel``, inference multiplies the
    factors of the votes only: an abstain is not evidence (correlated heuristics abstain
    together, and counting each abstain would count the same evidence many times), and the
    class prior is uniform. ``predict_proba`` is then ``softmax(sum over votes (j, l) of
    log vote_probs_[j, y, l])``; uniform for a row without votes. Equal posteriors are a tie.

    Fitting is expectation-maximisation started from the majority-vote shares ``q``: the
    M-step sets ``vote_probs_[j, y, l] = (sum of q[i, y] over the rows where j votes l +
    smoothing * r_j / k) / (sum of q[i, y] + smoothing)``, ``r_j`` the source's share of
    rows with a vote (a Dirichlet prior of ``smoothing`` rows that vote at the source's rate,
    evenly over the classes); the E-step is ``predict_proba``. ``max_iter`` defaults to 1,
    one M-step from the majority vote: on the WRENCH validation splits, further rounds
    lowered the score, as the model is misspecified where heuristics are correlated (see
    ``benchmarks/bench_label_models.py``). With ``max_iter > 1`` EM stops early when no
    probability moves by more than ``tol``. It fits the rows with at least one vote, on a
    random sample of ``sample_size`` rows when ``L`` has more.

    ``accuracies_[j]``: the probability that source ``j``'s vote is the true class, under
    ``class_prior_`` (the class shares of the last E-step).
    """

    def __init__(
        self,
        *,
        cardinality: int = 2,
        smoothing: float = 1.0,
        max_iter: int = 1,
        tol: float = 1e-4,
        sample_size: int | None = 100_000,
        random_state: Seed = 0,
    ) -> None:
        self.cardinality = cardinality
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.sample_size = sample_size
        self.random_state = random_state

    def fit(self, L: npt.ArrayLike, y: npt.ArrayLike | None = None) -> Generative:
        """Learn ``vote_probs_``, ``class_prior_`` and ``accuracies_`` (``y`` is ignored)."""
        matrix = self._start_fit(L)
        if not self.smoothing > 0 or self.max_iter < 1:
            raise ValueError("smoothing must be > 0 and max_iter >= 1")
        k, s = self.cardinality, float(self.smoothing)
        rows = _sample(matrix, self.sample_size, self.random_state)
        rate = np.count_nonzero(rows != ABSTAIN, axis=0) / rows.shape[0]
        q = _shares(_vote_counts(rows, k))
        probs = np.zeros((matrix.shape[1], k, k))
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            self.class_prior_ = q.mean(axis=0)
            sums = _label_class_sums(rows, q, k)  # [j, voted l, true y]
            new = (sums + s * rate[:, None, None] / k) / (q.sum(axis=0) + s)
            moved = float(np.abs(new - probs).max())
            probs = new
            # A source that never votes in the sample has probability 0 for every vote: a
            # finite floor keeps its abstains (0 x log p in the kernels) from becoming NaN.
            self._log_probs = np.log(np.maximum(probs, np.finfo(np.float64).tiny))
            if self.n_iter_ == self.max_iter or moved < self.tol:
                break
            q = _softmax(_scores(rows, self._log_probs))
        self.vote_probs_ = np.transpose(probs, (0, 2, 1))
        joint = self.class_prior_[None, :, None] * self.vote_probs_  # [j, y, l]
        with np.errstate(invalid="ignore"):  # a source that never votes: nan, no accuracy
            self.accuracies_ = np.einsum("jll->j", joint) / joint.sum(axis=(1, 2))
        return self

    def predict_proba(self, L: npt.ArrayLike) -> FloatArray:
        matrix = self._check_predict(L)
        proba = _softmax(_scores(matrix, self._log_probs))
        proba[~_covered(matrix)] = 1.0 / self.cardinality
        return proba


MODELS: dict[str, type[LabelModel]] = {
    "majority": MajorityVote,
    "weighted": WeightedVote,
    "dawid-skene": DawidSkene,
    "generative": Generative,
}


def make_model(name: str = DEFAULT_MODEL, **params: Any) -> LabelModel:
    """A new, unfitted label model by name (``majority``, ``weighted``, ``dawid-skene``,
    ``generative``) with the given keyword parameters."""
    try:
        model_class = MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown label model {name!r}; choose one of {', '.join(MODELS)}"
        ) from None
    return model_class(**params)


def _clone(model: LabelModel, **changes: Any) -> LabelModel:
    return type(model)(**{**model.get_params(), **changes})


# -- multi-label -----------------------------------------------------------------------------


class MultiLabel:
    """Multi-label tasks as one binary problem per label.

    ``Y`` is ``n x m x labels``: ``Y[i, j, l]`` is 1 when source ``j`` says label ``l``
    applies to record ``i``, 0 when it says the label does not apply, -1 when it says
    nothing about it. Each label gets its own copy of ``estimator`` (cardinality 2) fitted
    on ``Y[:, :, l]``; each binary model keeps its own tie and no-vote policy.
    ``predict_proba`` gives the probability that each label applies (``n x labels``);
    ``predict`` gives 1, 0 or -1 (abstained) per record and label.
    """

    def __init__(self, *, estimator: LabelModel | None = None) -> None:
        self.estimator = estimator

    def _check(self, Y: npt.ArrayLike) -> Matrix:
        array = np.asarray(Y)
        if array.ndim != 3:
            raise ValueError(f"Y must be a 3-D array (records x sources x labels), {array.ndim}-D")
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"Y must hold integers -1, 0, 1, found dtype {array.dtype}")
        if array.size and (array.min() < ABSTAIN or array.max() > 1):
            raise ValueError("Y must hold -1 (abstain), 0 (does not apply) or 1 (applies)")
        if hasattr(self, "estimators_") and array.shape[2] != len(self.estimators_):
            raise ValueError(
                f"Y has {array.shape[2]} labels, the model was fit on {len(self.estimators_)}"
            )
        return array

    def fit(self, Y: npt.ArrayLike, y: npt.ArrayLike | None = None) -> MultiLabel:
        """Fit one binary model per label; ``y`` (``n x labels`` of -1, 0, 1) goes to each."""
        votes = self._check(Y)
        base = self.estimator if self.estimator is not None else make_model()
        gold = None if y is None else np.asarray(y)
        if gold is not None and gold.shape != (votes.shape[0], votes.shape[2]):
            raise ValueError(f"y must have shape {(votes.shape[0], votes.shape[2])}")
        self.estimators_ = [
            _clone(base, cardinality=2).fit(
                votes[:, :, label], None if gold is None else gold[:, label]
            )
            for label in range(votes.shape[2])
        ]
        return self

    def _fitted(self) -> list[LabelModel]:
        if not hasattr(self, "estimators_"):
            raise NotFittedError("MultiLabel is not fitted yet: call fit(Y) first")
        return self.estimators_

    def predict_proba(self, Y: npt.ArrayLike) -> FloatArray:
        estimators = self._fitted()
        votes = self._check(Y)
        columns = [model.predict_proba(votes[:, :, i])[:, 1] for i, model in enumerate(estimators)]
        return np.stack(columns, axis=1)

    def predict(
        self, Y: npt.ArrayLike, *, tie_break: TieBreak = "random", random_state: Seed = None
    ) -> IntArray:
        estimators = self._fitted()
        votes = self._check(Y)
        rng = _rng(random_state)
        columns = [
            model.predict(votes[:, :, i], tie_break=tie_break, random_state=rng)
            for i, model in enumerate(estimators)
        ]
        return np.stack(columns, axis=1)


# -- extraction ------------------------------------------------------------------------------


class SpanVote(NamedTuple):
    """A source's span: ``label`` on tokens ``[start, end)`` (end exclusive)."""

    source: int
    label: int
    start: int
    end: int


class Span(NamedTuple):
    """An aggregated span; ``confidence`` is the mean probability of its label per token."""

    label: int
    start: int
    end: int
    confidence: float


def aggregate_spans(
    records: Sequence[Sequence[tuple[int, int, int, int]]],
    *,
    n_sources: int,
    n_labels: int,
    model: str | LabelModel = "majority",
    tie_break: TieBreak = "random",
    random_state: Seed = None,
) -> list[list[Span]]:
    """Aggregate the span votes of an extraction task per token, then rebuild spans.

    ``records[r]`` holds record ``r``'s votes as ``(source, label, start, end)`` token spans
    (:class:`SpanVote`); spans may overlap, within a source and across sources. The result
    holds each record's aggregated spans, ordered by start. Policy:

    1. **Token votes**: a source votes, at each token, the label of its span covering the
       token. Where a source's own spans overlap, its shortest span covering the token wins
       (then the lower label, then the earlier vote). A token outside a source's spans is
       an abstain of that source, not a vote for "outside".
    2. **Token labels**: the covered tokens form one label matrix (a row per token, a
       column per source, ``n_labels`` classes) for ``model``: a name for
       :func:`make_model`, or an unfitted model, copied with ``cardinality=n_labels``.
       It is fitted on these tokens and predicts each with ``tie_break``; a token it
       abstains on, and every token no source covers, is outside any span. (A task with
       one label is modelled as two classes, the second never voted.)
    3. **Spans**: consecutive tokens with the same label form one span, except that a new
       span starts at a token where more of the sources voting that label start a span
       there than carry one on from the previous token (two adjacent entities stay two).
    """
    for name, value in (("n_sources", n_sources), ("n_labels", n_labels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, found {value!r}")
    k = max(n_labels, 2)  # a one-label task is two classes whose second nobody votes
    flat = [(r, *vote) for r, votes in enumerate(records) for vote in votes]
    result: list[list[Span]] = [[] for _ in records]
    if not flat:
        return result
    table = np.array(flat, dtype=np.int64)
    if table.shape[1] != 5:
        raise ValueError("each span vote must be (source, label, start, end)")
    record, source, label, start, end = table.T
    if source.min() < 0 or source.max() >= n_sources:
        raise ValueError(f"a span vote names a source outside 0..{n_sources - 1}")
    if label.min() < 0 or label.max() >= n_labels:
        raise ValueError(f"a span vote names a label outside 0..{n_labels - 1}")
    if start.min() < 0 or np.any(end <= start):
        raise ValueError("a span vote must have 0 <= start < end")

    # One entry per (vote, token) it covers.
    length = end - start
    vote = np.repeat(np.arange(len(table)), length)
    offset = np.arange(vote.size) - np.repeat(np.cumsum(length) - length, length)
    token = start[vote] + offset
    # Keep each source's winning vote per token: sort by record, token, source, then the
    # tie rule (shortest span, lower label, earlier vote), take the first of each group.
    order = np.lexsort((vote, label[vote], length[vote], source[vote], token, record[vote]))
    vote, token = vote[order], token[order]
    rec, src = record[vote], source[vote]
    first = np.ones(vote.size, dtype=bool)
    first[1:] = (rec[1:] != rec[:-1]) | (token[1:] != token[:-1]) | (src[1:] != src[:-1])
    vote, token, rec, src = vote[first], token[first], rec[first], src[first]
    new_row = np.ones(vote.size, dtype=bool)
    new_row[1:] = (rec[1:] != rec[:-1]) | (token[1:] != token[:-1])
    row = np.cumsum(new_row) - 1
    n_rows = int(row[-1]) + 1
    matrix = np.full((n_rows, n_sources), ABSTAIN, dtype=np.int64)
    matrix[row, src] = label[vote]

    base = make_model(model, cardinality=k) if isinstance(model, str) else model
    fitted = _clone(base, cardinality=k).fit(matrix)
    proba = fitted.predict_proba(matrix)
    predicted = break_ties(proba, tie_break, random_state)

    # Boundary votes per token: sources voting the predicted label that start a span here
    # versus those whose span goes on from the previous token.
    agrees = label[vote] == predicted[row]
    begins = start[vote] == token
    starting = np.bincount(row, weights=agrees & begins, minlength=n_rows)
    going_on = np.bincount(row, weights=agrees & ~begins, minlength=n_rows)
    row_record, row_token = rec[new_row], token[new_row]
    continues = np.zeros(n_rows, dtype=bool)
    continues[1:] = (
        (row_record[1:] == row_record[:-1])
        & (row_token[1:] == row_token[:-1] + 1)
        & (predicted[1:] == predicted[:-1])
        & (starting[1:] <= going_on[1:])
    )
    inside = predicted != ABSTAIN
    span_start = np.flatnonzero(inside & ~continues)
    span_id = np.cumsum(inside & ~continues) - 1
    confidence = proba[np.arange(n_rows), np.maximum(predicted, 0)]
    sums = np.bincount(span_id[inside], weights=confidence[inside], minlength=span_start.size)
    sizes = np.bincount(span_id[inside], minlength=span_start.size)
    for i, first_row in enumerate(span_start):
        result[int(row_record[first_row])].append(
            Span(
                int(predicted[first_row]),
                int(row_token[first_row]),
                int(row_token[first_row]) + int(sizes[i]),
                float(sums[i] / sizes[i]),
            )
        )
    return result
