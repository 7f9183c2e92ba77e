"""Near-duplicate groups: exact (normalized text), lexical (MinHash with LSH banding) and
semantic (pairs above a similarity threshold). Groups are returned as one id per row
(-1: in no group), numbered from 0 in order of each group's first row."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

_NOT_WORD = re.compile(r"[\W_]+")
# Fixed constants of the hash functions: signatures must be equal across processes, chunks
# and releases (stored chunks are read back), so they are drawn once from a fixed seed here.
_SEED = 0x5EED_A55A
_EMPTY = np.uint32(0xFFFFFFFF)  # every slot of an empty text's signature
# Members of an LSH bucket linked to each member (on top of the bucket's first member).
_WINDOW = 8
# Shingles hashed at once in minhash: bounds its memory at about 100 MiB per 128 hashes.
_SHINGLES_PER_BLOCK = 100_000


def normalize(text: str) -> str:
    """Case-folded, punctuation dropped, whitespace collapsed."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def exact_groups(texts: Sequence[str]) -> np.ndarray:
    """Rows whose normalized texts are equal share a group."""
    first: dict[str, int] = {}
    owner = np.empty(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        owner[row] = first.setdefault(normalize(text), row)
    return _numbered(owner)


def _numbered(owner: np.ndarray) -> np.ndarray:
    """Group ids from each row's representative (any row of its group, the same for all of
    them): groups of one become -1, the others are numbered by their first row."""
    _, inverse, counts = np.unique(owner, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    shared = counts[inverse] > 1
    result = np.full(len(owner), -1, dtype=np.int64)
    if not shared.any():
        return result
    _, first_rows, compact = np.unique(inverse[shared], return_index=True, return_inverse=True)
    rank = np.empty(len(first_rows), dtype=np.int64)
    rank[np.argsort(first_rows, kind="stable")] = np.arange(len(first_rows))
    result[shared] = rank[compact.ravel()]
    return result


def _hash_constants(permutations: int) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers (odd) and increments of ``permutations`` multiply-add-shift hash functions
    over 64 bits: h(x) = ((a * x + b) mod 2**64) >> 32, a universal family."""
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**63, size=permutations, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=permutations, dtype=np.uint64)
    return a, b


def _shingle_hashes(text: str, shingle: int) -> np.ndarray:
    """32-bit hashes of the text's distinct character ``shingle``-grams (of its normalized
    form; a shorter text is one shingle)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < shingle:
        codes = np.concatenate([codes, np.zeros(shingle - len(codes), dtype=np.uint64)])
    windows = np.lib.stride_tricks.sliding_window_view(codes, shingle)
    powers = np.uint64(0x9E3779B97F4A7C15) ** np.arange(shingle, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = (windows * powers).sum(axis=1, dtype=np.uint64)
    return np.unique(_mix32(mixed))


def _mix32(x: np.ndarray) -> np.ndarray:
    """A 64-bit finalizer (splitmix64) folded to 32 bits: well spread shingle hashes."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(32)).astype(np.uint32)


def minhash(texts: Sequence[str], *, permutations: int = 128, shingle: int = 5) -> np.ndarray:
    """``(n, permutations)`` uint32 MinHash signatures of each text's character
    ``shingle``-grams (of its normalized form). A text's signature does not depend on the
    others (chunks can be hashed apart). An empty text's signature is all 0xFFFFFFFF."""
    a, b = _hash_constants(permutations)
    signatures = np.full((len(texts), permutations), _EMPTY, dtype=np.uint32)
    for row, text in enumerate(texts):
        normalized = normalize(text)
        if not normalized:
            continue
        x = _shingle_hashes(normalized, shingle).astype(np.uint64)
        with np.errstate(over="ignore"):
            hashed = (x[:, None] * a + b) >> np.uint64(32)
        signatures[row] = hashed.min(axis=0).astype(np.uint32)
    return signatures


def bands_for(threshold: float, permutations: int) -> tuple[int, int]:
    """(bands, rows per band) for LSH at ``threshold``: the most rows per band (fewest
    chance candidates) at which a pair whose Jaccard similarity is exactly ``threshold``
    still becomes a candidate with probability at least 0.99, 1 - (1 - t**r)**b; the
    S-curve's midpoint (1/b)**(1/r) then lies below the threshold."""
    best = (permutations, 1)
    for r in range(1, permutations + 1):
        b = permutations // r
        if b < 1:
            break
        if 1.0 - (1.0 - threshold**r) ** b >= 0.99:
            best = (b, r)
    return best


def lsh_pairs(
    signatures: np.ndarray, *, threshold: float = 0.8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs from LSH banding (bands chosen for ``threshold``), kept where the
    signatures' estimated Jaccard similarity is at least ``threshold``: ``(i, j, similarity)``.

    Within a bucket each member is paired with the bucket's first member and with its next
    few members (not all pairs: a bucket of 10,000 identical texts would give 50 million),
    which keeps every bucket connected; pairs come out with i < j, each once."""
    signatures = np.asarray(signatures, dtype=np.uint32)
    n, permutations = signatures.shape
    bands, rows = bands_for(threshold, permutations)
    candidates = []
    for band in range(bands):
        part = signatures[:, band * rows : (band + 1) * rows]
        keys = np.ascontiguousarray(part).view(np.dtype((np.void, 4 * rows))).ravel()
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        bucket = np.cumsum(starts) - 1
        first = order[np.flatnonzero(starts)][bucket]
        members = first != order
        candidates.append(np.stack([first[members], order[members]]))
        for step in range(1, _WINDOW + 1):
            same = bucket[step:] == bucket[:-step]
            candidates.append(np.stack([order[:-step][same], order[step:][same]]))
    found = np.concatenate(candidates, axis=1) if candidates else np.empty((2, 0), np.int64)
    i = np.minimum(found[0], found[1]).astype(np.int64)
    j = np.maximum(found[0], found[1]).astype(np.int64)
    unique = np.unique(i * max(n, 1) + j)
    i, j = unique // max(n, 1), unique % max(n, 1)
    similarity = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), 65_536):
        stop = start + 65_536
        similarity[start:stop] = (signatures[i[start:stop]] == signatures[j[start:stop]]).mean(
            axis=1
        )
    keep = similarity >= threshold - 1e-9
    return i[keep], j[keep], similarity[keep]


def groups_from_pairs(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the pairs, as group ids (-1: in no pair)."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return _numbered(component.astype(np.int64))


def semantic_pairs(
    scores: np.ndarray,
    neighbours: np.ndarray,
    threshold: float,
    *,
    queries: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, similarity)`` pairs with i < j, each once (its highest similarity), from a
    vector index's answers: ``scores`` and ``neighbours`` ``(q, k)`` for query rows
    ``queries`` (default 0..q-1); a row's pair with itself and negative neighbours (none
    found) are dropped, as are similarities below ``threshold``."""
    scores = np.asarray(scores, dtype=np.float32)
    neighbours = np.asarray(neighbours, dtype=np.int64)
    q = scores.shape[0]
    rows = np.arange(q, dtype=np.int64) if queries is None else np.asarray(queries, np.int64)
    source = np.broadcast_to(rows[:, None], neighbours.shape)
    keep = (neighbours >= 0) & (neighbours != source) & (scores >= threshold)
    a, b, s = source[keep], neighbours[keep], scores[keep]
    i, j = np.minimum(a, b), np.maximum(a, b)
    if len(i) == 0:
        return i, j, s
    # Highest similarity first, then the first occurrence of each (i, j) wins.
    order = np.lexsort((-s, j, i))
    i, j, s = i[order], j[order], s[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    return i[first], j[first], s[first]
