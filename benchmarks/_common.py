"""Shared pieces of the benchmarks: synthetic headlines, timing, argument parsing."""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

WORDS = [
    "government",
    "plans",
    "new",
    "budget",
    "after",
    "talks",
    "with",
    "unions",
    "over",
    "pay",
    "and",
    "pensions",
    "in",
    "the",
    "north",
    "city",
    "council",
    "approves",
    "housing",
    "scheme",
    "while",
    "residents",
    "protest",
    "rising",
    "rents",
    "near",
    "river",
    "scientists",
    "find",
    "evidence",
    "of",
    "ancient",
    "water",
    "on",
    "distant",
    "moon",
    "says",
    "space",
    "agency",
    "report",
    "champion",
    "wins",
    "final",
    "set",
    "in",
    "dramatic",
    "comeback",
    "as",
    "crowd",
    "cheers",
    "record",
    "breaking",
    "victory",
    "markets",
    "slide",
    "as",
    "investors",
    "weigh",
    "inflation",
    "data",
    "and",
    "central",
    "bank",
    "signals",
    "on",
    "rates",
    "you",
    "will",
    "not",
    "believe",
    "what",
    "happened",
    "next",
    "when",
    "this",
    "chef",
    "tried",
    "cooking",
    "with",
    "only",
    "salt",
]
RARE = "zeppelin"  # inserted into about 1% of the headlines, for a selective filter


def headlines(n: int, seed: int = 0, rare_rate: float = 0.01) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 62:
            words.append(rng.choice(WORDS))
        if rng.random() < rare_rate:
            words[rng.randrange(len(words))] = RARE.capitalize()
        words[0] = words[0].capitalize()
        out.append(" ".join(words))
    return out


def write_csv(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rid", "headline"])
        for i, text in enumerate(headlines(n)):
            writer.writerow([i, text])
    return path


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def parser(description: str, full: int, quick: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help=f"small size ({quick:,}) for CI")
    p.add_argument("--records", type=int, default=None, help=f"records (default {full:,})")
    p.set_defaults(full=full, quick_size=quick)
    return p


def size(args: argparse.Namespace) -> int:
    if args.records:
        return int(args.records)
    return int(args.quick_size if args.quick else args.full)


def skip_without(path: Path) -> None:
    """End a benchmark that reads the shared datasets, saying so, where they are absent
    (outside this workplace and CI)."""
    if not path.exists():
        print(
            f"skipped: {path} is absent (the shared datasets exist only in this workplace and CI)"
        )
        raise SystemExit(0)
