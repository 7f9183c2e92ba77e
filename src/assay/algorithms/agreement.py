"""Inter-annotator agreement: percent agreement, Cohen's kappa, Krippendorff's alpha (nominal).

Labels come in as integer codes, one nominal value each, with ``-1`` for "not labeled" (as an
abstain in a label matrix). What a value is, is the caller's choice; assay codes each
annotator's whole value of a record as one category, the way the reference-label rule
compares values: a label (classification), a set of labels (multi-label), a set of spans with
their labels and token bounds (extraction). Two values agree only when equal; partial overlap
counts as disagreement.

Undefined results are ``nan``, never a guess:

- no item in common (kappa, percent agreement) or no item with two values (alpha);
- Cohen's kappa when the expected agreement is 1: both annotators gave one and the same value
  to every item, so chance explains everything and ``(p_o - p_e) / (1 - p_e)`` is ``0 / 0``;
- Krippendorff's alpha when all pairable values are one category (no expected disagreement).

The public functions validate their input (the scikit-learn way: once, at the edge); the
private kernels assume clean arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MISSING = -1

Codes = npt.NDArray[np.int64]


def _check_codes(values: npt.ArrayLike, name: str, ndim: int) -> Codes:
    array = np.asarray(values)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, found {array.ndim}-D")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer codes (-1 = missing), found {array.dtype}")
    codes = array.astype(np.int64, copy=False)
    if codes.size and codes.min() < MISSING:
        raise ValueError(f"{name} holds a code below {MISSING}")
    return codes


def _check_pair(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[Codes, Codes]:
    first, second = _check_codes(a, "a", 1), _check_codes(b, "b", 1)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same length ({first.size} != {second.size})")
    both = (first != MISSING) & (second != MISSING)
    return first[both], second[both]


def percent_agreement(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Share of the items both annotators labeled (neither code is -1) on which they agree."""
    first, second = _check_pair(a, b)
    if first.size == 0:
        return float("nan")
    return float(np.mean(first == second))


def cohen_kappa(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cohen's kappa of two annotators over the items both labeled.

    ``kappa = (p_o - p_e) / (1 - p_e)``: ``p_o`` the observed agreement, ``p_e`` the agreement
    expected by chance from each annotator's own label frequencies.
    """
    first, second = _check_pair(a, b)
    return _kappa(first, second)


def _kappa(first: Codes, second: Codes) -> float:
    """Kappa of two aligned arrays without missing values."""
    n = first.size
    if n == 0:
        return float("nan")
    # Re-number the categories used here, so a large code space costs nothing.
    _, inverse = np.unique(np.concatenate([first, second]), return_inverse=True)
    k = int(inverse.max()) + 1
    p_first = np.bincount(inverse[:n], minlength=k) / n
    p_second = np.bincount(inverse[n:], minlength=k) / n
    observed = float(np.mean(first == second))
    expected = float(p_first @ p_second)
    if np.isclose(expected, 1.0):
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(reliability_data: npt.ArrayLike) -> float:
    """Krippendorff's alpha for nominal data, any number of annotators, missing values allowed.

    ``reliability_data`` is annotators x items, each cell a category code or -1. Items with
    fewer than two values cannot be paired and are left out. With ``n`` pairable values,
    ``o_cc`` the coincidences of a category with itself and ``n_c`` the values per category::

        alpha = 1 - (n - 1) * (n - sum_c o_cc) / (n**2 - sum_c n_c**2)
    """
    data = _check_codes(reliability_data, "reliability_data", 2)
    return _alpha_nominal(data)


def _alpha_nominal(data: Codes) -> float:
    labeled = data != MISSING
    _, item = np.nonzero(labeled)
    values = data[labeled]  # both in row-major order, so aligned
    if values.size == 0:
        return float("nan")
    # Count each (item, value) pair: sparse, so a code per distinct span set costs nothing.
    pairs, per_pair = np.unique(np.stack([item, values], axis=1), axis=0, return_counts=True)
    m = np.bincount(item)  # values per item
    pair_m = m[pairs[:, 0]]
    pairable = pair_m >= 2
    pairs, per_pair, pair_m = pairs[pairable], per_pair[pairable], pair_m[pairable]
    n = int(per_pair.sum())
    if n < 2:
        return float("nan")
    # o_cc summed over c: each item contributes n_uc (n_uc - 1) / (m_u - 1) per category.
    matches = float(np.sum(per_pair * (per_pair - 1) / (pair_m - 1)))
    _, category = np.unique(pairs[:, 1], return_inverse=True)
    n_c = np.bincount(category, weights=per_pair)
    expected = float(n * n - np.sum(n_c * n_c))
    if expected == 0.0:
        return float("nan")
    return 1.0 - (n - 1) * (n - matches) / expected
