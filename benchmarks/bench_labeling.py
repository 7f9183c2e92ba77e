"""Labeling latency (set a label, read the next record) while an import of N records runs in
another process on the same SQLite database: p50/p95, and the same without the import.
    python benchmarks/bench_labeling.py [--quick | --records N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, percentiles, size, write_csv

from assay import Settings, Workbench


def label_loop(
    wb: Workbench, seconds: float | None, until: subprocess.Popen[bytes] | None
) -> list[float]:
    samples = []
    rid = 0
    deadline = time.monotonic() + (seconds or 1e9)
    while time.monotonic() < deadline and (until is None or until.poll() is None):
        start = time.perf_counter()
        wb.annotate(
            "story", f"running_id={rid % 1400}", "clickbait", "yes" if rid % 2 else "no", "ann"
        )
        wb.get_record("story", f"running_id={(rid + 1) % 1400}")
        samples.append(time.perf_counter() - start)
        rid += 1
    return samples


def main() -> None:
    args = parser(__doc__ or "", full=1_000_000, quick=20_000).parse_args()
    n = size(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_csv(folder / "headlines.csv", n)
        settings = Settings(data_dir=folder / "assay")
        wb = Workbench(settings)
        wb.create_sample("clickbait", "initial", "story")
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
    print(
        f"labeling latency (label + read next), SQLite; "
        f"import of {n:,} records took {elapsed:.1f} s"
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


if __name__ == "__main__":
    main()
