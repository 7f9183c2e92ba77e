"""Import N two-column headline records (tokens included) into SQLite.

Peer: pandas.read_csv + DataFrame.to_sql into a SQLite file, measured in the same run.
    python benchmarks/bench_import.py [--quick | --records N]
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
        wb = Workbench(Settings(data_dir=folder / "assay"))
        assay_s = timed(lambda: wb.import_file(source, "bench", primary_key=["rid"]))
        assert wb.get_project("bench")["records"] == n
        wb.close()

        def pandas_import() -> None:
            frame = pd.read_csv(source)
            with sqlite3.connect(folder / "pandas.db") as conn:
                frame.to_sql("records", conn, index=False, chunksize=50_000)

        pandas_s = timed(pandas_import)
    print(f"import {n:,} records (tokens included) into SQLite")
    print(f"  assay:                     {assay_s:7.2f} s  {n / assay_s:10,.0f} records/s")
    print(f"  pandas read_csv + to_sql:  {pandas_s:7.2f} s  {n / pandas_s:10,.0f} records/s")
    print(f"  ratio assay/pandas throughput: {pandas_s / assay_s:.2f}x")


if __name__ == "__main__":
    main()
