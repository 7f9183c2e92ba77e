"""Export N records with labels to JSON and to Parquet (records/s).

Peer: pandas reading the same rows from the SQLite file and writing to_json / to_parquet.
    python benchmarks/bench_export.py [--quick | --records N]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size, timed, write_csv

from assay import Settings, Workbench


def main() -> None:
    args = parser(__doc__ or "", full=1_000_000, quick=20_000).parse_args()
    n = size(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_csv(folder / "headlines.csv", n)
        settings = Settings(data_dir=folder / "assay")
        wb = Workbench(settings)
        wb.import_file(source, "bench", primary_key=["rid"])
        wb.add_task("bench", "kind", "classification", labels=["yes", "no"])
        for rid in range(0, min(n, 500)):
            wb.annotate("bench", f"rid={rid}", "kind", "yes" if rid % 3 else "no", "ann")
        print(f"export {n:,} records (a classification task, 500 labeled)")
        results = {}
        for fmt in ("json", "parquet"):
            seconds = timed(lambda fmt=fmt: wb.export("bench", fmt, folder / f"out.{fmt}"))
            results[fmt] = seconds
        wb.close()
        db = folder / "assay" / "assay.db"

        def pandas_export(fmt: str) -> None:
            with sqlite3.connect(db) as conn:
                frame = pd.read_sql("SELECT id, data FROM record ORDER BY id", conn)
            if fmt == "json":
                frame.to_json(folder / "pandas.json", orient="records")
            else:
                frame.to_parquet(folder / "pandas.parquet")

        for fmt, seconds in results.items():
            peer = timed(lambda fmt=fmt: pandas_export(fmt))
            print(f"  {fmt:8s} assay {n / seconds:10,.0f} records/s ({seconds:6.2f} s) | "
                  f"pandas read_sql + to_{fmt} {n / peer:10,.0f} records/s | "
                  f"ratio {peer / seconds:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
