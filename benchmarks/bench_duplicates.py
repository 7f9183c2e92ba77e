"""Near-duplicates at scale: lexical (MinHash + LSH) over 100,000 texts against datasketch, and
semantic duplicates over 1,000,000 vectors through the HNSW vector index.

    python benchmarks/bench_duplicates.py [--quick | --records N] [--vectors M] [--parts ab]
        [--no-peer]

(a) Lexical, N texts (100,000; --quick 5,000): composed from kern-ag-news (../shared/data):
    a title, the first half of one description and the second half of another (seeded, each
    (first half, second half) pair once), so that the texts are distinct and not near each
    other; then a tenth of them are injected near-duplicates: a copy of a distinct base text
    with case and punctuation changed (normalized away) and one or two words replaced or
    dropped. Timed: ``near_duplicates.minhash`` (128 permutations, 5-character shingles),
    ``lsh_pairs`` (threshold 0.8) and ``groups_from_pairs``; recall = share of the injected
    (source, copy) pairs that end in one group. Target <= 20 s in all. Peer in the same run:
    datasketch ``MinHash.bulk`` over the same normalized shingles and ``MinHashLSH``
    (threshold 0.8) inserting and querying every text; its recall counts candidate pairs.
(b) Semantic, M vectors (1,000,000; --quick 20,000) x 384, synthetic, of a low intrinsic
    dimension like real embeddings (a row's nearest neighbours at cosine about 0.7), of
    which 1 % are injected near-duplicates (a distinct base row plus noise: cosine 0.98). Through
    ``vector_index.Hnsw`` (default settings): build, then every row's 10 nearest neighbours
    (searched in chunks of 100,000 rows, as the service's stored chunks), then
    ``semantic_pairs`` at cosine 0.95 and ``groups_from_pairs``; each timed apart. Target:
    <= 5 minutes from vectors to groups. Recall of the injected pairs.

Figures: docs/benchmarks.md (measured on a quiet machine; other load slows both parts).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size, skip_without

from assay.algorithms.near_duplicates import (
    groups_from_pairs,
    lsh_pairs,
    minhash,
    normalize,
    semantic_pairs,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
THRESHOLD = 0.8
SEMANTIC_THRESHOLD = 0.95
NEIGHBOURS = 10
SHINGLE = 5
PERMUTATIONS = 128


# -- (a) lexical -------------------------------------------------------------------------------


def ag_news() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for split in ("train", "val", "test"):
        path = DATA / "kern-ag-news" / f"labeled_data_{split}.json"
        rows += json.loads(path.read_text(encoding="utf-8"))
    return rows


def perturbed(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    """A near-duplicate: one or two words replaced or dropped, plus case and punctuation
    noise that normalization removes."""
    words = text.split()
    for _ in range(rng.choice((1, 2))):
        at = rng.randrange(len(words))
        if rng.random() < 0.5 and len(words) > 3:
            del words[at]
        else:
            words[at] = rng.choice(vocabulary)
    at = rng.randrange(len(words))
    words[at] = words[at].upper() + rng.choice(("!", ",", "...", ""))
    return " ".join(words)


def corpus(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """N texts, and the (source, copy) rows of the injected near-duplicates."""
    rng = random.Random(seed)
    rows = ag_news()
    titles = [r["Title"] for r in rows]
    halves = [r["Description"].split() for r in rows]
    firsts = [" ".join(words[: len(words) // 2]) for words in halves]
    seconds = [" ".join(words[len(words) // 2 :]) for words in halves]
    copies = n // 10
    base = n - copies
    pairs: dict[tuple[int, int], None] = {}
    while len(pairs) < base:
        a, b = rng.randrange(len(rows)), rng.randrange(len(rows))
        if a != b:
            pairs[(a, b)] = None
    texts = [f"{titles[rng.randrange(len(rows))]}. {firsts[a]} {seconds[b]}" for a, b in pairs]
    vocabulary = sorted({word for text in texts[:2000] for word in text.split()})
    sources = rng.sample(range(base), copies)
    injected = np.array([(s, base + k) for k, s in enumerate(sources)], dtype=np.int64)
    texts += [perturbed(texts[s], rng, vocabulary) for s in sources]
    return texts, injected.reshape(-1, 2)


def shingles(text: str) -> set[str]:
    normalized = normalize(text)
    if len(normalized) < SHINGLE:
        return {normalized} if normalized else set()
    return {normalized[k : k + SHINGLE] for k in range(len(normalized) - SHINGLE + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / max(1, len(x | y))


def recall(pairs: set[tuple[int, int]], injected: np.ndarray) -> float:
    return sum((int(s), int(c)) in pairs for s, c in injected) / max(1, len(injected))


def peer(texts: list[str], injected: np.ndarray) -> dict[str, float] | None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        print("datasketch is not installed (pip install -e '.[bench]'): no peer")
        return None
    start = time.perf_counter()
    sets = [[s.encode("utf-8") for s in shingles(text)] for text in texts]
    signatures = MinHash.bulk(sets, num_perm=PERMUTATIONS)
    hashed = time.perf_counter() - start
    start = time.perf_counter()
    index = MinHashLSH(threshold=THRESHOLD, num_perm=PERMUTATIONS)
    with index.insertion_session() as session:
        for row, signature in enumerate(signatures):
            session.insert(row, signature, check_duplication=False)
    found: set[tuple[int, int]] = set()
    for row, signature in enumerate(signatures):
        for other in index.query(signature):
            if other != row:
                found.add((min(row, other), max(row, other)))
    indexed = time.perf_counter() - start
    return {
        "hash_s": hashed,
        "lsh_s": indexed,
        "total_s": hashed + indexed,
        "recall": recall(found, injected),
        "pairs": len(found),
    }


def lexical(n: int, with_peer: bool) -> None:
    skip_without(DATA / "kern-ag-news")
    texts, injected = corpus(n)
    sample = injected[:: max(1, len(injected) // 1000)]
    true = [jaccard(texts[s], texts[c]) for s, c in sample]
    print(
        f"(a) lexical: {len(texts):,} texts from kern-ag-news pieces, {len(injected):,} injected "
        f"near-duplicates (true 5-shingle Jaccard: median {np.median(true):.2f}, "
        f"min {min(true):.2f}, share >= {THRESHOLD}: {np.mean(np.array(true) >= THRESHOLD):.2f})"
    )
    start = time.perf_counter()
    signatures = minhash(texts, permutations=PERMUTATIONS, shingle=SHINGLE)
    hashed = time.perf_counter() - start
    start = time.perf_counter()
    i, j, _ = lsh_pairs(signatures, threshold=THRESHOLD)
    banded = time.perf_counter() - start
    start = time.perf_counter()
    groups = groups_from_pairs(len(texts), i, j)
    grouped = time.perf_counter() - start
    total = hashed + banded + grouped
    in_group = groups[injected[:, 0]]
    ours_recall = float(np.mean((in_group >= 0) & (in_group == groups[injected[:, 1]])))
    pair_recall = recall(set(zip(i.tolist(), j.tolist(), strict=True)), injected)
    injected_rows = set(injected.ravel().tolist())
    other = sum(
        1
        for a, b in zip(i.tolist(), j.tolist(), strict=True)
        if a not in injected_rows or b not in injected_rows
    )
    print(
        f"assay: minhash {hashed:.1f} s, lsh_pairs {banded:.1f} s, groups {grouped:.2f} s, "
        f"total {total:.1f} s (target <= 20 s); {len(i):,} verified pairs "
        f"({other:,} not among the injected rows), {int(groups.max()) + 1:,} groups"
    )
    print(
        f"assay recall of the injected pairs: {ours_recall:.3f} in one group, "
        f"{pair_recall:.3f} as a verified pair"
    )
    if with_peer:
        theirs = peer(texts, injected)
        if theirs is not None:
            print(
                f"datasketch: MinHash.bulk {theirs['hash_s']:.1f} s, MinHashLSH insert+query "
                f"{theirs['lsh_s']:.1f} s, total {theirs['total_s']:.1f} s; recall "
                f"{theirs['recall']:.3f} (candidate pairs, unverified: {theirs['pairs']:,})"
            )
            print(f"datasketch / assay time: {theirs['total_s'] / total:.1f}x")


# -- (b) semantic ------------------------------------------------------------------------------


def vectors(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """M x 384 normalized float32 rows, and the (source, copy) rows of the injected
    near-duplicates (the last 1 %). Like real sentence embeddings the rows have a low
    intrinsic dimension: points around 1,000 cluster centres in a 32-dimensional space,
    mapped into 384 dimensions, plus a little noise in all of them (a row's nearest other
    rows have cosine about 0.7). Full-rank random rows would be far harder for any HNSW
    graph than real embeddings (a first run on such rows: 0.76 recall, 23 minutes)."""
    rng = np.random.default_rng(seed)
    copies = m // 100
    base = m - copies
    latent = 32
    centres = rng.normal(size=(1000, latent)).astype(np.float32)
    basis = np.linalg.qr(rng.normal(size=(384, latent)))[0].T.astype(np.float32)
    matrix = np.empty((m, 384), dtype=np.float32)
    for start in range(0, base, 100_000):
        stop = min(start + 100_000, base)
        points = centres[rng.integers(0, 1000, stop - start)]
        points += 0.7 * rng.normal(size=points.shape).astype(np.float32)
        noise = rng.normal(size=(stop - start, 384)).astype(np.float32)
        block = points @ basis + 0.02 * noise * np.linalg.norm(points, axis=1, keepdims=True)
        matrix[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    sources = rng.choice(base, size=copies, replace=False)
    noisy = matrix[sources] + 0.01 * rng.normal(size=(copies, 384)).astype(np.float32)
    matrix[base:] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    injected = np.stack([sources, np.arange(base, m)], axis=1).astype(np.int64)
    return matrix, injected


def semantic(m: int) -> None:
    from assay.algorithms.vector_index import Hnsw

    matrix, injected = vectors(m)
    cosines = (matrix[injected[:, 0]] * matrix[injected[:, 1]]).sum(axis=1)
    print(
        f"\n(b) semantic: {m:,} x 384 vectors, {len(injected):,} injected near-duplicates "
        f"(cosine median {np.median(cosines):.3f}, min {cosines.min():.3f})"
    )
    start = time.perf_counter()
    index = Hnsw().build(matrix)
    built = time.perf_counter() - start
    start = time.perf_counter()
    found_i, found_j = [], []
    for low in range(0, m, 100_000):
        queries = np.arange(low, min(low + 100_000, m))
        scores, rows = index.search(matrix[queries], NEIGHBOURS)
        i, j, _ = semantic_pairs(scores, rows, SEMANTIC_THRESHOLD, queries=queries)
        found_i.append(i)
        found_j.append(j)
    searched = time.perf_counter() - start
    start = time.perf_counter()
    # A pair found from both of its rows' chunks comes twice: once is enough.
    codes = np.unique(np.concatenate(found_i) * m + np.concatenate(found_j))
    i, j = codes // m, codes % m
    groups = groups_from_pairs(m, i, j)
    grouped = time.perf_counter() - start
    total = built + searched + grouped
    in_group = groups[injected[:, 0]]
    found = float(np.mean((in_group >= 0) & (in_group == groups[injected[:, 1]])))
    print(
        f"HNSW build {built:.0f} s, search of every row (k={NEIGHBOURS}) {searched:.0f} s, "
        f"pairs + groups {grouped:.2f} s: total {total:.0f} s (target <= 300 s)"
    )
    print(
        f"{len(i):,} pairs >= {SEMANTIC_THRESHOLD}, {int(groups.max()) + 1:,} groups; recall "
        f"of the injected pairs: {found:.4f}"
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0], full=100_000, quick=5_000)
    p.add_argument("--vectors", type=int, default=None, help="vectors (1,000,000; quick 20,000)")
    p.add_argument("--parts", default="ab", help="a: lexical, b: semantic")
    p.add_argument("--no-peer", action="store_true", help="skip datasketch")
    args = p.parse_args()
    if "a" in args.parts:
        lexical(size(args), not args.no_peer)
    if "b" in args.parts:
        semantic(args.vectors or (20_000 if args.quick else 1_000_000))


if __name__ == "__main__":
    main()
