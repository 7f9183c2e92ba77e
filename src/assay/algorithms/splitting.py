"""Splitting labeled records into named sets that each represent the whole, and measuring how
well they do.

- :func:`set_sizes` turns ``train=0.8,validation=0.1,test=0.1`` (fractions or counts) into
  counts;
- :func:`split` assigns rows to sets, stratified on labels (a multi-label indicator matrix)
  and on clusters of an embedding, keeping each group (near-duplicates) in one set;
- :func:`distances` measures each set's embedding distribution against the pool (squared MMD,
  Gaussian kernel through random Fourier features: linear in n) next to random splits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

from assay.algorithms.selection import largest_remainders

# Golden-ratio step of the low-discrepancy sequence that spreads each stratum over the sets.
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_INTEGER = re.compile(r"[+-]?\d+")
# Rows per chunk of the MMD pass: bounds its memory at a few hundred MiB whatever n is.
_MMD_CHUNK = 32_768


def set_sizes(spec: str | Mapping[str, float], total: int) -> dict[str, int]:
    """Counts per set, in the order given. Fractions must add up to 1 (within 1e-6), counts
    to at most ``total``; a mix, a negative, an empty or a repeated name: ``ValueError`` with
    a message that says what is wrong.

    A value written as an integer (``test=1000``, or a Python ``int``) is a count, any other
    (``test=0.1``) a fraction; a zero is either. Fractions become counts by largest
    remainder, so they add up to ``total`` exactly."""
    pairs = _parse_sets(spec)
    if not pairs:
        raise ValueError("no sets given: write them as name=share, e.g. train=0.8,test=0.2")
    fractions = [name for name, value, is_count in pairs if not is_count and value != 0]
    counts = [name for name, value, is_count in pairs if is_count and value != 0]
    if fractions and counts:
        raise ValueError(
            f"sets mix fractions ({', '.join(fractions)}) and counts ({', '.join(counts)}): "
            "give all as fractions adding up to 1 or all as record counts"
        )
    values = [value for _, value, _ in pairs]
    names = [name for name, _, _ in pairs]
    if sum(values) <= 0:
        raise ValueError("the sets' sizes add up to 0: give at least one set a share")
    if counts:
        wanted = sum(int(v) for v in values)
        if wanted > total:
            raise ValueError(
                f"the sets ask for {wanted:,} records ({_listed(pairs)}) but only {total:,} exist"
            )
        return {name: int(value) for name, value in zip(names, values, strict=True)}
    added = math.fsum(values)
    if abs(added - 1.0) > 1e-6:
        raise ValueError(f"the sets' fractions add up to {added:g}, not 1 ({_listed(pairs)})")
    # Largest remainder first (of the fractions as given: their sum may miss 1 by 1e-6);
    # ties go to the set named first.
    shares = largest_remainders(np.asarray(values, dtype=np.float64), total)
    return dict(zip(names, (int(n) for n in shares), strict=True))


def _parse_sets(spec: str | Mapping[str, float]) -> list[tuple[str, float, bool]]:
    """(name, value, written as an integer) per set, names checked, values finite and >= 0."""
    raw: list[tuple[str, object]] = []
    if isinstance(spec, str):
        for piece in spec.split(","):
            if not piece.strip():
                if spec.strip():
                    raise ValueError(f"empty piece in the sets {spec!r}: remove the extra comma")
                continue
            name, equals, written = piece.partition("=")
            if not equals:
                raise ValueError(f"set {piece.strip()!r} has no size: write it as name=size")
            raw.append((name.strip(), written.strip()))
    elif isinstance(spec, Mapping):
        raw = [(str(name).strip(), value) for name, value in spec.items()]
    else:
        raise ValueError(
            f"sets must be a string like train=0.8,test=0.2 or a mapping, not {spec!r}"
        )
    seen: set[str] = set()
    pairs: list[tuple[str, float, bool]] = []
    for name, value in raw:
        if not name:
            raise ValueError("a set has an empty name: write each as name=size")
        if name in seen:
            raise ValueError(f"set {name!r} is named twice")
        seen.add(name)
        if isinstance(value, str):
            is_count = _INTEGER.fullmatch(value) is not None
            try:
                number = float(value)
            except ValueError:
                raise ValueError(
                    f"set {name!r} has size {value!r}, which is not a number"
                ) from None
        elif isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"set {name!r} has size {value!r}, which is not a number")
        else:
            is_count = isinstance(value, (int, np.integer))
            number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"set {name!r} has size {value!r}, which is not a finite number")
        if number < 0:
            raise ValueError(f"set {name!r} has a negative size ({value})")
        pairs.append((name, number, is_count))
    return pairs


def _listed(pairs: list[tuple[str, float, bool]]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value, _ in pairs)


def split(
    labels: np.ndarray,
    sizes: list[int],
    *,
    clusters: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Each row's set (int16 index into ``sizes``). ``labels``: ``(n, L)`` bool indicator
    matrix (one column per label; one True per row for single-label tasks); ``clusters``:
    ``(n,)`` cluster of each row; ``groups``: ``(n,)`` group id (-1: alone), a group's rows
    all go to one set. Set sizes are met exactly where groups allow.

    Where the sizes add up to less than n (counts), the rows left over get -1.

    How: units are the groups (a row alone is a unit of one), each with the label
    combination and cluster of its first row. Units are ordered by (label combination,
    cluster, a seeded random key); the t-th unit in that order gets the key
    ``frac(u + t * golden ratio)`` (``u`` seeded), a low-discrepancy sequence, so that every
    run of consecutive units (each label combination, each cluster within it) has its keys
    spread evenly over [0, 1). Units are then dealt to the sets in key order by cumulative
    row count, so each set gets its share of every stratum (to within about one unit) and
    exactly its size when there are no groups; with groups, units of one row nearest each
    boundary between sets then move across it until the sizes are exact. Linear apart
    from two sorts: a million rows take about a second."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    n = labels.shape[0]
    sizes = [int(s) for s in sizes]
    if any(s < 0 for s in sizes) or sum(sizes) > n:
        raise ValueError(f"set sizes {sizes} do not fit {n} rows")
    bounds = np.cumsum([*sizes, n - sum(sizes)])  # the last pseudo-set: rows left over
    rng = np.random.default_rng(seed)
    if groups is None:
        unit_of = np.arange(n, dtype=np.int64)
        firsts = unit_of
        weights = np.ones(n, dtype=np.int64)
    else:
        unit_of, firsts, weights = _units(np.asarray(groups, dtype=np.int64))
    combo = _combination_codes(labels.astype(bool)[firsts])
    cluster = (
        np.zeros(len(firsts), dtype=np.int64)
        if clusters is None
        else np.asarray(clusters, dtype=np.int64)[firsts]
    )
    tiebreak = rng.permutation(len(firsts))
    order = np.lexsort((tiebreak, cluster, combo))
    keys = np.empty(len(firsts), dtype=np.float64)
    keys[order] = np.modf(rng.random() + np.arange(len(firsts)) * _GOLDEN)[0]
    dealt = np.argsort(keys, kind="stable")
    dealt_weights = weights[dealt]
    middles = np.cumsum(dealt_weights) - dealt_weights / 2.0
    dealt_set = np.minimum(np.searchsorted(bounds, middles, side="right"), len(sizes))
    if groups is not None:
        _even_out(dealt_set, dealt_weights, bounds)
    unit_set = np.empty(len(firsts), dtype=np.int64)
    unit_set[dealt] = dealt_set
    unit_set[unit_set == len(sizes)] = -1
    return unit_set[unit_of].astype(np.int16)


def _even_out(dealt_set: np.ndarray, weights: np.ndarray, bounds: np.ndarray) -> None:
    """Exact set sizes where groups made them miss, in place: at each boundary between set s
    and s + 1 (sets are consecutive in key order), the units of one row nearest to it move
    across until the rows up to set s add up to ``bounds[s]``. They are the units whose keys
    are closest to the other set's, so the sets' strata hardly change; where too few units
    of one row are at hand, the size stays off by what is missing."""
    for boundary in range(len(bounds) - 1):
        surplus = int(weights[dealt_set <= boundary].sum()) - int(bounds[boundary])
        if surplus > 0:  # the last singles of sets <= boundary move up into set boundary + 1
            movable = np.flatnonzero((dealt_set <= boundary) & (weights == 1))[::-1]
            dealt_set[movable[:surplus]] = boundary + 1
        elif surplus < 0:  # the first singles of the sets above move down into this one
            movable = np.flatnonzero((dealt_set > boundary) & (weights == 1))
            dealt_set[movable[:-surplus]] = boundary


def _units(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's unit, each unit's first row and its size: a group is one unit, a row with
    group -1 a unit alone. Units are numbered in order of their first row."""
    n = len(groups)
    rows = np.arange(n, dtype=np.int64)
    # A row alone gets a key of its own beyond every group id.
    key = np.where(groups < 0, groups.max(initial=0) + 1 + rows, groups)
    _, firsts, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(firsts, kind="stable")
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    return renumber[inverse.ravel()], firsts[order], counts[order]


