"""A source that never votes (a multi-label heuristic about another label, say) leaves the
generative model's probabilities finite and its predictions those of the others."""

from __future__ import annotations

import numpy as np

from assay.algorithms.label_models import Generative, MajorityVote


def test_a_silent_source_changes_nothing() -> None:
    L = np.array([[0, -1, -1], [1, 1, -1], [0, 0, -1], [-1, 1, -1]])
    model = Generative(cardinality=2).fit(L)
    proba = model.predict_proba(L)
    assert np.isfinite(proba).all()
    assert np.isnan(model.accuracies_[2])  # no votes, no accuracy
    expected = Generative(cardinality=2).fit(L[:, :2]).predict_proba(L[:, :2])
    np.testing.assert_allclose(proba, expected)
    everyone_silent = np.full((3, 2), -1)
    uniform = Generative(cardinality=2).fit(everyone_silent).predict_proba(everyone_silent)
    np.testing.assert_allclose(
        uniform, MajorityVote().fit(everyone_silent).predict_proba(everyone_silent)
    )
