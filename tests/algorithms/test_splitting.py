"""Splitting: set sizes from a spec, stratified seeded splits that keep groups whole, and the
MMD report against random splits."""

from __future__ import annotations

import numpy as np
import pytest

from assay.algorithms.splitting import distances, set_sizes, split


def test_set_sizes_fractions_round_by_largest_remainder():
    assert set_sizes("train=0.8,validation=0.1,test=0.1", 1000) == {
        "train": 800,
        "validation": 100,
        "test": 100,
    }
    sizes = set_sizes("a=0.333333333,b=0.333333333,c=0.333333334", 100)
    assert sum(sizes.values()) == 100 and sorted(sizes.values()) == [33, 33, 34]
    assert list(set_sizes({"test": 0.25, "train": 0.75}, 7)) == ["test", "train"]
    assert sum(set_sizes({"test": 0.25, "train": 0.75}, 7).values()) == 7


def test_set_sizes_counts_may_leave_records_over():
    assert set_sizes("train=50, test=20", 100) == {"train": 50, "test": 20}
    assert set_sizes({"train": 60, "test": 40}, 100) == {"train": 60, "test": 40}
    # A zero is neither a fraction nor a count, so it mixes with both.
    assert set_sizes("train=1.0,test=0", 10) == {"train": 10, "test": 0}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("train=0.8,test=20", ["mix", "train", "test"]),
        ("train=0.8,test=0.1", ["add up to 0.9"]),
        ("train=-0.2,test=1.2", ["train", "negative"]),
        ("train=0,test=0", ["add up to 0"]),
        ("train=0.5,train=0.5", ["train", "twice"]),
        ("=0.5,test=0.5", ["empty name"]),
        ("train=0.5,,test=0.5", ["empty piece"]),
        ("train=half,test=0.5", ["train", "half", "not a number"]),
        ("train", ["train", "no size"]),
        ("train=80,test=30", ["110", "100"]),
        ("", ["no sets"]),
        ({"train": "x"}, ["train", "not a number"]),
        ({"train": float("nan")}, ["train", "finite"]),
    ],
)
def test_set_sizes_refuses_what_does_not_add_up(spec, words):
    with pytest.raises(ValueError) as caught:
        set_sizes(spec, 100)
    for word in words:
        assert word in str(caught.value)


def _pool(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=n, p=[0.6, 0.25, 0.1, 0.05])
    return np.eye(4, dtype=bool)[y], rng.integers(0, 7, size=n)


def test_split_meets_sizes_and_keeps_label_and_cluster_shares():
    labels, clusters = _pool(5000)
    sizes = [4000, 500, 500]
    assignment = split(labels, sizes, clusters=clusters, seed=3)
    assert assignment.dtype == np.int16
    assert np.bincount(assignment, minlength=3).tolist() == sizes
    pool_labels = labels.mean(axis=0)
    pool_clusters = np.bincount(clusters, minlength=7) / len(clusters)
    for s, size in enumerate(sizes):
        inside = assignment == s
        # One unit per stratum at most away from its share.
        assert np.abs(labels[inside].mean(axis=0) - pool_labels).max() <= 2.5 * 7 / size
        shares = np.bincount(clusters[inside], minlength=7) / size
        assert np.abs(shares - pool_clusters).max() <= 2.5 * 4 / size


def test_split_is_better_stratified_than_chance():
    labels, clusters = _pool(2000, seed=1)
    rare = labels[:, 3]
    assignment = split(labels, [1800, 200], clusters=clusters, seed=0)
    expected = rare.sum() * 200 / 2000
    assert abs(rare[assignment == 1].sum() - expected) <= 1.0


def test_split_multi_label_shares():
    rng = np.random.default_rng(5)
    labels = rng.random((3000, 5)) < np.array([0.5, 0.3, 0.1, 0.05, 0.02])
    assignment = split(labels, [2100, 450, 450], seed=1)
    for s in range(3):
        share = labels[assignment == s].mean(axis=0)
        assert np.abs(share - labels.mean(axis=0)).max() < 0.02


