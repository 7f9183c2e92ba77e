"""Label models on tiny label matrices whose answers are computed by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay.algorithms.label_models import (
    DEFAULT_MODEL,
    MODELS,
    DawidSkene,
    Generative,
    MajorityVote,
    MultiLabel,
    NotFittedError,
    Span,
    WeightedVote,
    aggregate_spans,
    break_ties,
    estimate_precisions,
    make_model,
)

A = -1  # abstain


def _synthetic(accuracies: list[float], n: int, coverage: float, seed: int) -> tuple:
    """Binary votes: each source votes on `coverage` of the rows, right with its accuracy."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    columns = []
    for accuracy in accuracies:
        vote = np.where(rng.random(n) < accuracy, y, 1 - y)
        columns.append(np.where(rng.random(n) < coverage, vote, A))
    return np.stack(columns, axis=1), y


# -- majority vote ---------------------------------------------------------------------------


def test_majority_shares_ties_and_rows_without_votes() -> None:
    L = [[0, 0, 1], [1, A, 1], [0, 1, A], [A, A, A]]
    model = MajorityVote(cardinality=2).fit(L)
    # row 0: two votes for 0, one for 1; row 1: only 1s; row 2: one each; row 3: no vote.
    np.testing.assert_allclose(
        model.predict_proba(L), [[2 / 3, 1 / 3], [0, 1], [0.5, 0.5], [0.5, 0.5]]
    )
    assert model.predict(L, tie_break="abstain").tolist() == [0, 1, A, A]
    first = model.predict(L, random_state=0)
    assert first.tolist()[:2] == [0, 1]
    assert np.array_equal(first, model.predict(L, random_state=0))  # seeded: repeatable
    # Random tie-breaking picks both classes of the tied rows over a few seeds.
    picks = {tuple(model.predict(L, random_state=seed)[2:]) for seed in range(50)}
    assert {p[0] for p in picks} == {0, 1} and {p[1] for p in picks} == {0, 1}


def test_majority_with_three_classes() -> None:
    L = np.array([[2, 2, 0, 1], [1, 2, 0, A]], dtype=np.int8)
    model = MajorityVote(cardinality=3).fit(L)
    np.testing.assert_allclose(model.predict_proba(L), [[0.25, 0.25, 0.5], [1 / 3] * 3])
    assert model.predict(L, tie_break="abstain").tolist() == [2, A]


# -- weighted vote ---------------------------------------------------------------------------


def test_weighted_vote_scores_and_refinery_confidence() -> None:
    model = WeightedVote(cardinality=2, precisions=[0.9, 0.6, 0.7]).fit([[0, 0, 1]])
    L = [[0, 0, 1], [0, 1, A], [A, A, A]]
    # row 0: class 0 weighs 0.9 + 0.6 = 1.5, class 1 0.7; row 1: 0.9 against 0.6.
    np.testing.assert_allclose(
        model.predict_proba(L), [[1.5 / 2.2, 0.7 / 2.2], [0.9 / 1.5, 0.6 / 1.5], [0.5, 0.5]]
    )
    assert model.predict(L, tie_break="abstain").tolist() == [0, 0, A]
    # margin m = winner - the rest: 1.5 - 0.7 = 0.8, 1/(1 + exp(-7*0.8 + 3)) = 1/(1 + e^-2.6);
    # 0.9 - 0.6 = 0.3, 1/(1 + e^(-2.1 + 3)) = 1/(1 + e^0.9); no votes: 0.
    expected = [1 / (1 + math.exp(-2.6)), 1 / (1 + math.exp(0.9)), 0.0]
    np.testing.assert_allclose(model.confidence(L), expected)
    assert model.confidence(L)[0] == pytest.approx(0.930862, abs=1e-6)
    # A vote's own confidence scales its weight: 0.9 + 0.5 * 0.6 = 1.2 against 0.7,
    # m = 0.5, 1/(1 + e^(-3.5 + 3)) = 0.622459; an abstain's confidence is ignored.
    confidences = [[1.0, 0.5, 1.0], [1.0, 1.0, np.nan], [np.nan, np.nan, np.nan]]
    assert model.confidence(L, confidences)[0] == pytest.approx(0.622459, abs=1e-6)
    np.testing.assert_allclose(model.predict_proba(L, confidences)[0], [1.2 / 1.9, 0.7 / 1.9])