def _combination_codes(indicator: np.ndarray) -> np.ndarray:
    """An int64 code per row, equal for rows with the same label combination."""
    if indicator.shape[1] == 0:
        return np.zeros(indicator.shape[0], dtype=np.int64)
    packed = np.packbits(indicator, axis=1)
    if packed.shape[1] <= 7:
        padded = np.zeros((packed.shape[0], 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        return padded.view(np.int64).ravel()
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    return inverse.ravel().astype(np.int64)


def distances(
    matrix: np.ndarray,
    assignment: np.ndarray,
    sets: int,
    *,
    random_splits: int = 20,
    features: int = 512,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Per set: ``mmd`` (squared MMD between the set's rows and all rows), and for
    ``random_splits`` random assignments of the same sizes ``random_median``, ``random_p95``
    and ``percentile`` (share of random sets with a larger MMD). Chunked over rows.

    The Gaussian kernel's bandwidth is the median distance between a seeded sample of row
    pairs; its feature map is approximated by ``features`` random Fourier features, so a
    set's squared MMD is the squared distance between its mean feature vector and the
    pool's. One pass over the rows, chunk by chunk, sums the features per set for the real
    assignment and for every random one at once (a one-hot matrix product): memory is one
    chunk's features plus the sums, never n x n nor n x features. Rows assigned -1 belong to
    the pool but to no set."""
    matrix = np.asarray(matrix)
    assignment = np.asarray(assignment, dtype=np.int64)
    n, dims = matrix.shape
    if len(assignment) != n or (n and (assignment.min() < -1 or assignment.max() >= sets)):
        raise ValueError(f"the assignment must give each of the {n} rows a set in -1..{sets - 1}")
    rng = np.random.default_rng(seed)
    bandwidth = _median_distance(matrix, rng)
    weights = rng.normal(0.0, 1.0 / bandwidth, size=(dims, features)).astype(np.float32)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=features).astype(np.float32)
    # Column r of `labelled` is assignment r (0: the real one), -1 rows go to a dropped slot.
    labelled = np.empty((n, random_splits + 1), dtype=np.int16)
    labelled[:, 0] = assignment
    for r in range(1, random_splits + 1):
        labelled[:, r] = rng.permutation(assignment)
    slots = (random_splits + 1) * sets
    offsets = np.arange(random_splits + 1, dtype=np.int64) * sets
    sums = np.zeros((slots + 1, features), dtype=np.float64)
    pool = np.zeros(features, dtype=np.float64)
    scale = np.float32(math.sqrt(2.0 / features))
    for start in range(0, n, _MMD_CHUNK):
        stop = min(start + _MMD_CHUNK, n)
        block = np.asarray(matrix[start:stop], dtype=np.float32)
        z = block @ weights
        z += phases
        np.cos(z, out=z)
        z *= scale
        pool += z.sum(axis=0, dtype=np.float64)
        chunk_labels = labelled[start:stop]
        slot = np.where(chunk_labels >= 0, chunk_labels + offsets, slots)
        onehot = np.zeros((stop - start, slots + 1), dtype=np.float32)
        np.put_along_axis(onehot, slot, 1.0, axis=1)
        sums += (z.T @ onehot).T  # this orientation is several times faster in OpenBLAS
    counts = np.zeros(slots + 1, dtype=np.float64)
    for r in range(random_splits + 1):
        counts[:slots] += np.bincount(
            np.where(labelled[:, r] >= 0, labelled[:, r] + offsets[r], slots),
            minlength=slots + 1,
        )[:slots]
    pool_mean = pool / max(n, 1)
    means = sums[:slots] / np.maximum(counts[:slots], 1)[:, None]
    mmd = ((means - pool_mean) ** 2).sum(axis=1).reshape(random_splits + 1, sets)
    mmd[counts[:slots].reshape(random_splits + 1, sets) == 0] = np.nan
    result = []
    for s in range(sets):
        real = float(mmd[0, s])
        randoms = mmd[1:, s]
        randoms = randoms[np.isfinite(randoms)]
        if not math.isfinite(real) or len(randoms) == 0:
            result.append(
                {
                    "mmd": real,
                    "random_median": math.nan,
                    "random_p95": math.nan,
                    "percentile": math.nan,
                }
            )
            continue
        result.append(
            {
                "mmd": real,
                "random_median": float(np.median(randoms)),
                "random_p95": float(np.percentile(randoms, 95)),
                "percentile": float(np.mean(randoms > real)),
            }
        )
    return result


def _median_distance(matrix: np.ndarray, rng: np.random.Generator, pairs: int = 2000) -> float:
    """Median Euclidean distance between ``pairs`` seeded random row pairs (1.0 when all
    sampled rows coincide)."""
    n = matrix.shape[0]
    if n < 2:
        return 1.0
    a = rng.integers(0, n, size=pairs)
    b = rng.integers(0, n, size=pairs)
    keep = a != b
    a, b = a[keep], b[keep]
    diff = np.asarray(matrix[a], dtype=np.float64) - np.asarray(matrix[b], dtype=np.float64)
    found = np.sqrt((diff**2).sum(axis=1))
    found = found[found > 0]
    return float(np.median(found)) if len(found) else 1.0
