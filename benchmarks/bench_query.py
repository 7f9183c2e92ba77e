"""Record query on N records: a `contains` filter matching about 1% + order by an attribute +
a page of 50 + the exact total; and the same for a page deep in the result (keyset cursor).
p50/p95 on SQLite and on PostgreSQL (when reachable). Peer: the same filter/sort/slice in
pandas on an in-memory DataFrame, measured in the same run.
    python benchmarks/bench_query.py [--quick | --records N] [--postgres URL]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RARE, parser, percentiles, size, write_csv

from assay import Settings, Workbench

WHERE = {"attribute": "headline", "op": "contains", "value": RARE}
REPEATS = 15


def measure(wb: Workbench) -> tuple[tuple[float, float], tuple[float, float], int]:
    first, deep = [], []
    total = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        page = wb.query("bench", WHERE, order_by="headline", limit=50, with_labels=False)
        first.append(time.perf_counter() - start)
        total = page["total"]
    # a cursor deep in the result: walk there once, then time the deep page
    cursor = None
    for _ in range(max(1, total // 50 // 2)):
        cursor = wb.query(
            "bench", WHERE, order_by="headline", limit=50, cursor=cursor, with_labels=False
        )["next_cursor"]
    for _ in range(REPEATS):
        start = time.perf_counter()
        wb.query("bench", WHERE, order_by="headline", limit=50, cursor=cursor, with_labels=False)
        deep.append(time.perf_counter() - start)
    return percentiles(first), percentiles(deep), total


def main() -> None:
    p = parser(__doc__ or "", full=1_000_000, quick=20_000)
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "ASSAY_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432"
        ),
    )
    args = p.parse_args()
    n = size(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_csv(folder / "headlines.csv", n)
        targets = [("sqlite", Settings(data_dir=folder / "assay"))]
        admin = None
        db_name = f"assay_bench_{os.getpid()}"
        try:
            admin = create_engine(f"{args.postgres}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
            targets.append(
                (
                    "postgresql",
                    Settings(data_dir=folder / "pg", database_url=f"{args.postgres}/{db_name}"),
                )
            )
        except Exception as exc:  # noqa: BLE001 -- no server: report and go on with SQLite
            print(f"PostgreSQL skipped: {type(exc).__name__}")
        print(f"query on {n:,} records: contains {RARE!r} (~1%), order by headline, 50 per page")
        try:
            for name, settings in targets:
                wb = Workbench(settings)
                wb.import_file(source, "bench", primary_key=["rid"])
                (f50, f95), (d50, d95), total = measure(wb)
                wb.close()
                print(f"  {name:10s} first page p50 {f50 * 1000:7.1f} ms  p95 {f95 * 1000:7.1f} ms"
                      f" | deep page p50 {d50 * 1000:7.1f} ms  p95 {d95 * 1000:7.1f} ms"
                      f" | total {total:,}")  # fmt: skip
        finally:
            if admin is not None and len(targets) > 1:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        frame = pd.read_csv(source)
        samples = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            hits = frame[frame["headline"].str.casefold().str.contains(RARE, regex=False)]
            hits.sort_values(["headline", "rid"]).head(50)
            samples.append(time.perf_counter() - start)
        p50, p95 = percentiles(samples)
        print(
            f"  pandas     first page p50 {p50 * 1000:7.1f} ms"
            f"  p95 {p95 * 1000:7.1f} ms (in memory)"
        )


if __name__ == "__main__":
    main()