def test_weighted_vote_margin_not_above_zero_has_no_confidence() -> None:
    # Three classes, one vote each with weights 0.9, 0.6, 0.7: 0.9 wins the vote but
    # m = 0.9 - 1.3 < 0, so refinery would give no label: confidence 0.
    model = WeightedVote(cardinality=3, precisions=[0.9, 0.6, 0.7]).fit([[0, 1, 2]])
    assert model.predict([[0, 1, 2]]).tolist() == [0]
    assert model.confidence([[0, 1, 2]]).tolist() == [0.0]
    # parameters c and k change the curve: c=1, k=0 on the two-class margin 0.8: sigmoid(0.8).
    two = WeightedVote(precisions=[0.9, 0.6, 0.7], c=1.0, k=0.0).fit([[0, 0, 1]])
    assert two.confidence([[0, 0, 1]])[0] == pytest.approx(1 / (1 + math.exp(-0.8)))


def test_precisions_from_gold_labels_as_refinery() -> None:
    L = [[0, 1], [0, 1], [1, A], [0, 0]]
    y = [0, 1, 1, A]  # the last row has no gold label
    # source 0 votes 0 on rows 0 and 1 (gold 0, 1): 1/2; votes 1 on row 2 (gold 1): 1.
    # source 1 votes 1 on rows 0, 1: 1/2; its vote 0 is on a row without gold: 0.
    expected = [[0.5, 1.0], [0.0, 0.5]]
    np.testing.assert_allclose(estimate_precisions(L, y, 2), expected)
    model = WeightedVote().fit(L, y)
    np.testing.assert_allclose(model.precisions_, expected)
    # Without any gold label every precision is 0 and every row a tie.
    np.testing.assert_allclose(estimate_precisions(L, [A] * 4, 2), 0.0)
    # Per source and class: a source's vote for 0 can weigh less than its vote for 1.
    per_class = WeightedVote(precisions=expected).fit(L)
    np.testing.assert_allclose(per_class.predict_proba([[1, 0]]), [[0.0, 1.0]])


