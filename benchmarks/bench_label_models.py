"""Label models: quality on four WRENCH datasets, speed on a synthetic label matrix.

Peers: Snorkel's LabelModel and MajorityLabelVoter (snorkel 0.10, the `bench` extra),
measured in the same run.
    python benchmarks/bench_label_models.py [--quick | --records N] [--seeds N]

(a) Quality, on youtube, sms, semeval and chemprot from ../shared/data (WRENCH format):
every model is fit on the train split's votes (chemprot has no train split: valid) and
scored on test, accuracy (sms: F1 of spam). One protocol for all: predict_proba, then ties
broken at random (assay's break_ties, the classes within 1e-6 of the row's best), averaged
over the seeds; Snorkel's LabelModel is fit once per seed (its start is random). The
weighted vote's precisions come from the valid split's gold labels, which play the manual
labels. A second table scores the valid split, where the default model is chosen (the
weighted vote there is cross-fitted: precisions from one half of valid, scored on the other).
(b) Speed, on a synthetic N x 50 label matrix (30% of the votes filled, 2 and 5 classes,
N = 1,000,000; --quick: 20,000): fit + predict of every row, assay's models in one process
and Snorkel's in another, each with its peak memory above what the process held before
(the high-water mark of resident memory, reset per model). Snorkel's LabelModel runs with
its default fit (100 epochs) and predict_proba, ties broken by the same rule.

--quick (CI) also uses 5 seeds and fits Snorkel's LabelModel once per dataset.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size

from assay.algorithms.label_models import DEFAULT_MODEL, MODELS, LabelModel, break_ties, make_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = {"youtube": "train", "sms": "train", "semeval": "train", "chemprot": "valid"}
# Our columns: the registry's models, plus Dawid-Skene with abstain as one more answer.
OURS: dict[str, Callable[[int], LabelModel]] = {
    **{name: lambda k, name=name: make_model(name, cardinality=k) for name in MODELS},
    "ds-category": lambda k: make_model("dawid-skene", cardinality=k, abstain="category"),
}
PEERS = ["snorkel-MV", "snorkel-LM"]
SNORKEL = "snorkel LabelModel"
SOURCES = 50


# -- (a) quality -----------------------------------------------------------------------------


def load(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    rows = json.loads((DATA / f"wrench-{name}" / f"{split}.json").read_text()).values()
    L = np.array([row["weak_labels"] for row in rows], dtype=np.int64)
    y = np.array([row["label"] for row in rows], dtype=np.int64)
    return L, y


def metric(name: str, y: np.ndarray, predicted: np.ndarray) -> float:
    if name == "sms":  # WRENCH scores sms by the F1 of spam (class 1)
        tp = np.sum((predicted == 1) & (y == 1))
        wrong = np.sum((predicted == 1) != (y == 1))
        return float(2 * tp / max(2 * tp + wrong, 1))
    return float(np.mean(predicted == y))


def protocol(name: str, y: np.ndarray, proba: Callable[[int], np.ndarray], seeds: int) -> float:
    """Mean score over the seeds: each seed's probabilities, ties broken at random with it."""
    scores = [metric(name, y, break_ties(proba(s), "random", s)) for s in range(seeds)]
    return 100 * float(np.mean(scores))


def fixed(proba: np.ndarray) -> Callable[[int], np.ndarray]:
    return lambda _seed: proba


