"""Model quality on the task's test split, and the time to train on 100,000 labeled records
(issue 13).

    python benchmarks/bench_model_quality.py [--quick] [--records N] [--datasets a,b]
        [--parts quality,training]

(a) Quality. Each data set becomes a project of one Workbench (SQLite in a temporary
folder): the clickbait sample (``create_sample``), then kern-ag-news (Title, Description),
wrench-sms and wrench-youtube from ``../shared/data`` (their train and valid splits are the
pool a person labels; the data set's own test split is never imported). The pool is labeled
in a fixed random order (seed 0) through the import's label column (``__<task>__MANUAL``, an
upsert of the key and the label): 100, then 500, then every record, in one project, as a
person's labels grow (the retrain trigger is off: the benchmark trains by itself). At each
step ``train_model(..., wait=True)`` trains ``auto``, ``tfidf-nb`` (Reyearn's) and
``tfidf-logreg``; the first of them draws (or grows) the task's test split among the labeled
records, and all three are scored on it (their test fingerprints are checked equal).

The peer, in the same run: a plain scikit-learn ``TfidfVectorizer()`` +
``LogisticRegression(max_iter=1000)``, fitted on the same training records (labeled, outside
``services.test_splits.test_ids``) and the same texts (``services.model_inputs.texts_of``),
scored on the same test records. Every figure is macro-F1 over the task's labels
(scikit-learn's ``f1_score``, ``zero_division=0``) of the argmax of the stored version as
``model_registry.load`` reads it back; each version's stored ``macro_f1`` is checked against
it. At 100 labels the test split holds about 20 records, and its salt is drawn per task, so
those figures move by tenths between runs: the same models are also scored on held-out
records the project never labeled, the data set's own test split (the sample: its records
not labeled yet).

(b) Training time: kern-ag-news's 20,000 records (train, val and test) repeated with
distinct keys up to 125,000 labeled records, so that the training split (80 %) holds about
100,000; ``train_model(algorithm="tfidf-logreg", wait=True)`` timed by the wall clock and by
the version's own ``training.seconds``. Then ``text_models.fit("tfidf-logreg", ...)`` alone
on exactly N of those texts, the peer's fit on the same texts, and ``text_models.fit`` on N
titles alone (headline-length texts).

The peer is fitted with one BLAS thread (see :func:`fit_peer`). ``--quick``: the sample at
100, 500 and all labels, wrench-youtube at 100 and 500, and training on 2,000 records.
Without ``../shared/data`` only the sample part runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size, skip_without

from assay import Settings, Workbench
from assay.algorithms import text_models
from assay.services import model_inputs, model_registry, projects, samples, tasks, test_splits
from assay.storage.models import Record

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ALGORITHMS = ("auto", "tfidf-nb", "tfidf-logreg")
SIZES = (100, 500, None)
TEXTS = {
    "title+description": ["Title", "Description"],
    "title": ["Title"],
}  # None: every record of the pool
TASK = "label"
SEED = 0


@dataclass
class Dataset:
    """A labeled text data set: the pool a person labels and a held-out part."""

    name: str
    columns: list[str]  # the text columns, in order
    pool: list[dict[str, str]]
    pool_gold: list[str]
    held: list[dict[str, str]] = field(default_factory=list)
    held_gold: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.pool_gold))


# -- the data sets ------------------------------------------------------------------------------


def ag_news() -> Dataset:
    def rows(split: str) -> list[dict[str, Any]]:
        path = DATA / "kern-ag-news" / f"labeled_data_{split}.json"
        return list(json.loads(path.read_text(encoding="utf-8")))

    pool = rows("train") + rows("val")
    test = rows("test")
    columns = ["Title", "Description"]
    return Dataset(
        "kern-ag-news",
        columns,
        [{c: r[c] for c in columns} for r in pool],
        [r["label"] for r in pool],
        [{c: r[c] for c in columns} for r in test],
        [r["label"] for r in test],
    )


def wrench(name: str) -> Dataset:
    folder = DATA / name
    names = json.loads((folder / "label.json").read_text(encoding="utf-8"))

    def rows(split: str) -> list[dict[str, Any]]:
        return list(json.loads((folder / f"{split}.json").read_text(encoding="utf-8")).values())

    pool = rows("train") + rows("valid")
    test = rows("test")
    return Dataset(
        name,
        ["text"],
        [{"text": r["data"]["text"]} for r in pool],
        [names[str(r["label"])] for r in pool],
        [{"text": r["data"]["text"]} for r in test],
        [names[str(r["label"])] for r in test],
    )


SHARED: dict[str, Callable[[], Dataset]] = {
    "kern-ag-news": ag_news,
    "wrench-sms": partial(wrench, "wrench-sms"),
    "wrench-youtube": partial(wrench, "wrench-youtube"),
}


# -- the peer and the score ---------------------------------------------------------------------


def peer() -> Any:
    """TF-IDF + logistic regression as anyone would write it with scikit-learn."""
    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))


def fit_peer(texts: list[str], gold: list[str]) -> tuple[Any, float]:
    """The peer fitted, and its seconds, with one BLAS thread: with OpenBLAS's default two
    threads on the shared 2-core machine, lbfgs took 10-15x longer (16.5 s against 1.2 s on
    2,000 kern-ag-news texts at load average 9)."""
    start = time.perf_counter()
    with threadpool_limits(1):
        model = peer().fit(texts, gold)
    return model, time.perf_counter() - start


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: list[str]) -> float:
    if not gold:
        return float("nan")
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


# -- (a) quality --------------------------------------------------------------------------------


@dataclass
class Project:
    """A data set in a Workbench project: its task and every record's id and gold label."""

    name: str
    task: str
    labels: list[str]
    key_column: str
    keys: list[int]  # the pool's primary-key values, in the pool's order
    ids: list[int]  # their record ids
    gold: list[str]
    held_texts: list[str]
    held_gold: list[str]