def test_weighted_vote_needs_precisions_or_gold() -> None:
    with pytest.raises(ValueError, match="needs precisions"):
        WeightedVote().fit([[0, 1]])
    with pytest.raises(ValueError, match="shape"):
        WeightedVote(precisions=[0.5, 0.5, 0.5]).fit([[0, 1]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        WeightedVote(precisions=[0.5, 1.5]).fit([[0, 1]])
    model = WeightedVote(precisions=[0.5, 0.5]).fit([[0, 1]])
    with pytest.raises(ValueError, match="confidences"):
        model.predict_proba([[0, 1]], [[0.5, 2.0]])


# -- Dawid-Skene -----------------------------------------------------------------------------


def test_dawid_skene_tells_an_accurate_source_from_a_random_one() -> None:
    # Three sources right 90% of the time, one right 50% (a coin), all voting both classes.
    L, y = _synthetic([0.9, 0.9, 0.9, 0.5], n=3000, coverage=0.8, seed=7)
    model = DawidSkene().fit(L)
    assert model.n_iter_ < model.max_iter
    np.testing.assert_allclose(model.accuracies_[:3], 0.9, atol=0.03)
    assert model.accuracies_[3] == pytest.approx(0.5, abs=0.05)
    # The coin's confusion rows are flat: it says 1 about as often whatever the class.
    assert abs(model.confusion_[3, 0, 1] - model.confusion_[3, 1, 1]) < 0.1
    np.testing.assert_allclose(model.class_prior_, np.bincount(y) / len(y), atol=0.03)
    ours = np.mean(model.predict(L, random_state=0) == y)
    majority = np.mean(MajorityVote().fit(L).predict(L, random_state=0) == y)
    assert ours > majority


def test_dawid_skene_with_abstain_as_a_category() -> None:
    L, _ = _synthetic([0.9, 0.8, 0.7], n=2000, coverage=0.7, seed=3)
    model = DawidSkene(abstain="category").fit(L)
    assert model.confusion_.shape == (3, 2, 3)  # column 0: the abstain
    np.testing.assert_allclose(model.confusion_[:, :, 0], 0.3, atol=0.05)
    assert np.all(np.diff(model.accuracies_) < 0)
    with pytest.raises(ValueError, match="abstain"):
        DawidSkene(abstain="ignored").fit(L)  # type: ignore[arg-type]


# -- generative ------------------------------------------------------------------------------


def test_generative_one_step_by_hand() -> None:
    L = [[0, 0], [0, A], [1, 1]]
    model = Generative(smoothing=1.0).fit(L)
    # Majority shares q: rows 0 and 1 are class 0, row 2 class 1; class totals N = (2, 1).
    # Source 0 votes on every row (rate 1), source 1 on 2 of 3: a prior of one row voting at
    # that rate, split evenly: 1/2 and 1/3 per class. P(j votes l | y) = (sum + prior) / (N + 1):
    #   source 0: y=0 -> (2.5/3, 0.5/3); y=1 -> (0.5/2, 1.5/2)
    #   source 1: y=0 -> ((1 + 1/3)/3, (1/3)/3); y=1 -> ((1/3)/2, (1 + 1/3)/2)
    expected = [[[5 / 6, 1 / 6], [1 / 4, 3 / 4]], [[4 / 9, 1 / 9], [1 / 6, 2 / 3]]]
    np.testing.assert_allclose(model.vote_probs_, expected)
    np.testing.assert_allclose(model.class_prior_, [2 / 3, 1 / 3])
    # Row (0, 1): class 0 gets 5/6 * 1/9 = 5/54, class 1 gets 1/4 * 2/3 = 9/54.
    np.testing.assert_allclose(model.predict_proba([[0, 1]]), [[5 / 14, 9 / 14]])
    # Source 0 is right with probability 2/3 * 5/6 + 1/3 * 3/4 = 29/36.
    assert model.accuracies_[0] == pytest.approx(29 / 36)


def test_generative_orders_sources_by_accuracy_without_gold() -> None:
    truth = [0.95, 0.85, 0.75, 0.65, 0.55]
    L, y = _synthetic(truth, n=5000, coverage=0.6, seed=11)
    model = Generative().fit(L)
    assert np.argsort(-model.accuracies_).tolist() == [0, 1, 2, 3, 4]
    # More rounds of EM on data that fits the model move the estimates towards the truth.
    em = Generative(max_iter=50).fit(L)
    assert np.abs(em.accuracies_ - truth).max() < np.abs(model.accuracies_ - truth).max()
    assert np.abs(em.accuracies_ - truth).max() < 0.03
    assert np.mean(em.predict(L, random_state=0) == y) > 0.85


def test_generative_tells_classes_apart_with_one_class_sources() -> None:
    # Each heuristic only ever votes its one class (as WRENCH's do). Sources 0 and 1 vote 0
    # together on 6 rows, source 2 votes 1 alone on 6; on 4 rows one of the first two
    # conflicts with source 2, a tie for majority vote. From the majority shares, source 0
    # fires on 7 of 8 class-0 rows and 1 of 8 class-1 rows (ratio 7), source 2 on 8 of 8
    # class-1 rows and 2 of 8 class-0 rows (ratio 4): source 0's vote weighs more.
    L = [[0, 0, A]] * 6 + [[A, A, 1]] * 6 + [[0, A, 1]] * 2 + [[A, 0, 1]] * 2
    assert MajorityVote().fit(L).predict([[0, A, 1]], tie_break="abstain").tolist() == [A]
    model = Generative().fit(L)
    proba = model.predict_proba([[0, A, 1]])[0]
    assert proba[0] > 0.6
    assert model.predict([[0, A, 1], [A, A, 1]]).tolist() == [0, 1]


def test_fitting_on_a_sample_predicts_every_row() -> None:
    L, _ = _synthetic([0.9, 0.8, 0.7], n=5000, coverage=0.7, seed=5)
    full = Generative(sample_size=None).fit(L)
    sample = Generative(sample_size=1000, random_state=1).fit(L)
    assert sample.predict_proba(L).shape == (5000, 2)
    np.testing.assert_allclose(sample.accuracies_, full.accuracies_, atol=0.05)


# -- every model -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_gives_probability_rows(name: str) -> None:
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 3, size=(300, 6))
    L[:5] = A
    params = {"precisions": np.full(6, 0.7)} if name == "weighted" else {}
    model = make_model(name, cardinality=3, **params)
    assert model.fit(L) is model
    proba = model.predict_proba(L)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:5], 1 / 3)  # no vote: uniform, in every model
    labels = model.predict(L, tie_break="abstain")
    assert labels.dtype == np.int64 and set(labels.tolist()) <= {-1, 0, 1, 2}
    assert labels[:5].tolist() == [A] * 5


