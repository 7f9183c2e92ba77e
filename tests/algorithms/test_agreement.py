"""Agreement measures on tiny tables whose answers are computed by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assay.algorithms.agreement import cohen_kappa, krippendorff_alpha, percent_agreement

M = -1  # not labeled


def _pairs(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Two annotators' labels from a contingency table (rows: a's label, columns: b's)."""
    a: list[int] = []
    b: list[int] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return a, b


def test_kappa_of_a_two_by_two_table() -> None:
    # 50 items: both yes 20, a yes / b no 5, a no / b yes 10, both no 15.
    # p_o = 35/50 = 0.7; a says yes 25/50, b 30/50: p_e = .5*.6 + .5*.4 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a, b = _pairs([[20, 5], [10, 15]])
    assert percent_agreement(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_and_alpha_differ_on_small_samples() -> None:
    a, b = [0, 0, 1, 1], [0, 1, 1, 1]
    # kappa: p_o = 3/4; p_e = .5*.25 + .5*.75 = .5; kappa = .25/.5 = 0.5.
    assert cohen_kappa(a, b) == pytest.approx(0.5)
    # alpha: n = 8 values; matches 2 + 0 + 2 + 2 = 6; n_0 = 3, n_1 = 5;
    # alpha = 1 - 7 * (8 - 6) / (64 - 9 - 25) = 1 - 14/30.
    assert krippendorff_alpha([a, b]) == pytest.approx(1 - 14 / 30)


def test_items_one_annotator_skipped_are_left_out() -> None:
    a = [0, 1, M, 1, 0]
    b = [0, 0, 1, M, 0]
    # in common: items 0, 1, 4; agree on 0 and 4.
    assert percent_agreement(a, b) == pytest.approx(2 / 3)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa([0, 1, 0], [0, 0, 0]))


def test_krippendorff_reliability_data_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units,
    # published nominal alpha 0.743. By hand: unit 12 has one value and drops out, leaving
    # n = 40 values; coincidences of equal values per unit (n_uc (n_uc - 1) / (m_u - 1)):
    # 3 + 2 + 4 + 4 + 4 + 0 + 4 + 2 + 4 + 3 + 2 = 32; n_c = 9, 13, 10, 5, 3 for values 1-5,
    # sum of squares 384; alpha = 1 - 39 * (40 - 32) / (1600 - 384) = 1 - 312/1216 = 0.7434.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3],
        [M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M],
    ]
    alpha = krippendorff_alpha(data)
    assert alpha == pytest.approx(1 - 312 / 1216)
    assert round(alpha, 3) == 0.743


def test_perfect_agreement_is_one() -> None:
    a = [0, 1, 2, 1, 0]
    assert percent_agreement(a, a) == 1.0
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert krippendorff_alpha([a, a, [0, 1, M, 1, M]]) == pytest.approx(1.0)


def test_chance_level_is_about_zero() -> None:
    # Every cell 25: p_o = 0.5 = p_e, kappa exactly 0.
    a, b = _pairs([[25, 25], [25, 25]])
    assert cohen_kappa(a, b) == pytest.approx(0.0)
    # Independent random labels: both measures near 0.
    rng = np.random.default_rng(7)
    data = rng.integers(0, 3, size=(3, 5000))
    assert abs(cohen_kappa(data[0], data[1])) < 0.03
    assert abs(krippendorff_alpha(data)) < 0.03


def test_systematic_disagreement_is_negative() -> None:
    assert cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert krippendorff_alpha([[0, 1, 0, 1], [1, 0, 1, 0]]) < 0


def test_undefined_cases_are_nan() -> None:
    # One category only: expected agreement 1, kappa 0/0; no expected disagreement for alpha.
    assert percent_agreement([2, 2, 2], [2, 2, 2]) == 1.0
    assert math.isnan(cohen_kappa([2, 2, 2], [2, 2, 2]))
    assert math.isnan(krippendorff_alpha([[2, 2, 2], [2, 2, M]]))
    # No item in common, or no item with two values.
    assert math.isnan(percent_agreement([0, M], [M, 1]))
    assert math.isnan(cohen_kappa([0, M], [M, 1]))
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(krippendorff_alpha([[0, M], [M, 1]]))
    assert math.isnan(krippendorff_alpha(np.empty((0, 0), dtype=np.int64)))


def test_large_sparse_codes_are_cheap() -> None:
    # Extraction values: nearly every item its own category, codes up to millions.
    a = np.arange(1000, dtype=np.int64) * 10_000
    b = a.copy()
    b[:100] += 1
    assert percent_agreement(a, b) == pytest.approx(0.9)
    assert cohen_kappa(a, b) == pytest.approx(0.9, abs=0.001)
    assert krippendorff_alpha(np.stack([a, b])) == pytest.approx(0.9, abs=0.001)


def test_input_is_checked() -> None:
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([0, 1], [0])
    with pytest.raises(ValueError, match="integer codes"):
        percent_agreement([0.5, 1.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha([0, 1, 2])
    with pytest.raises(ValueError, match="below -1"):
        cohen_kappa([0, -2], [0, 1])
