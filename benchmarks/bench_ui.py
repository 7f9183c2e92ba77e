"""The web UI in headless Chromium against a real server over N records (SQLite):
time from navigation to the data browser's first page being visible, time from a label's
hotkey to the next record being shown in the labeling suite, and the JS bundle size.
    python benchmarks/bench_ui.py [--quick | --records N]

Needs Chromium (`command -v chromium`) and the built UI (scripts/build-ui). No peer: the
figures are compared with the issue's targets (first page <= 1 s, label and next <= 150 ms).
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import headlines, parser, percentiles, size, start_server, write_csv

from assay import Settings, Workbench
from assay.api.app import UI_DIR

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS.append("--disable-component-update")


def bundle_sizes() -> tuple[int, int]:
    scripts = list((UI_DIR / "assets").glob("*.js"))
    raw = sum(p.stat().st_size for p in scripts)
    return raw, sum(len(gzip.compress(p.read_bytes())) for p in scripts)


def main() -> None:
    args = parser(__doc__ or "", full=100_000, quick=5_000).parse_args()
    n = size(args)
    if shutil.which("chromium") is None or not (UI_DIR / "index.html").is_file():
        sys.exit("bench_ui: needs Chromium and the built UI (scripts/build-ui)")
    from playwright.sync_api import expect, sync_playwright

    texts = headlines(n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wb = Workbench(Settings(data_dir=folder / "assay"))
        wb.import_file(write_csv(folder / "h.csv", n), "bench", primary_key=["rid"])
        wb.add_task("bench", "topic", "classification", labels=["news", "other"])
        wb.close()
        server, url = start_server(folder / "assay")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=shutil.which("chromium"), args=ARGS
                )
                page = browser.new_page(base_url=url)
                page.goto("/")
                page.evaluate("localStorage.setItem('assay.annotator', 'bench')")
                first_page = []
                for _ in range(5 if args.quick else 10):
                    page.goto("about:blank")
                    start = time.perf_counter()
                    page.goto("/projects/bench/browser")
                    expect(page.get_by_text(texts[0], exact=True).first).to_be_visible()
                    first_page.append(time.perf_counter() - start)
                page.goto("/projects/bench/labeling?i=0")
                expect(page.get_by_text(texts[0], exact=True).first).to_be_visible()
                labeling = []
                for i in range(20 if args.quick else 60):
                    page.wait_for_timeout(150)  # a human pause: lets prefetching happen
                    start = time.perf_counter()
                    page.keyboard.press("1")
                    expect(page.get_by_text(texts[i + 1], exact=True).first).to_be_visible()
                    labeling.append(time.perf_counter() - start)
                browser.close()
        finally:
            server.terminate()
            server.wait()
        labeled = Workbench(Settings(data_dir=folder / "assay"))
        done = labeled.query("bench", {"task": "topic", "state": "labeled"})["total"]
        labeled.close()
    assert done == len(labeling), f"{done} labels stored for {len(labeling)} keypresses"
    raw, zipped = bundle_sizes()
    p50, p95 = percentiles(first_page)
    print(f"web UI over {n:,} records (SQLite, headless Chromium)")
    print(
        f"  data browser, navigation to first page visible: p50 {p50 * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  (target <= 1000 ms)"
    )
    p50, p95 = percentiles(labeling)
    print(
        f"  labeling, hotkey to next record shown:          p50 {p50 * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  (target <= 150 ms)"
    )
    print(f"  JS bundle: {raw / 1024:,.0f} KiB ({zipped / 1024:,.0f} KiB gzipped)")


if __name__ == "__main__":
    main()
