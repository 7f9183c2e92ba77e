"""Zero-shot votes by ``min_confidence``: the calibration of its default.

    python benchmarks/bench_zero_shot.py [--quick]

Each dataset's records are scored against its label names as a zero-shot heuristic scores
them (``algorithms.zero_shot``, all-MiniLM-L6-v2 vectors of the texts and of the label texts,
temperature 0.05); per threshold, the share of records it votes on (coverage) and the share of
those votes that are right (precision). Two-label tasks are the hard case: the softmax of two
cosines is at least 0.5 for one of them on every record, so a threshold of 0.5 votes on all.
The default (``zero_shot.default_min_confidence``: 40% of the way from chance 1/k to 1) is
marked.

- the clickbait sample (1,400 headlines; labels ``clickbait`` / ``not clickbait``, the names
  of the first-hour story after its rename);
- WRENCH YouTube spam and SMS spam, test splits (250 and 500; ``ham`` / ``spam``);
- kern-ag-news, test split (9,146; --quick: 1,000; 4 labels, names only).

Vectors are cached under ~/.cache/assay-bench/ (shared with bench_search.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import skip_without
from bench_active_learning import LABELS as AG_LABELS
from bench_active_learning import encode_labels, split
from bench_search import DATA, minilm_vectors

from assay.algorithms import zero_shot
from assay.services import samples

THRESHOLDS = (0.45, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9)


def clickbait() -> tuple[list[str], list[str], list[str]]:
    names = {"yes": "clickbait", "no": "not clickbait"}
    texts = [row["headline"] for row in samples.data()]
    gold = [names[row["clickbait"]] for row in samples.gold()]
    return texts, gold, ["clickbait", "not clickbait"]


def wrench(name: str) -> tuple[list[str], list[str], list[str]]:
    folder = DATA / name
    labels = {int(k): v.lower() for k, v in json.loads((folder / "label.json").read_text()).items()}
    rows = list(json.loads((folder / "test.json").read_text()).values())
    names = [labels[i] for i in sorted(labels)]
    return [r["data"]["text"] for r in rows], [labels[r["label"]] for r in rows], names


def ag_news(limit: int | None) -> tuple[list[str], list[str], list[str]]:
    texts, gold = split("test")
    return texts[:limit], [str(g) for g in gold[:limit]], AG_LABELS


def table(title: str, texts: list[str], gold: list[str], labels: list[str]) -> None:
    model = zero_shot.ZeroShotClassifier().fit(
        encode_labels([zero_shot.label_text(label) for label in labels])
    )
    best, confidence = zero_shot.best_labels(model.predict_proba(minilm_vectors(texts)))
    right = np.array(labels)[best] == np.array(gold)
    print(
        f"\n{title}: {len(texts):,} records, {len(labels)} labels, argmax accuracy "
        f"{right.mean():.3f}"
    )
    print("| min_confidence | coverage | precision of votes |")
    print("|---|---|---|")
    default = zero_shot.default_min_confidence(len(labels))
    for minimum in sorted({*THRESHOLDS, default}):
        if minimum < 1 / len(labels):
            continue  # below chance: the same as chance
        voted = confidence >= minimum
        precision = f"{right[voted].mean():.3f}" if voted.any() else "-"
        mark = " (default)" if minimum == default else ""
        print(f"| {minimum}{mark} | {voted.mean():.3f} | {precision} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 AG News test records")
    args = parser.parse_args()
    skip_without(DATA)
    table("clickbait sample", *clickbait())
    table("WRENCH YouTube spam (test)", *wrench("wrench-youtube"))
    table("WRENCH SMS spam (test)", *wrench("wrench-sms"))
    table("kern-ag-news (test)", *ag_news(1_000 if args.quick else None))


if __name__ == "__main__":
    main()