def cross_fitted_weighted(L: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """The weighted vote's valid probabilities, each half scored with the other's precisions."""
    half = np.random.default_rng(0).permutation(len(y)) < len(y) // 2
    proba = np.empty((len(y), k))
    for scored in (half, ~half):
        model = make_model("weighted", cardinality=k).fit(L[~scored], y[~scored])
        proba[scored] = model.predict_proba(L[scored])
    return proba


def score_dataset(name: str, seeds: int, quick: bool) -> dict[tuple[str, str], float]:
    """Scores of every column on the test and valid splits, keyed (split, column)."""
    import torch
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel
    from snorkel.labeling.model import MajorityLabelVoter

    # One thread: on this 2-core machine Snorkel's fits then take half the time, and give
    # the same probabilities (the speed part keeps torch's default).
    torch.set_num_threads(1)

    k = len(json.loads((DATA / f"wrench-{name}" / "label.json").read_text()))
    fit_L, _ = load(name, DATASETS[name])
    splits = {"test": load(name, "test"), "valid": load(name, "valid")}
    L_valid, y_valid = splits["valid"]
    probas: dict[tuple[str, str], Callable[[int], np.ndarray]] = {}
    for column, build in OURS.items():
        model = build(k)
        if column == "weighted":  # valid's gold labels play the manual labels
            model.fit(L_valid, y_valid)
            probas["valid", column] = fixed(cross_fitted_weighted(L_valid, y_valid, k))
            probas["test", column] = fixed(model.predict_proba(splits["test"][0]))
        else:
            model.fit(fit_L)
            for split, (L, _) in splits.items():
                probas[split, column] = fixed(model.predict_proba(L))
    voter = MajorityLabelVoter(cardinality=k)
    for split, (L, _) in splits.items():
        probas[split, PEERS[0]] = fixed(voter.predict_proba(L))
    # Snorkel's LabelModel starts from a random point: a fit per seed (--quick: one fit).
    fitted: dict[str, list[np.ndarray]] = {split: [] for split in splits}
    for seed in range(1 if quick else seeds):
        label_model = SnorkelLabelModel(cardinality=k, verbose=False)
        label_model.fit(fit_L, seed=seed, progress_bar=False)
        for split, (L, _) in splits.items():
            fitted[split].append(label_model.predict_proba(L))
    for split, per_seed in fitted.items():
        probas[split, PEERS[1]] = lambda s, per_seed=per_seed: per_seed[s % len(per_seed)]
    return {
        (split, column): protocol(name, splits[split][1], proba, seeds)
        for (split, column), proba in probas.items()
    }


def quality(seeds: int, quick: bool) -> None:
    if not DATA.is_dir():
        print(f"(a) quality: skipped, {DATA} is absent (the WRENCH files live in ../shared/data)")
        return
    started = time.perf_counter()
    scores = {name: score_dataset(name, seeds, quick) for name in DATASETS}
    test = {(name, c): scores[name]["test", c] for name in DATASETS for c in [*OURS, *PEERS]}
    valid = {(name, c): scores[name]["valid", c] for name in DATASETS for c in [*OURS, *PEERS]}
    columns = [*OURS, *PEERS]
    fit_note = "one fit" if quick else "a fit per seed"
    print(
        f"(a) label-model quality, WRENCH, fit on train (chemprot: valid); {seeds} seeds of "
        f"random tie-breaking; Snorkel LabelModel: {fit_note}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    for title, table in (("test", test), ("valid (where the default is chosen)", valid)):
        print(f"  {title}: accuracy, sms F1 (spam), in %")
        print("  " + f"{'dataset':10s}" + "".join(f"{c:>13s}" for c in columns))
        for name in DATASETS:
            print("  " + f"{name:10s}" + "".join(f"{table[name, c]:13.1f}" for c in columns))
        means = {c: float(np.mean([table[name, c] for name in DATASETS])) for c in columns}
        print("  " + f"{'mean':10s}" + "".join(f"{means[c]:13.1f}" for c in columns))
    chosen = max(MODELS, key=lambda c: np.mean([valid[name, c] for name in DATASETS]))
    print(f"  best registry model by mean on valid: {chosen}; DEFAULT_MODEL = {DEFAULT_MODEL}")
    ours = float(np.mean([test[name, DEFAULT_MODEL] for name in DATASETS]))
    snorkel_mean = float(np.mean([test[name, PEERS[1]] for name in DATASETS]))
    verdict = "meets" if ours >= snorkel_mean - 0.5 else "MISSES"
    print(
        f"  default ({DEFAULT_MODEL}) test mean {ours:.1f} vs Snorkel LabelModel {snorkel_mean:.1f}"
        f": {ours - snorkel_mean:+.1f} points ({verdict} the bar of -0.5)"
    )


# -- (b) speed -------------------------------------------------------------------------------


def synthetic(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n x 50 votes: each source votes on 30% of the rows, right with its own accuracy
    (0.55 to 0.95), otherwise for another class at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    accuracy = rng.uniform(0.55, 0.95, SOURCES)
    L = np.full((n, SOURCES), -1, dtype=np.int8)
    for j in range(SOURCES):
        right = rng.random(n) < accuracy[j]
        wrong = (y + rng.integers(1, k, n)) % k
        L[:, j] = np.where(rng.random(n) < 0.3, np.where(right, y, wrong), -1)
    return L, y


def _memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(peer: str, folder: Path, k: int) -> None:
    """Fit + predict on the saved matrix, model after model (assay's, or Snorkel's LabelModel):
    print a JSON line per model with its seconds, peak MB above the start and accuracy."""
    L = np.load(folder / "L.npy")
    y = np.load(folder / "y.npy")
    runs: dict[str, Callable[[], np.ndarray]] = {}
    if peer == "snorkel":
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        def snorkel() -> np.ndarray:
            model = SnorkelLabelModel(cardinality=k, verbose=False)
            model.fit(L, seed=0, progress_bar=False)
            return break_ties(model.predict_proba(L), "random", 0)

        runs[SNORKEL] = snorkel
    else:
        manual = np.full(len(y), -1)
        manual[:1000] = y[:1000]  # the weighted vote's precisions: 1,000 manual labels
        for name in MODELS:
            runs[name] = lambda name=name: (
                make_model(name, cardinality=k)
                .fit(L, manual)
                .predict(L, tie_break="random", random_state=0)
            )
    for name, run in runs.items():
        base = _memory_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark, VmHWM
        start = time.perf_counter()
        accuracy = float(np.mean(run() == y))
        seconds = time.perf_counter() - start
        peak = max(_memory_kb("VmHWM") - base, 0) / 1024
        print(
            json.dumps({"model": name, "seconds": seconds, "peak_mb": peak, "accuracy": accuracy})
        )


def speed(n: int) -> None:
    print(
        f"(b) label-model speed: fit + predict on a synthetic {n:,} x {SOURCES} matrix, 30% votes"
    )
    print(
        f"  {'classes':>7s} {'model':>20s} {'seconds':>8s} {'peak MB':>8s} {'accuracy':>8s}"
        f" {'Snorkel time / time':>20s} {'Snorkel MB / MB':>16s}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for k in (2, 5):
            L, y = synthetic(n, k)
            np.save(Path(tmp) / "L.npy", L)
            np.save(Path(tmp) / "y.npy", y)
            del L, y
            figures = {}
            for peer in ("assay", "snorkel"):
                command = [sys.executable, __file__, "--child", peer, "--folder", tmp]
                command += ["--classes", str(k)]
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                for line in out.strip().splitlines():
                    if line.startswith("{"):
                        row = json.loads(line)
                        figures[row.pop("model")] = row
            snorkel = figures[SNORKEL]
            for name, row in figures.items():
                print(
                    f"  {k:7d} {name:>20s} {row['seconds']:8.2f} {row['peak_mb']:8.0f}"
                    f" {row['accuracy']:8.4f} {snorkel['seconds'] / row['seconds']:19.1f}x"
                    f" {snorkel['peak_mb'] / max(row['peak_mb'], 1):15.1f}x"
                )


def main() -> None:
    p = parser(__doc__ or "", full=1_000_000, quick=20_000)
    p.add_argument("--seeds", type=int, default=None, help="tie-break seeds (default 50; quick 5)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    p.add_argument("--classes", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, Path(args.folder), args.classes)
        return
    seeds = args.seeds or (5 if args.quick else 50)
    quality(seeds, args.quick)
    speed(size(args))


if __name__ == "__main__":
    main()