def load_sample(wb: Workbench) -> tuple[Project, list[str]]:
    """The clickbait sample as shipped; its gold answers are the labels a person gives. Also
    its headlines in the pool's order (the held-out records are those not labeled yet)."""
    wb.create_sample("clickbait")
    gold = {g["running_id"]: g["clickbait"] for g in samples.gold("clickbait")}
    headline = {r["running_id"]: r["headline"] for r in samples.data("clickbait")}
    ids = record_ids(wb, "clickbait")
    keys = sorted(gold)
    project = Project(
        "clickbait",
        "clickbait",
        ["yes", "no"],
        "running_id",
        keys,
        [ids[json.dumps([k])] for k in keys],
        [gold[k] for k in keys],
        [],
        [],
    )
    return project, [headline[k] for k in keys]


def load_shared(wb: Workbench, data: Dataset) -> Project:
    frame = pd.DataFrame(data.pool)
    frame.insert(0, "rid", range(len(frame)))
    wb.import_dataframe(frame, data.name, primary_key=["rid"])
    wb.add_task(data.name, TASK, "classification", labels=data.labels)
    ids = record_ids(wb, data.name)
    held = ["\n".join(row[c] for c in data.columns) for row in data.held]
    return Project(
        data.name,
        TASK,
        data.labels,
        "rid",
        list(range(len(data.pool))),
        [ids[json.dumps([i])] for i in range(len(data.pool))],
        data.pool_gold,
        held,
        data.held_gold,
    )


def record_ids(wb: Workbench, project: str) -> dict[str, int]:
    """Record id by canonical key."""
    with wb.db.session() as s:
        p = projects.get(s, project)
        rows = s.query(Record.key, Record.id).filter(Record.project_id == p.id).all()
        return {str(key): int(rid) for key, rid in rows}


def label(wb: Workbench, project: Project, order: np.ndarray, start: int, stop: int) -> None:
    """Give the records at ``order[start:stop]`` their gold label through the import's label
    column (an upsert of the key and the label)."""
    chosen = order[start:stop]
    frame = pd.DataFrame(
        {
            project.key_column: [project.keys[i] for i in chosen],
            f"__{project.task}__MANUAL": [project.gold[i] for i in chosen],
        }
    )
    wb.import_dataframe(frame, project.name, primary_key=[project.key_column])


