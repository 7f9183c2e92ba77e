"""Labeling latency (set a label, read the next record) while an import of N records runs in
another process on the same SQLite database: p50/p95, and the same without the import.
With --upsert the import updates N records that exist (new headlines) and brings a manual
label for each; it also reports how long that import's final transaction held the lock.
    python benchmarks/bench_labeling.py [--quick | --records N] [--upsert]
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import headlines, parser, percentiles, size, write_csv
from sqlalchemy.exc import OperationalError

from assay import Settings, Workbench

try:  # older code (on PYTHONPATH) has no swap to time, or one not in these modules
    from assay.services.importing import staged, staging
except ImportError:
    staged = staging = None  # type: ignore[assignment]


def write_upsert(path: Path, n: int) -> Path:
    """Other headlines for the records 0..n-1 of :func:`write_csv`, each with a manual label."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rid", "headline", "__clickbait__MANUAL"])
        for i, text in enumerate(headlines(n, seed=1)):
            writer.writerow([i, text, "yes" if i % 2 else "no"])
    return path


def swap_seconds(wb: Workbench, source: Path, project: str) -> float:
    """The final (swap) transaction of a staged import, from its first statement to its
    commit (the staging project's removal starts right after the commit)."""
    started: list[float] = []
    ended: list[float] = []
    swap, discard = staging.Stage.swap, staged._discard

    def timed_swap(stage: staging.Stage, *args: Any) -> None:
        started.append(time.perf_counter())
        swap(stage, *args)

    def timed_discard(*args: Any, **kwargs: Any) -> None:
        ended.append(time.perf_counter())
        discard(*args, **kwargs)

    staging.Stage.swap = timed_swap  # type: ignore[method-assign,assignment]
    staged._discard = timed_discard
    try:
        wb.import_file(source, project)
    finally:
        staging.Stage.swap = swap  # type: ignore[method-assign]
        staged._discard = discard
    return ended[0] - started[0] if started else float("nan")


def label_loop(
    wb: Workbench, seconds: float | None, until: subprocess.Popen[bytes] | None
) -> list[float]:
    samples = []
    rid = 0
    deadline = time.monotonic() + (seconds or 1e9)
    while time.monotonic() < deadline and (until is None or until.poll() is None):
        start = time.perf_counter()
        try:
            wb.annotate(
                "story", f"running_id={rid % 1400}", "clickbait", "yes" if rid % 2 else "no", "ann"
            )
        except OperationalError:  # waited out the busy timeout (30 s): counted, as slow
            print("  a label failed: the database stayed locked for the whole busy timeout")
        wb.get_record("story", f"running_id={(rid + 1) % 1400}")
        samples.append(time.perf_counter() - start)
        rid += 1
    return samples


def main() -> None:
    arguments = parser(__doc__ or "", full=1_000_000, quick=20_000)
    arguments.add_argument("--upsert", action="store_true", help="update N records, with labels")
    args = arguments.parse_args()
    n = size(args)
    swap = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_csv(folder / "headlines.csv", n)
        settings = Settings(data_dir=folder / "assay")
        wb = Workbench(settings)
        wb.create_sample("clickbait", "initial", "story")
        if args.upsert:
            wb.import_file(source, "bulk", primary_key=["rid"])
            wb.import_file(source, "again", primary_key=["rid"])
            source = write_upsert(folder / "upsert.csv", n)
            if staging is not None:
                swap = swap_seconds(wb, source, "again")
        idle = label_loop(wb, 3.0, None)
        env = {**os.environ, "ASSAY_DATA_DIR": str(settings.data_dir)}
        started = time.perf_counter()
        importer = subprocess.Popen(
            [sys.executable, "-m", "assay", "import", str(source), "-p", "bulk"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        busy = label_loop(wb, None, importer)
        importer.wait()
        elapsed = time.perf_counter() - started
        wb.close()
    i50, i95 = percentiles(idle)
    b50, b95 = percentiles(busy)
    what = "upsert (new text and a label) of" if args.upsert else "import of"
    print(
        f"labeling latency (label + read next), SQLite; "
        f"{what} {n:,} records took {elapsed:.1f} s ({n / elapsed:,.0f} records/s)"
    )
    print(
        f"  idle:          p50 {i50 * 1000:6.1f} ms  p95 {i95 * 1000:6.1f} ms"
        f"  ({len(idle)} samples)"
    )
    print(
        f"  during import: p50 {b50 * 1000:6.1f} ms  p95 {b95 * 1000:6.1f} ms"
        f"  ({len(busy)} samples)"
    )
    print(f"  slowest during import: {max(busy) * 1000:.0f} ms")
    if swap is not None:
        print(f"  the upsert's final (swap) transaction, alone: {swap * 1000:.0f} ms")


if __name__ == "__main__":
    main()