def test_registry_and_parameters() -> None:
    assert DEFAULT_MODEL in MODELS
    assert sorted(MODELS) == ["dawid-skene", "generative", "majority", "weighted"]
    model = make_model("weighted", c=5.0)
    assert isinstance(model, WeightedVote)
    assert model.get_params() == {"cardinality": 2, "precisions": None, "c": 5.0, "k": 3.0}
    assert "c=5.0" in repr(model)
    assert isinstance(make_model(), MODELS[DEFAULT_MODEL])
    with pytest.raises(ValueError, match="unknown label model 'snorkel'"):
        make_model("snorkel")


@pytest.mark.parametrize(
    ("L", "message"),
    [
        ([0, 1, A], "2-D"),
        ([[0.0, 1.0]], "integers"),
        ([[True, False]], "integers"),
        ([[0, 2]], "holds 2"),
        ([[0, -2]], "holds -2"),
        (np.zeros((0, 3), dtype=int), "at least one row"),
    ],
)
def test_bad_label_matrices(L: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MajorityVote().fit(L)  # type: ignore[arg-type]


def test_bad_use() -> None:
    with pytest.raises(NotFittedError):
        Generative().predict([[0, 1]])
    with pytest.raises(ValueError, match="cardinality must be at least 2"):
        MajorityVote(cardinality=1).fit([[0]])
    model = MajorityVote().fit([[0, 1]])
    with pytest.raises(ValueError, match="3 sources, the model was fit on 2"):
        model.predict([[0, 1, 1]])
    with pytest.raises(ValueError, match="tie_break"):
        model.predict([[0, 1]], tie_break="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="smoothing"):
        Generative(smoothing=0).fit([[0, 1]])
    with pytest.raises(ValueError, match="y must"):
        WeightedVote().fit([[0, 1]], [0, 1])


def test_break_ties_tolerance() -> None:
    proba = [[0.5, 0.5 - 1e-9], [0.6, 0.4], [0.2, 0.4, 0.4]]
    assert break_ties(np.array(proba[:2]), "abstain").tolist() == [A, 0]
    assert break_ties(np.array([proba[2]]), "abstain").tolist() == [A]
    assert break_ties(np.array([proba[2]]), "random", 3).tolist()[0] in (1, 2)


# -- multi-label -----------------------------------------------------------------------------


def test_multi_label_is_one_binary_vote_per_label() -> None:
    # Y[record, source, label]: 1 applies, 0 does not, -1 no opinion.
    Y = np.array(
        [
            [[1, A], [1, 0], [0, A]],  # label 0: two of three say yes; label 1: one no
            [[A, 1], [A, A], [A, 1]],  # label 0: nobody; label 1: two yes
        ]
    )
    model = MultiLabel(estimator=MajorityVote()).fit(Y)
    np.testing.assert_allclose(model.predict_proba(Y), [[2 / 3, 0.0], [0.5, 1.0]])
    assert model.predict(Y, tie_break="abstain").tolist() == [[1, 0], [A, 1]]
    assert all(m.cardinality == 2 for m in model.estimators_)
    with pytest.raises(ValueError, match="-1"):
        MultiLabel().fit(Y + 1)


# -- extraction ------------------------------------------------------------------------------


def test_overlapping_spans_are_voted_per_token() -> None:
    # tokens:      0  1  2  3
    # source 0:    a  a  a  .      label 0 on [0, 3)
    # source 1:    .  a  a  .      label 0 on [1, 3)
    # source 2:    .  .  b  b      label 1 on [2, 4)
    # token 2 is a over b by 2 votes to 1; token 3 is b alone. At token 1, one source starts
    # a span (1) and one carries one on (0): no new span. Confidence of [0, 3): the mean of
    # the label's token probabilities 1, 1, 2/3.
    spans = aggregate_spans(
        [[(0, 0, 0, 3), (1, 0, 1, 3), (2, 1, 2, 4)], []], n_sources=3, n_labels=2
    )
    assert spans == [[Span(0, 0, 3, pytest.approx(8 / 9)), Span(1, 3, 4, 1.0)], []]


def test_adjacent_entities_stay_apart_and_a_source_prefers_its_shortest_span() -> None:
    both = [(s, 0, 0, 2) for s in (0, 1)] + [(s, 0, 2, 4) for s in (0, 1)]
    assert [
        (x.label, x.start, x.end) for x in aggregate_spans([both], n_sources=2, n_labels=1)[0]
    ] == [
        (0, 0, 2),
        (0, 2, 4),
    ]
    # One source: label 0 on [0, 4) and label 1 on [1, 2): token 1 takes the shorter span.
    nested = aggregate_spans([[(0, 0, 0, 4), (0, 1, 1, 2)]], n_sources=1, n_labels=2)[0]
    assert [(x.label, x.start, x.end) for x in nested] == [(0, 0, 1), (1, 1, 2), (0, 2, 4)]


def test_extraction_ties_and_models() -> None:
    # Two sources disagree on the label of [0, 2): a tie per token.
    record = [[(0, 0, 0, 2), (1, 1, 0, 2)]]
    assert aggregate_spans(record, n_sources=2, n_labels=2, tie_break="abstain") == [[]]
    spans = aggregate_spans(record, n_sources=2, n_labels=2, random_state=0)[0]
    assert len(spans) in (1, 2) and spans[0].confidence == 0.5
    weighted = WeightedVote(precisions=[0.9, 0.6])
    spans = aggregate_spans(record, n_sources=2, n_labels=2, model=weighted)[0]
    assert [(x.label, x.start, x.end) for x in spans] == [(0, 0, 2)]
    assert spans[0].confidence == pytest.approx(0.6)


def test_bad_span_votes() -> None:
    with pytest.raises(ValueError, match="label outside"):
        aggregate_spans([[(0, 2, 0, 1)]], n_sources=1, n_labels=2)
    with pytest.raises(ValueError, match="start < end"):
        aggregate_spans([[(0, 0, 3, 3)]], n_sources=1, n_labels=2)
    with pytest.raises(ValueError, match="source outside"):
        aggregate_spans([[(1, 0, 0, 1)]], n_sources=1, n_labels=2)