def split_texts(
    wb: Workbench, project: Project, labeled: np.ndarray
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Texts and gold of the training records (labeled, outside the test split) and of the
    test split, as the product's model reads them."""
    gold = {project.ids[i]: project.gold[i] for i in labeled}
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project.name), project.task)
        test = sorted(int(i) for i in test_splits.test_ids(s, task.id))
        train = sorted(set(gold) - set(test))
        train_texts = model_inputs.texts_of(s, task, train)
        test_texts = model_inputs.texts_of(s, task, test)
    return train_texts, [gold[i] for i in train], test_texts, [gold[i] for i in test]


def version_predictions(
    wb: Workbench, project: Project, version: int, texts: list[list[str]]
) -> list[list[str]]:
    """The stored version's argmax label for each list of texts, as serving loads it."""
    with wb.db.session() as s:
        task = tasks.get(s, projects.get(s, project.name), project.task)
        classifier = model_registry.load(s, model_registry.get(s, task, version))
        out = []
        for batch in texts:
            proba = (
                model_inputs.probabilities(s, classifier, batch, data_dir=wb.settings.data_dir)
                if batch
                else np.zeros((0, len(classifier.labels)))
            )
            out.append([classifier.labels[j] for j in np.argmax(proba, axis=1)])
    return out


def train(wb: Workbench, project: Project, algorithm: str) -> dict[str, Any]:
    start = time.perf_counter()
    job = wb.train_model(project.name, project.task, algorithm=algorithm, wait=True)
    wall = time.perf_counter() - start
    if job["status"] != "done":
        raise SystemExit(f"training {algorithm} on {project.name} failed: {job['error']}")
    version = int(job["result"]["version"])
    doc = dict(wb.get_model(project.name, project.task, version))
    doc["wall"] = wall
    return doc


def quality_step(
    wb: Workbench, project: Project, order: np.ndarray, n: int, held: tuple[list[str], list[str]]
) -> dict[str, Any]:
    """Train every algorithm on the first ``n`` labels (the first training draws or grows the
    test split), then score each version and the peer on the same split."""
    docs = {algorithm: train(wb, project, algorithm) for algorithm in ALGORITHMS}
    if len({doc["test"]["fingerprint"] for doc in docs.values()}) != 1:
        raise SystemExit(f"{project.name}: the versions were scored on different test splits")
    train_texts, train_gold, test_texts, test_gold = split_texts(wb, project, order[:n])
    held_texts, held_gold = held
    row: dict[str, Any] = {
        "labels": n,
        "train": len(train_texts),
        "test": len(test_texts),
        "held": len(held_texts),
        "picked": docs["auto"]["algorithm"],
        "cross_validation": docs["auto"]["training"]["cross_validation"],
        "test_f1": {},
        "held_f1": {},
        "seconds": {},
    }
    for algorithm, doc in docs.items():
        if doc["training"]["records"] != len(train_texts):
            print(
                f"  note: {algorithm} trained on {doc['training']['records']} records, "
                f"the split leaves {len(train_texts)}"
            )
        on_test, on_held = version_predictions(
            wb, project, doc["version"], [test_texts, held_texts]
        )
        row["test_f1"][algorithm] = macro_f1(test_gold, on_test, project.labels)
        row["held_f1"][algorithm] = macro_f1(held_gold, on_held, project.labels)
        row["seconds"][algorithm] = doc["training"]["seconds"]
        stored = doc["metrics"]["macro_f1"]
        if abs(stored - row["test_f1"][algorithm]) > 1e-6:
            print(
                f"  note: {algorithm} v{doc['version']} stores macro_f1 {stored:.4f}, "
                f"recomputed {row['test_f1'][algorithm]:.4f}"
            )
    model, row["seconds"]["sklearn"] = fit_peer(train_texts, train_gold)
    row["test_f1"]["sklearn"] = macro_f1(test_gold, list(model.predict(test_texts)), project.labels)
    held_predicted = list(model.predict(held_texts)) if held_texts else []
    row["held_f1"]["sklearn"] = macro_f1(held_gold, held_predicted, project.labels)
    return row


