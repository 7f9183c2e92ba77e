"""The fixed test split: a stable hash, a stratified first draw, growth by the same rule."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from assay.algorithms.test_split import draw, grow, unit_hash


def test_unit_hash_is_sha256_of_salt_and_key():
    digest = hashlib.sha256(b"task-7\x00record-1").digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64
    assert unit_hash("task-7", "record-1") == pytest.approx(expected, abs=2**-53)
    assert unit_hash("task-7", "record-1") == unit_hash("task-7", "record-1")
    assert unit_hash("task-8", "record-1") != unit_hash("task-7", "record-1")
    values = [unit_hash("s", str(i)) for i in range(20_000)]
    assert min(values) >= 0 and max(values) < 1
    assert np.mean(values) == pytest.approx(0.5, abs=0.01)


def test_draw_gives_each_stratum_its_share():
    rng = np.random.default_rng(0)
    sizes = {"sports": 503, "money": 97, "tech": 11, "rare": 3, "pair": 2}
    strata = [label for label, size in sizes.items() for _ in range(size)]
    keys = [f"r{i}" for i in rng.permutation(len(strata))]
    mask = draw(keys, strata, fraction=0.2, salt="t1")
    taken = Counter(s for s, m in zip(strata, mask, strict=True) if m)
    for label, size in sizes.items():
        assert abs(taken[label] - 0.2 * size) <= 1, label
    assert taken["pair"] == 1 and taken["rare"] == 1


def test_draw_edge_strata():
    assert draw(["a"], ["x"], fraction=0.2, salt="s").tolist() == [False]
    assert draw(["a", "b"], ["x", "x"], fraction=0.01, salt="s").sum() == 1
    assert draw(["a", "b", "c"], ["x"] * 3, fraction=0.99, salt="s").sum() == 2
    assert draw(["a", "b"], ["x", "x"], fraction=0.0, salt="s").sum() == 0
    with pytest.raises(ValueError):
        draw(["a"], ["x", "y"], fraction=0.2, salt="s")
    with pytest.raises(ValueError):
        grow(["a"], fraction=1.5, salt="s")


def test_draw_does_not_depend_on_the_order_of_records():
    keys = [f"k{i}" for i in range(300)]
    strata = [i % 4 for i in range(300)]
    mask = dict(zip(keys, draw(keys, strata, fraction=0.25, salt="t"), strict=True))
    order = np.random.default_rng(1).permutation(300)
    shuffled = draw([keys[i] for i in order], [strata[i] for i in order], fraction=0.25, salt="t")
    assert dict(zip([keys[i] for i in order], shuffled, strict=True)) == mask
    assert draw(keys, strata, fraction=0.25, salt="other").tolist() != list(mask.values())


def test_grow_is_stable_and_independent_of_other_keys():
    keys = [f"new{i}" for i in range(5000)]
    mask = grow(keys, fraction=0.2, salt="t")
    assert mask.mean() == pytest.approx(0.2, abs=0.02)
    reverse = grow(keys[::-1], fraction=0.2, salt="t")[::-1]
    np.testing.assert_array_equal(mask, reverse)
    alone = [grow([k], fraction=0.2, salt="t")[0] for k in keys[:100]]
    assert alone == mask[:100].tolist()
    assert mask.tolist() == [unit_hash("t", k) < 0.2 for k in keys]


def test_draw_then_grow_never_overlaps_training():
    """The caller's rule: an assignment, once made, is kept; new records are grown."""
    first = [f"r{i}" for i in range(400)]
    strata = [i % 3 for i in range(400)]
    mask = draw(first, strata, fraction=0.2, salt="t").tolist()
    assignment = dict(zip(first, mask, strict=True))
    snapshot = dict(assignment)
    for batch in range(3):
        new = [f"b{batch}-{i}" for i in range(150)] + first[:10]  # old keys come back too
        fresh = [k for k in new if k not in assignment]
        assignment.update(zip(fresh, grow(fresh, fraction=0.2, salt="t").tolist(), strict=True))
    test = {k for k, t in assignment.items() if t}
    train = {k for k, t in assignment.items() if not t}
    assert not test & train and len(test | train) == 400 + 450
    assert all(assignment[k] == v for k, v in snapshot.items())
    assert len(test) / len(assignment) == pytest.approx(0.2, abs=0.04)
