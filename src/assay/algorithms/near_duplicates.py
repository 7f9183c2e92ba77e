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
# minhash: texts normalized and shingled at once, and shingles hashed at once (a block of
# 128 x 16,384 uint32 hashes is 8 MiB, about the size of a cache).
_TEXTS_PER_BATCH = 2_000
_SHINGLES_PER_BLOCK = 16_384


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
    """Multipliers (odd) and increments of the ``permutations`` hash functions
    h(x) = (a * x + b) mod 2**32, as ``(permutations, 1)`` columns."""
    rng = np.random.default_rng(_SEED)
    a = rng.integers(0, 2**31, size=permutations, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.integers(0, 2**32, size=permutations, dtype=np.uint32)
    return a[:, None], b[:, None]


def _mix32(x: np.ndarray) -> np.ndarray:
    """A 64-bit finalizer (splitmix64) folded to 32 bits: well spread shingle hashes."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(32)).astype(np.uint32)


def _shingle_hashes(normalized: list[str], shingle: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the character ``shingle``-grams of each text, all texts' one after
    the other (a text shorter than a shingle is one shingle, an empty text none), and the
    number of shingles per text."""
    lengths = np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized))
    padded = np.where(lengths > 0, np.maximum(lengths, shingle), 0)
    counts = np.where(padded > 0, padded - shingle + 1, 0)
    # Short texts are padded with NUL, which normalize() never leaves in a text.
    joined = "".join(
        text.ljust(width, "\0") for text, width in zip(normalized, padded.tolist(), strict=True)
    )
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    total = int(counts.sum())
    text_starts = np.cumsum(padded) - padded
    shingle_starts = np.cumsum(counts) - counts
    position = np.repeat(text_starts - shingle_starts, counts) + np.arange(total)
    powers = np.uint64(0x9E3779B97F4A7C15) ** np.arange(shingle, dtype=np.uint64)
    with np.errstate(over="ignore"):
        polynomial = codes[position] * powers[0]
        for k in range(1, shingle):
            polynomial += codes[position + k] * powers[k]
    return _mix32(polynomial), counts


def minhash(texts: Sequence[str], *, permutations: int = 128, shingle: int = 5) -> np.ndarray:
    """``(n, permutations)`` uint32 MinHash signatures of each text's character
    ``shingle``-grams (of its normalized form). A text's signature does not depend on the
    others (chunks can be hashed apart). An empty text's signature is all 0xFFFFFFFF.

    Each shingle is hashed to 32 bits (a polynomial of its characters through a 64-bit
    finalizer); the permutations are h(x) = (a * x + b) mod 2**32 with fixed seeded
    constants, bijections that behave as random permutations on such well-mixed inputs
    (the estimated Jaccard similarity's spread matched the theoretical sqrt(J(1-J)/P) in a
    check of 400 random set pairs). Vectorized: texts in batches, shingles in blocks of
    ``(permutations, block)`` uint32 hashes (a few MiB, in cache), the minimum per text
    through ``np.minimum.reduceat`` along the contiguous axis."""
    a, b = _hash_constants(permutations)
    signatures = np.full((len(texts), permutations), _EMPTY, dtype=np.uint32)
    for first in range(0, len(texts), _TEXTS_PER_BATCH):
        batch = [normalize(text) for text in texts[first : first + _TEXTS_PER_BATCH]]
        hashes, counts = _shingle_hashes(batch, shingle)
        present = np.flatnonzero(counts > 0)
        starts = (np.cumsum(counts) - counts)[present]
        for low in range(0, len(hashes), _SHINGLES_PER_BLOCK):
            high = min(low + _SHINGLES_PER_BLOCK, len(hashes))
            # The texts with shingles in [low, high): the one running on at `low` and those
            # starting before `high`.
            t_low = int(np.searchsorted(starts, low, side="right")) - 1
            t_high = int(np.searchsorted(starts, high, side="left"))
            segments = np.maximum(starts[t_low:t_high], low) - low
            with np.errstate(over="ignore"):
                block = a * hashes[low:high]
                block += b
            least = np.minimum.reduceat(block, segments, axis=1).T
            rows = first + present[t_low:t_high]
            signatures[rows] = np.minimum(signatures[rows], least)
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
        keys = _band_keys(signatures[:, band * rows : (band + 1) * rows])
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
    codes = i * max(n, 1) + j
    codes.sort()  # a sort and a difference: much faster than np.unique's hash table here
    codes = codes[np.concatenate([[True], codes[1:] != codes[:-1]])] if len(codes) else codes
    i, j = codes // max(n, 1), codes % max(n, 1)
    similarity = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), 65_536):
        stop = start + 65_536
        similarity[start:stop] = (signatures[i[start:stop]] == signatures[j[start:stop]]).mean(
            axis=1
        )
    keep = similarity >= threshold - 1e-9
    return i[keep], j[keep], similarity[keep]


def _band_keys(part: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of a band (equal rows, equal keys; other rows collide with
    probability about 2**-64, and a chance collision is dropped by the verification)."""
    columns = np.ascontiguousarray(part.T)
    keys = np.zeros(part.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            keys ^= column
            keys *= np.uint64(0x9E3779B97F4A7C15)
            keys ^= keys >> np.uint64(29)
    return keys


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