def test_split_keeps_groups_whole_and_sizes_exact():
    labels, clusters = _pool(3000, seed=2)
    rng = np.random.default_rng(0)
    groups = np.full(3000, -1)
    members = rng.choice(3000, size=900, replace=False)
    groups[members] = rng.integers(0, 30, size=900)  # 30 groups of about 30 rows
    pool = labels.mean(axis=0)
    for seed in range(4):  # dealing alone misses the sizes for some seeds (by 11 for seed 2)
        assignment = split(labels, [2400, 300, 300], clusters=clusters, groups=groups, seed=seed)
        for group in range(30):
            assert len(np.unique(assignment[groups == group])) == 1
        # Enough rows alone to even the sizes out exactly.
        assert np.bincount(assignment, minlength=3).tolist() == [2400, 300, 300]
        for s in range(3):
            assert np.abs(labels[assignment == s].mean(axis=0) - pool).max() < 0.05


def test_split_sizes_stay_off_where_only_groups_are_left():
    labels = np.ones((10, 1), dtype=bool)
    groups = np.repeat([0, 1, 2], [4, 4, 2])
    assignment = split(labels, [5, 5], groups=groups, seed=0)
    for group in range(3):
        assert len(np.unique(assignment[groups == group])) == 1
    assert sorted(np.bincount(assignment, minlength=2).tolist()) in ([4, 6], [2, 8])


def test_split_is_seeded_and_leaves_the_rest_unassigned():
    labels, clusters = _pool(1000, seed=3)
    first = split(labels, [600, 200], clusters=clusters, seed=7)
    again = split(labels, [600, 200], clusters=clusters, seed=7)
    other = split(labels, [600, 200], clusters=clusters, seed=8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert (first == -1).sum() == 200
    assert np.bincount(first[first >= 0]).tolist() == [600, 200]


def test_split_refuses_sizes_above_the_rows():
    labels, _ = _pool(10)
    with pytest.raises(ValueError, match="do not fit"):
        split(labels, [8, 5])


def test_distances_flag_a_biased_split_and_not_a_random_one():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 3
    cluster = rng.integers(0, 4, size=4000)
    matrix = (centres[cluster] + rng.normal(size=(4000, 16))).astype(np.float32)
    biased = np.where(cluster == 0, 1, 0)
    report = distances(matrix, biased, 2, random_splits=20, features=256, seed=1)
    assert report[1]["mmd"] > 10 * report[1]["random_p95"]
    assert report[1]["percentile"] == 0.0
    fair = rng.permutation(np.repeat([0, 1], [3000, 1000]))
    report = distances(matrix, fair, 2, random_splits=20, features=256, seed=1)
    for row in report:
        assert 0.0 < row["percentile"] < 1.0
        assert row["mmd"] < 3 * row["random_p95"]
        assert set(row) == {"mmd", "random_median", "random_p95", "percentile"}


def test_distances_rows_outside_every_set_count_in_the_pool_only():
    rng = np.random.default_rng(2)
    matrix = rng.normal(size=(600, 8)).astype(np.float32)
    assignment = np.full(600, -1)
    assignment[:300] = 0
    report = distances(matrix, assignment, 2, random_splits=5, features=64)
    assert np.isfinite(report[0]["mmd"]) and np.isnan(report[1]["mmd"])
    again = distances(matrix, assignment, 2, random_splits=5, features=64)
    assert report[0] == again[0]


def test_distances_refuse_an_assignment_that_does_not_fit():
    matrix = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"-1\.\.1"):
        distances(matrix, np.array([0, 1, 2, 0]), 2)
    with pytest.raises(ValueError, match="4 rows"):
        distances(matrix, np.array([0, 1]), 2)


def test_fractions_a_hair_off_one_still_add_up_to_the_records() -> None:
    # Within the 1e-6 tolerance, but at this many records unnormalized shares would overshoot
    # (10,000,003) or fall short (99,999,903).
    for spec, total in (
        ("a=0.8000001,b=0.1,c=0.1", 10_000_000),
        ("a=0.799999,b=0.1,c=0.1", 100_000_000),
    ):
        assert sum(set_sizes(spec, total).values()) == total
