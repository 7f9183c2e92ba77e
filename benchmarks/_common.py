"""Shared pieces of the benchmarks: synthetic headlines, timing, argument parsing, a server."""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

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


def start_server(data_dir: Path, log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``assay serve`` over ``data_dir`` on a free loopback port, once it answers; its output
    goes to ``log`` (default: nowhere). Returns the process and the base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "ASSAY_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "assay", "serve", "--port", str(port)]
    with log.open("wb") if log is not None else open(os.devnull, "wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/projects").status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    said = log.read_text(errors="replace")[-2000:] if log is not None else ""
    raise RuntimeError(f"the server did not start\n{said}")