def quiet_retraining(wb: Workbench, project: Project) -> None:
    """No training queued by the label count: the benchmark trains by itself."""
    wb.update_model_settings(project.name, project.task, retrain_after=0)


def quality(
    wb: Workbench, project: Project, sizes: Sequence[int | None], sample_texts: list[str]
) -> list[dict[str, Any]]:
    quiet_retraining(wb, project)
    order = np.random.default_rng(SEED).permutation(len(project.ids))
    rows = []
    done = 0
    for wanted in sizes:
        n = len(order) if wanted is None else min(wanted, len(order))
        label(wb, project, order, done, n)
        done = n
        if sample_texts:  # the sample: held-out are the records not labeled yet
            rest = order[n:]
            held = ([sample_texts[i] for i in rest], [project.gold[i] for i in rest])
        else:
            held = (project.held_texts, project.held_gold)
        rows.append(quality_step(wb, project, order, n, held))
        print_row(project.name, rows[-1])
    return rows


HEADER = (
    "| data | labels | train / test | auto (picked) | tfidf-nb | tfidf-logreg | "
    "sklearn TF-IDF + LR | auto - sklearn | held-out n | auto | tfidf-nb | tfidf-logreg | "
    "sklearn | seconds auto / nb / logreg / sklearn |"
)


def cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def print_row(name: str, row: dict[str, Any]) -> None:
    t, h, s = row["test_f1"], row["held_f1"], row["seconds"]
    print(
        f"| {name} | {row['labels']:,} | {row['train']:,} / {row['test']:,} "
        f"| {cell(t['auto'])} ({row['picked']}) | {cell(t['tfidf-nb'])} "
        f"| {cell(t['tfidf-logreg'])} | {cell(t['sklearn'])} | {t['auto'] - t['sklearn']:+.3f} "
        f"| {row['held']:,} | {cell(h['auto'])} | {cell(h['tfidf-nb'])} "
        f"| {cell(h['tfidf-logreg'])} | {cell(h['sklearn'])} "
        f"| {s['auto']:.1f} / {s['tfidf-nb']:.1f} / {s['tfidf-logreg']:.1f} / "
        f"{s['sklearn']:.1f} |",
        flush=True,
    )


# -- (b) training time --------------------------------------------------------------------------


