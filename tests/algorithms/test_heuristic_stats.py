"""Heuristic statistics on tiny hand-written votes with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from assay.algorithms.heuristic_stats import as_units, heuristic_stats, wilson_interval


def _cls(pairs: list[tuple[int, int]]) -> object:
    return as_units([(r, label, -1, -1) for r, label in pairs])


def test_wilson_interval_by_hand() -> None:
    # 2 of 2, z = 1.96 (z^2 = 3.8416): centre = 1 + 3.8416 / 4 = 1.9604,
    # spread = 1.96 * sqrt(3.8416 / 16) = 0.9604, scale = 1 + 3.8416 / 2 = 2.9208,
    # low = (1.9604 - 0.9604) / 2.9208 = 0.3424.
    low, high = wilson_interval(2, 2) or (0.0, 0.0)
    assert high == 1.0  # exactly: the proportion itself lies inside
    assert wilson_interval(0, 7) == (0.0, pytest.approx(0.3543, abs=1e-4))
    assert low == pytest.approx(0.3424, abs=1e-4)
    assert low < 0.35  # two of two is visibly uncertain
    low, high = wilson_interval(80, 100) or (0.0, 0.0)
    assert (round(low, 3), round(high, 3)) == (0.711, 0.867)  # the textbook example
    assert wilson_interval(0, 0) is None


def test_classification_by_hand() -> None:
    # Six records; the reference labels records 0-3: 0->A(0), 1->A, 2->B(1), 3->B.
    reference = _cls([(0, 0), (1, 0), (2, 1), (3, 1)])
    h0 = _cls([(0, 0), (1, 0), (2, 0), (4, 0)])  # right, right, wrong, unreferenced
    h1 = _cls([(0, 0), (2, 1), (5, 1)])  # right, right, unreferenced
    h2 = _cls([(2, 0)])  # wrong; agrees with h0 on record 2
    s0, s1, s2 = heuristic_stats([h0, h1, h2], reference, 6)
    assert (s0.records, s0.hits, s0.coverage) == (4, 4, pytest.approx(4 / 6))
    # Overlaps of h0: records 0 (h1) and 2 (h1, h2); conflicts: record 2 (h1 says B).
    assert (s0.overlaps, s0.conflicts) == (2, 1)
    assert (s0.true_positives, s0.false_positives) == (2, 1)
    assert s0.precision == pytest.approx(2 / 3)
    # False negatives count reference units missed on records the heuristic voted on:
    # record 2's B.
    assert s0.false_negatives == 1
    assert (s1.overlaps, s1.conflicts, s1.true_positives, s1.false_positives) == (2, 1, 2, 0)
    assert (s2.overlaps, s2.conflicts) == (1, 1)  # record 2: h0 agrees, h1 does not
    assert (s2.true_positives, s2.false_positives, s2.precision) == (0, 1, 0.0)
    assert s0.labels[0].hits == 4 and s0.labels[0].false_positives == 1
    assert s0.labels[1].false_negatives == 1 and s0.labels[1].hits == 0


def test_a_scope_narrows_the_reference_of_one_heuristic() -> None:
    # The example above, h0 measured only on records 0 and 2 (a model's test records).
    reference = _cls([(0, 0), (1, 0), (2, 1), (3, 1)])
    h0 = _cls([(0, 0), (1, 0), (2, 0), (4, 0)])
    h1 = _cls([(0, 0), (2, 1), (5, 1)])
    s0, s1 = heuristic_stats([h0, h1], reference, 6, scopes=[np.array([0, 2]), None])
    # Record 0: right; record 2: wrong (B missed); record 1, right but out of scope: not
    # evidence; coverage, overlaps and conflicts do not depend on the reference.
    assert (s0.true_positives, s0.false_positives, s0.false_negatives) == (1, 1, 1)
    assert (s0.records, s0.hits, s0.overlaps, s0.conflicts) == (4, 4, 2, 1)
    assert s0.labels[0].true_positives == 1 and s0.labels[1].false_negatives == 1
    assert (s1.true_positives, s1.false_positives) == (2, 0)  # not narrowed


def test_multi_label_sets_compare_as_sets() -> None:
    reference = _cls([(0, 0), (0, 1)])
    same = _cls([(0, 1), (0, 0)])
    part = _cls([(0, 0)])
    s_same, s_part = heuristic_stats([same, part], reference, 1)
    assert (s_same.true_positives, s_same.false_negatives, s_same.conflicts) == (2, 0, 1)
    assert (s_part.true_positives, s_part.false_negatives, s_part.conflicts) == (1, 1, 1)


def test_extraction_exact_spans_and_missed_spans() -> None:
    reference = as_units([(0, 0, 2, 4), (1, 0, 0, 1), (2, 1, 3, 5)])
    votes = as_units([(0, 0, 2, 4), (0, 0, 5, 6), (1, 0, 0, 2)])  # exact, extra, off by one
    (stats,) = heuristic_stats([votes], reference, 4, extraction=True)
    assert (stats.true_positives, stats.false_positives) == (1, 2)
    # Missed: record 1's span (the vote was off by one) and record 2's, which it never saw.
    assert stats.false_negatives == 2
    assert (stats.records, stats.hits, stats.overlaps, stats.conflicts) == (2, 3, 0, 0)
    assert stats.labels[1].false_negatives == 1


def test_no_votes_and_no_reference() -> None:
    assert heuristic_stats([], as_units([]), 3) == []
    (stats,) = heuristic_stats([_cls([(0, 1)])], as_units([]), 3)
    assert (stats.precision, stats.interval, stats.records) == (None, None, 1)
    with pytest.raises(ValueError, match="non-negative"):
        as_units([(-1, 0, -1, -1)])
