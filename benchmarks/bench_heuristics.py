"""Apply 10 typical labeling functions (keyword, regex, lookup list) to N headlines.

assay: the functions stored as heuristics of a project on SQLite (or --database URL), run
with the sandbox on (``run_heuristics`` of all of them, waited for), timed from stored
records to stored votes (statistics included); then the same run again, served from the
result cache. Peer, in the same run: Snorkel's PandasLFApplier (snorkel 0.10, the `bench`
extra) running the same function bodies on the same texts, each given the same spaCy Doc
(``spacy.blank`` of the language, as assay builds them) through a memoized Snorkel
preprocessor.
    python benchmarks/bench_heuristics.py [--quick | --records N] [--database URL]

The headlines are the clickbait sample's 1,400, repeated with small variations (a prefix or
a suffix per copy), so every record is distinct. Needs root (the sandbox switches uids).
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size

from assay import Settings, Workbench
from assay.runtime.sandbox import Record
from assay.services import samples

LISTS = {
    "clickbait_phrases": ["you won't believe", "what happened next", "this is why", "will make"],
    "news_words": ["government", "minister", "council", "police", "president", "court"],
}
# The function bodies: `doc` is the headline's spaCy Doc; YES, NO and ABSTAIN are the labels
# (assay: "yes", "no", None; Snorkel: 1, 0, -1).
BODIES = {
    "starts_with_digit": "if doc[0].text.isdigit():\n    return YES\nreturn ABSTAIN",
    "says_you": (
        "if any(t.lower_ in ('you', 'your') for t in doc):\n    return YES\nreturn ABSTAIN"
    ),
    "question": "if doc.text.rstrip().endswith('?'):\n    return YES\nreturn ABSTAIN",
    "listicle": (
        "if re.match(r'\\d+ (things|ways|reasons|times|people)', doc.text, re.I):\n"
        "    return YES\nreturn ABSTAIN"
    ),
    "shouting": (
        "if re.search(r'!|\\bwow\\b|\\bomg\\b', doc.text, re.I):\n    return YES\nreturn ABSTAIN"
    ),
    "phrases": (
        "text = doc.text.lower()\n"
        "if any(p in text for p in clickbait_phrases):\n    return YES\nreturn ABSTAIN"
    ),
    "newsy": (
        "words = {t.lower_ for t in doc}\n"
        "if any(w in words for w in news_words):\n    return NO\nreturn ABSTAIN"
    ),
    "superlative": (
        "if re.search(r'\\b(best|worst|most|ever|shocking|amazing)\\b', doc.text, re.I):\n"
        "    return YES\nreturn ABSTAIN"
    ),
    "long_and_titled": (
        "if len(doc) > 8 and sum(t.is_title for t in doc) > len(doc) // 2:\n"
        "    return NO\nreturn ABSTAIN"
    ),
    "year": "if re.search(r'\\b(19|20)\\d\\d\\b', doc.text):\n    return NO\nreturn ABSTAIN",
}
VARIATIONS = ["{}", "Breaking: {}", "{} (video)", "Update: {}", "{} - report", "Watch: {}"]


def texts(n: int) -> list[str]:
    base = [row["headline"] for row in samples.data("clickbait")]
    return [
        VARIATIONS[(i // len(base)) % len(VARIATIONS)].format(base[i % len(base)]) for i in range(n)
    ]


def indented(body: str) -> str:
    return "".join(f"    {line}\n" for line in body.splitlines())


def assay_code(name: str, body: str) -> str:
    lists = [lst for lst in LISTS if lst in body]
    imports = f"from knowledge import {', '.join(lists)}\n" if lists else ""
    return (
        f"import re\n{imports}\nYES, NO, ABSTAIN = 'yes', 'no', None\n\n"
        f"def {name}(record):\n    doc = record['headline']\n{indented(body)}"
    )


def run_assay(n: int, database: str | None, folder: Path) -> tuple[float, float, int]:
    settings = Settings(data_dir=folder / "assay", database_url=database)
    wb = Workbench(settings)
    frame = pd.DataFrame({"rid": range(n), "headline": texts(n)})
    wb.import_dataframe(frame, "bench", primary_key=["rid"])
    wb.add_task("bench", "clickbait", "classification", labels=["yes", "no"])
    for name, terms in LISTS.items():
        wb.add_terms("bench", name, terms)
    for name, body in BODIES.items():
        wb.add_heuristic("bench", "clickbait", name, assay_code(name, body))
    # The sandbox's start (its zygote imports spaCy, once per process) is not part of a run.
    wb.sandbox.run("def warm(record):\n    return None\n", [Record(0, {})])
    timings = []
    for _ in range(2):  # cold, then served from the cache
        started = time.perf_counter()
        job = wb.run_heuristics("bench", wait=True)
        timings.append(time.perf_counter() - started)
        assert job["status"] == "done", job
    votes = sum(h["last_run"]["votes"] for h in wb.list_heuristics("bench"))
    cached = sum(h["last_run"].get("cached", 0) for h in wb.list_heuristics("bench"))
    assert cached == n * len(BODIES), f"only {cached} results came from the cache"
    wb.close()
    return timings[0], timings[1], votes


def run_snorkel(n: int) -> tuple[float, int]:
    import spacy
    from snorkel.labeling import PandasLFApplier, labeling_function
    from snorkel.preprocess import preprocessor

    nlp = spacy.blank("en")

    @preprocessor(memoize=True)
    def spacy_doc(x: Any) -> Any:
        x.doc = nlp(x.headline)
        return x

    lfs = []
    for name, body in BODIES.items():
        namespace: dict[str, Any] = {"re": re, "YES": 1, "NO": 0, "ABSTAIN": -1, **LISTS}
        exec(f"def {name}(x):\n    doc = x.doc\n{indented(body)}", namespace)
        lfs.append(labeling_function(name=name, pre=[spacy_doc])(namespace[name]))
    frame = pd.DataFrame({"rid": range(n), "headline": texts(n)})
    started = time.perf_counter()
    L = PandasLFApplier(lfs).apply(frame, progress_bar=False)
    seconds = time.perf_counter() - started
    return seconds, int((L >= 0).sum())


def main() -> None:
    p = parser(__doc__ or "", full=100_000, quick=2_000)
    p.add_argument("--database", default=None, help="database URL (default: SQLite in a temp dir)")
    args = p.parse_args()
    n = size(args)
    with tempfile.TemporaryDirectory() as tmp:
        cold_s, cached_s, votes = run_assay(n, args.database, Path(tmp))
    snorkel_s, snorkel_votes = run_snorkel(n)
    assert votes == snorkel_votes, f"assay stored {votes} votes, Snorkel found {snorkel_votes}"
    where = "PostgreSQL" if args.database else "SQLite"
    print(f"{len(BODIES)} labeling functions over {n:,} records ({votes:,} votes), {where}")
    print(f"  assay run_heuristics:         {cold_s:7.2f} s  {n / cold_s:10,.0f} records/s")
    print(f"  assay again (cached):         {cached_s:7.2f} s  {n / cached_s:10,.0f} records/s")
    print(f"  snorkel PandasLFApplier:      {snorkel_s:7.2f} s  {n / snorkel_s:10,.0f} records/s")
    print(f"  ratio assay/snorkel throughput: {snorkel_s / cold_s:.2f}x")
    print(f"  ratio first run / cached rerun: {cold_s / cached_s:.1f}x")


if __name__ == "__main__":
    main()