def clocked(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """``work()``, its wall-clock seconds and the CPU seconds of this process (every thread)
    meanwhile: on the shared machine the wall clock also counts the others' work."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def training_time(wb: Workbench, n: int, columns: list[str]) -> dict[str, Any]:
    """Train ``tfidf-logreg`` through the product with about ``n`` training records (the test
    split takes its share of the labeled ones) of these kern-ag-news ``columns``, then the
    algorithm alone and the peer on exactly ``n`` texts. The records come labeled in one
    import (no model exists yet, so the retrain trigger stays quiet)."""
    data = ag_news()
    base = [{c: row[c] for c in columns} for row in data.pool + data.held]
    base_gold = data.pool_gold + data.held_gold
    labeled = math.ceil(n / 0.8)
    frame = pd.DataFrame([base[i % len(base)] for i in range(labeled)], columns=columns)
    gold = [base_gold[i % len(base)] for i in range(labeled)]
    frame.insert(0, "rid", range(labeled))
    frame[f"__{TASK}__MANUAL"] = gold
    project = "training-time"
    _, seconds, _ = clocked(lambda: wb.import_dataframe(frame, project, primary_key=["rid"]))
    print(
        f"(b) {labeled:,} labeled records (kern-ag-news's {len(base):,} repeated, distinct keys) "
        f"imported in {seconds:.1f} s; load average {load()}",
        flush=True,
    )
    job, wall, cpu = clocked(
        lambda: wb.train_model(project, TASK, algorithm="tfidf-logreg", wait=True)
    )
    if job["status"] != "done":
        raise SystemExit(f"training failed: {job['error']}")
    doc = wb.get_model(project, TASK, int(job["result"]["version"]))
    result: dict[str, Any] = {
        "labeled": labeled,
        "train_records": doc["training"]["records"],
        "test_records": doc["metrics"]["test_records"],
        "job": (wall, cpu),
        "training_seconds": doc["training"]["seconds"],
        "macro_f1": doc["metrics"]["macro_f1"],
        "fit_records": n,
    }
    texts = ["\n".join(row[c] for c in columns) for row in frame.head(n).to_dict("records")]
    titles = [row["Title"] for row in frame.head(n).to_dict("records")]  # headline length
    labels = sorted(set(gold))
    y = np.array([labels.index(g) for g in gold[:n]])
    for name, inputs in (("fit", texts), ("fit_titles", titles)):
        fit = partial(text_models.fit, "tfidf-logreg", inputs, y, labels=labels, multi_label=False)
        _, wall, cpu = clocked(fit)
        result[name] = (wall, cpu)
        result[f"{name}_chars"] = sum(map(len, inputs)) / len(inputs)
    _, wall, cpu = clocked(lambda: fit_peer(texts, gold[:n]))
    result["sklearn"] = (wall, cpu)
    result["load_average"] = load()
    return result


def seconds(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.1f} s (CPU {pair[1]:.1f} s)"


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    p: argparse.ArgumentParser = parser(__doc__.splitlines()[0], 100_000, 2_000)
    p.add_argument("--datasets", default=None, help=f"shared data sets ({', '.join(SHARED)})")
    p.add_argument("--parts", default="quality,training", help="quality, training or both")
    p.add_argument(
        "--texts",
        choices=list(TEXTS),
        default="title+description",
        help="(b)'s kern-ag-news columns",
    )
    args = p.parse_args()
    parts = set(args.parts.split(","))
    if args.datasets is not None:
        chosen = [d for d in args.datasets.split(",") if d]
    else:
        chosen = ["wrench-youtube"] if args.quick else list(SHARED)
    started = time.perf_counter()
    print(f"load average at the start: {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        wb = Workbench(Settings(data_dir=Path(tmp) / "assay"))
        try:
            run(wb, args, parts, chosen)
        finally:
            wb.close()
    print(f"total {time.perf_counter() - started:.0f} s; load average at the end: {load()}")


def run(wb: Workbench, args: argparse.Namespace, parts: set[str], chosen: list[str]) -> None:
    if "quality" in parts:
        print("(a) test-split macro-F1 (held-out: records the project never labeled)")
        print(HEADER)
        print("|" + "---|" * HEADER.count(" | ") + "---|")
        project, texts = load_sample(wb)
        quality(wb, project, SIZES, texts)
    if chosen or "training" in parts:
        skip_without(DATA)
    if "quality" in parts:
        for name in chosen:
            data = SHARED[name]()
            shared_sizes = (100, 500) if args.quick else SIZES
            quality(wb, load_shared(wb, data), shared_sizes, [])
    if "training" in parts:
        r = training_time(wb, size(args), TEXTS[args.texts])
        print(
            f"(b) tfidf-logreg, {r['labeled']:,} labeled records: trained on "
            f"{r['train_records']:,} (test {r['test_records']:,}): the job "
            f"{seconds(r['job'])}, its training.seconds {r['training_seconds']:.1f} s "
            f"(macro-F1 {r['macro_f1']:.3f})\n"
            f"    text_models.fit alone on {r['fit_records']:,} texts ({args.texts}, "
            f"{r['fit_chars']:.0f} characters on average): {seconds(r['fit'])}; "
            f"sklearn TfidfVectorizer + LogisticRegression on the same: {seconds(r['sklearn'])}"
            f" (wall-clock ratio fit / sklearn {r['fit'][0] / r['sklearn'][0]:.2f}x)\n"
            f"    text_models.fit alone on {r['fit_records']:,} titles "
            f"({r['fit_titles_chars']:.0f} characters on average): {seconds(r['fit_titles'])}; "
            f"load average {r['load_average']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
