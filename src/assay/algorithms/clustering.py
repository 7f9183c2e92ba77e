"""k-means over the rows of a matrix in O(n·k·d) per pass, never an n x n matrix: mini-batch
updates, then one chunked pass that assigns every row to its nearest centre."""

from __future__ import annotations

import numpy as np

from assay.algorithms.embedders import one_blas_thread

# Entries of one chunk's row-by-centre distance block (float32): 2**24 = 64 MiB at most, so that
# ``nearest`` never holds n x k beyond a chunk.
_CHUNK_ENTRIES = 1 << 24
# Products (rows x centres x dimensions) below which one BLAS thread is used throughout.
_SMALL = 1 << 30
# Rows of one mini-batch at least (more when k is large, so that each centre sees some rows).
_BATCH = 1024
# Rows sampled for the k-means++ seeding: max(3,072, 3·k), as scikit-learn's MiniBatchKMeans
# (init_size): the sample stays in cache, so seeding costs about a second at k = 1,000.
_SEED_SAMPLE = 3072


def squared_norms(matrix: np.ndarray) -> np.ndarray:
    """Each row's squared euclidean norm (float32), in chunks (no float64 copy of the matrix)."""
    out = np.empty(len(matrix), np.float32)
    step = max(1, _CHUNK_ENTRIES // max(1, matrix.shape[1]))
    for start in range(0, len(matrix), step):
        block = matrix[start : start + step]
        out[start : start + step] = np.einsum("ij,ij->i", block, block)
    return out


def squared_distances(
    rows: np.ndarray, row_norms: np.ndarray, centres: np.ndarray, centre_norms: np.ndarray
) -> np.ndarray:
    """``(len(rows), len(centres))`` squared euclidean distances (float32, clipped at 0) by one
    GEMM: |x|² + |c|² - 2 x·c."""
    # one centre: a matrix-vector product (OpenBLAS's GEMM with one column is slower)
    block: np.ndarray = (rows @ centres[0])[:, None] if len(centres) == 1 else rows @ centres.T
    block *= -2.0
    block += row_norms[:, None]
    block += centre_norms[None, :]
    np.maximum(block, 0.0, out=block)
    return block


def chunk_rows(centres: int) -> int:
    """Rows per chunk so that a chunk's distances to ``centres`` centres stay in the budget."""
    return max(1, _CHUNK_ENTRIES // max(1, centres))


def _as_float32(matrix: np.ndarray) -> np.ndarray:
    return matrix if matrix.dtype == np.float32 else np.asarray(matrix, np.float32)


def _seed_centres(sample: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding on ``sample`` (one trial per centre): O(len(sample)·k·d)."""
    norms = squared_norms(sample)
    chosen = [int(rng.integers(len(sample)))]
    closest = squared_distances(sample, norms, sample[chosen], norms[chosen])[:, 0]
    for _ in range(1, k):
        total = float(closest.sum(dtype=np.float64))
        if total <= 0.0:  # every sample row sits on a centre: take unused rows in order
            unused = np.setdiff1d(np.arange(len(sample)), chosen)
            chosen.extend(unused[: k - len(chosen)].tolist())
            break
        pick = int(np.searchsorted(np.cumsum(closest, dtype=np.float64), rng.random() * total))
        pick = min(pick, len(sample) - 1)
        chosen.append(pick)
        new = squared_distances(sample, norms, sample[pick : pick + 1], norms[pick : pick + 1])
        np.minimum(closest, new[:, 0], out=closest)
    return np.array(sample[chosen], dtype=np.float32)


def kmeans(
    matrix: np.ndarray, k: int, *, seed: int = 0, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, assignment)``: ``k`` centres (float32, ``(k, d)``) and each row's nearest
    centre (int32, ``(n,)``); ``k`` is cut to ``n``. Deterministic for a seed.

    Mini-batch k-means (Sculley 2010): k-means++ seeding on a sample of max(3,072, 3·k) rows,
    then ``iterations`` mini-batches of max(1,024, 4·k) rows, each moving a centre towards its
    rows with a per-centre rate 1/count; then one chunked pass assigns every row. Cost: about
    one matrix-by-centres product over all rows. A centre that wins no row stays where it was
    seeded (on a data row), so some clusters can be empty in the assignment."""
    matrix = _as_float32(matrix)
    n = len(matrix)
    k = max(0, min(int(k), n))
    if k == 0:
        return np.empty((0, matrix.shape[1]), np.float32), np.zeros(n, np.int32)
    rng = np.random.default_rng(seed)
    sample_size = min(n, max(_SEED_SAMPLE, 3 * k))
    sample_rows = np.sort(rng.choice(n, sample_size, replace=False)) if sample_size < n else None
    sample = matrix if sample_rows is None else matrix[sample_rows]
    # small products: on a busy machine OpenBLAS threads wait for each other (5x slower)
    with one_blas_thread():
        centres = _seed_centres(sample, k, rng)
        counts = np.zeros(k, np.float64)
        batch = min(n, max(_BATCH, 4 * k))
        for _ in range(iterations):
            rows = matrix[np.sort(rng.choice(n, batch, replace=False))] if batch < n else matrix
            owner, _ = nearest(rows, centres)
            order = np.argsort(owner, kind="stable")
            hit, starts, per = np.unique(owner[order], return_index=True, return_counts=True)
            sums = np.add.reduceat(rows[order], starts, axis=0)
            counts[hit] += per
            # centre <- centre + (per / count) * (mean of its rows - centre): the running mean
            rate = (per / counts[hit])[:, None]
            means = sums / per[:, None]
            centres[hit] = (centres[hit] + rate * (means - centres[hit])).astype(np.float32)
    if n * k * matrix.shape[1] < _SMALL:
        with one_blas_thread():
            assignment, _ = nearest(matrix, centres)
    else:
        assignment, _ = nearest(matrix, centres)
    return centres, assignment


def nearest(matrix: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centre (int32) and squared euclidean distance to it (float32),
    computed in chunks (ties: the lower centre)."""
    matrix = _as_float32(matrix)
    centres = _as_float32(centres)
    n = len(matrix)
    owner = np.zeros(n, np.int32)
    distance = np.full(n, np.inf, np.float32)
    if len(centres) == 0 or n == 0:
        return owner, distance
    centre_norms = squared_norms(centres)
    step = chunk_rows(len(centres))
    for start in range(0, n, step):
        block = matrix[start : start + step]
        d2 = squared_distances(block, squared_norms(block), centres, centre_norms)
        best = np.argmin(d2, axis=1)
        owner[start : start + step] = best
        distance[start : start + step] = d2[np.arange(len(block)), best]
    return owner, distance
