"""Split and split report at a million records: assay's stratified split against scikit-learn's
``train_test_split(stratify=labels)``, with the report's MMD for both.

    python benchmarks/bench_split.py [--quick | --records N] [--random-splits R]

Data (synthetic, seeded): N records x 384 float32 L2-normalized vectors drawn around 50 cluster
centres of unequal sizes (a Zipf-like spread), 4 labels that depend on the cluster (each
cluster has its own label mix), and 1 % of the records in near-duplicate groups of 2 to 5.
k-means is not timed: the clusters are the generating ones (the service computes them).

Timed: ``splitting.split`` (train=0.8, validation=0.1, test=0.1, stratified on labels and
clusters, groups kept whole) and the report: label shares per set plus
``splitting.distances`` (squared MMD of each set against the pool, random Fourier features,
next to R random splits of the same sizes, R = 20). Target: report <= 60 s at 1,000,000.
Peer, same run: ``train_test_split`` twice (80/20, then the 20 halved), stratified on the
labels: its time, and its sets' MMD percentile from the same ``distances`` call (the share of
random sets whose MMD is larger: near 0 is a worse-than-random set, about 0.5 a random one,
near 1 one that represents the pool better than chance). --quick: 20,000 records.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size

from assay.algorithms.splitting import distances, set_sizes, split

SETS = "train=0.8,validation=0.1,test=0.1"
DIMENSIONS = 384
CLUSTERS = 50
LABELS = 4


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectors, label of each record, cluster of each record, near-duplicate group (-1 alone)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, CLUSTERS + 1) ** 0.8
    cluster = rng.choice(CLUSTERS, size=n, p=weights / weights.sum())
    centres = rng.normal(size=(CLUSTERS, DIMENSIONS)).astype(np.float32)
    matrix = np.empty((n, DIMENSIONS), dtype=np.float32)
    for start in range(0, n, 100_000):  # in pieces: the noise of a million rows at once is big
        stop = min(start + 100_000, n)
        block = centres[cluster[start:stop]] + 1.5 * rng.normal(
            size=(stop - start, DIMENSIONS)
        ).astype(np.float32)
        matrix[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    mixes = rng.dirichlet(np.full(LABELS, 0.5), size=CLUSTERS)
    cumulative = mixes.cumsum(axis=1)[cluster]
    label = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, LABELS - 1)
    groups = np.full(n, -1, dtype=np.int64)
    members = rng.choice(n, size=n // 100, replace=False)
    groups[members] = rng.integers(0, max(1, n // 300), size=len(members))
    return matrix, label, cluster, groups


def shares(label: np.ndarray, assignment: np.ndarray, sets: int) -> np.ndarray:
    """(sets + 1, labels) label shares: each set's, then the pool's."""
    counts = np.zeros((sets + 1, LABELS))
    np.add.at(counts, (assignment, label), 1)
    counts[sets] = np.bincount(label, minlength=LABELS)
    return counts / counts.sum(axis=1, keepdims=True)


def sklearn_split(label: np.ndarray, sizes: list[int], seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(label))
    train, rest = train_test_split(rows, train_size=sizes[0], stratify=label, random_state=seed)
    validation, test = train_test_split(
        rest, train_size=sizes[1], test_size=sizes[2], stratify=label[rest], random_state=seed
    )
    assignment = np.full(len(label), -1, dtype=np.int16)
    assignment[train], assignment[validation], assignment[test] = 0, 1, 2
    return assignment


def main() -> None:
    p = parser(__doc__.splitlines()[0], full=1_000_000, quick=20_000)
    p.add_argument("--random-splits", type=int, default=20, help="random splits in the report")
    args = p.parse_args()
    n = size(args)
    start = time.perf_counter()
    matrix, label, cluster, groups = data(n)
    print(
        f"{n:,} x {DIMENSIONS} vectors, {CLUSTERS} clusters, {LABELS} labels, "
        f"{(groups >= 0).sum():,} records in groups (made in {time.perf_counter() - start:.1f} s)"
    )
    named = set_sizes(SETS, n)
    sizes = list(named.values())
    indicator = np.eye(LABELS, dtype=bool)[label]

    start = time.perf_counter()
    ours = split(indicator, sizes, clusters=cluster, groups=groups, seed=0)
    split_seconds = time.perf_counter() - start
    start = time.perf_counter()
    our_shares = shares(label, ours, len(sizes))
    our_report = distances(matrix, ours, len(sizes), random_splits=args.random_splits, seed=0)
    report_seconds = time.perf_counter() - start

    start = time.perf_counter()
    theirs = sklearn_split(label, sizes, seed=0)
    peer_seconds = time.perf_counter() - start
    their_shares = shares(label, theirs, len(sizes))
    their_report = distances(matrix, theirs, len(sizes), random_splits=args.random_splits, seed=0)

    crossing = 0
    for assignment in (ours,):
        members = groups >= 0
        per_group = np.unique(np.stack([groups[members], assignment[members]]), axis=1)
        crossing = per_group.shape[1] - len(np.unique(groups[members]))
    print(
        f"\nsplit {SETS} of {n:,} records: {split_seconds:.2f} s (assay), "
        f"{peer_seconds:.2f} s (sklearn train_test_split x2, labels only)"
    )
    print(
        f"report (label shares + MMD with {args.random_splits} random splits): "
        f"{report_seconds:.1f} s (target <= 60 s at 1,000,000)"
    )
    print(f"groups split across sets: {crossing} (assay)")
    print(
        "\n| set | size (assay) | MMD assay | percentile assay | MMD sklearn | percentile sklearn"
        " | random median | random p95 | max label-share gap assay / sklearn |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for s, name in enumerate(named):
        a, b = our_report[s], their_report[s]
        gap_ours = np.abs(our_shares[s] - our_shares[-1]).max()
        gap_theirs = np.abs(their_shares[s] - their_shares[-1]).max()
        print(
            f"| {name} | {(ours == s).sum():,} of {sizes[s]:,} | {a['mmd']:.3g} | "
            f"{a['percentile']:.2f} | {b['mmd']:.3g} | {b['percentile']:.2f} | "
            f"{a['random_median']:.3g} | {a['random_p95']:.3g} | "
            f"{gap_ours:.4f} / {gap_theirs:.4f} |"
        )
    print("\n(percentile: share of random sets with a larger MMD)")


if __name__ == "__main__":
    main()
