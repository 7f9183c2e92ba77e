"""Weak supervision end to end: from the stored votes of 50 heuristics over N records to
stored weak-supervision labels.

    python benchmarks/bench_weak_supervision.py [--quick | --records N] [--database-url URL]

Set-up (not timed): a project of N records (N = 1,000,000; --quick: 20,000), a
classification task with two labels, 50 heuristics that exist as rows with a last run, and
their votes written straight into the annotation table by bulk inserts: each heuristic votes
on 30% of the records, right with a probability between 0.6 and 0.9. Timed:
``Workbench.weak_supervise(..., wait=True)`` for the default model and for majority, each
twice (the second replaces the first's labels); printed with the run's own split (read
votes, fit, predict, store). SQLite in a temporary folder unless --database-url names a
(fresh) database.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size

from assay.algorithms.label_models import DEFAULT_MODEL
from assay.config import Settings
from assay.services import heuristics as heuristic_service
from assay.storage import bulk
from assay.storage.models import Annotation, Heuristic, utcnow
from assay.workbench import Workbench

HEURISTICS = 50
COVERAGE = 0.3
PROJECT, TASK = "bench-ws", "kind"


def setup(wb: Workbench, n: int, folder: Path, seed: int = 0) -> np.ndarray:
    """The project, its heuristics and their votes; returns the true class of each record."""
    csv = folder / "records.csv"
    csv.write_text("rid\n" + "".join(f"{i}\n" for i in range(n)), encoding="utf-8")
    wb.import_file(csv, PROJECT, primary_key=["rid"])
    task = wb.add_task(PROJECT, TASK, "classification", labels=["a", "b"])
    label_ids = np.array([lb["id"] for lb in task["labels"]], dtype=np.int64)
    ids = [
        wb.add_heuristic(PROJECT, TASK, f"h{j:02d}", f"def h{j:02d}(record):\n    return None\n")[
            "id"
        ]
        for j in range(HEURISTICS)
    ]
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    now = utcnow()
    with wb.db.session() as s:
        record_ids = np.array(wb.query(PROJECT, limit=1)["records"][0]["id"]) + np.arange(n)
        created = bulk.bound_datetime(s, Annotation.__table__.c.created_at, now)
        columns = (
            "record_id",
            "task_id",
            "label_id",
            "source",
            "source_id",
            "annotator",
            "is_gold",
            "is_reference",
            "created_at",
        )
        for heuristic_id in ids:
            voted = np.flatnonzero(rng.random(n) < COVERAGE)
            right = rng.random(voted.size) < rng.uniform(0.6, 0.9)
            labels = np.where(right, truth[voted], 1 - truth[voted])
            k = voted.size
            bulk.insert_rows(
                s,
                "annotation",
                columns,
                zip(
                    record_ids[voted].tolist(),
                    [task["id"]] * k,
                    label_ids[labels].tolist(),
                    [heuristic_service.SOURCE] * k,
                    [str(heuristic_id)] * k,
                    [""] * k,
                    [False] * k,
                    [False] * k,
                    [created] * k,
                    strict=True,
                ),
            )
            s.execute(
                update(Heuristic)
                .where(Heuristic.id == heuristic_id)
                .values(
                    last_run={
                        "code_version": 1,
                        "records": n,
                        "votes": k,
                        "finished_at": now.isoformat(),
                    }
                )
            )
    return truth


def main() -> None:
    p = parser(__doc__ or "", full=1_000_000, quick=20_000)
    p.add_argument("--database-url", default=None, help="a fresh database (default: SQLite)")
    args = p.parse_args()
    n = size(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(data_dir=folder / "data", database_url=args.database_url)
        wb = Workbench(settings)
        try:
            start = time.perf_counter()
            setup(wb, n, folder)
            print(
                f"{wb.db.dialect}: {n:,} records x {HEURISTICS} heuristics, "
                f"{COVERAGE:.0%} coverage (set-up {time.perf_counter() - start:.0f} s, not timed)"
            )
            print(
                f"{'model':<12} {'run':>3} {'seconds':>8} {'read votes':>11} {'fit':>7}"
                f" {'predict':>8} {'store':>7} {'labeled':>10}"
            )
            for model in (DEFAULT_MODEL, "majority"):
                for attempt in (1, 2):
                    start = time.perf_counter()
                    job = wb.weak_supervise(PROJECT, TASK, model=model, wait=True)
                    seconds = time.perf_counter() - start
                    if job["status"] != "done":
                        raise SystemExit(f"{model}: {job['error']}")
                    split = job["result"]["seconds"]
                    print(
                        f"{model:<12} {attempt:>3} {seconds:8.2f} {split['read_votes']:11.2f}"
                        f" {split['fit']:7.2f} {split['predict']:8.2f} {split['store']:7.2f}"
                        f" {job['result']['labeled']:>10,}"
                    )
        finally:
            wb.close()


if __name__ == "__main__":
    main()
