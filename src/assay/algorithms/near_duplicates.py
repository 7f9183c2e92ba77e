"""Near-duplicate groups: exact (normalized text), lexical (MinHash with LSH banding) and
semantic (pairs above a similarity threshold). Groups are returned as one id per row
(-1: in no group), numbered from 0 in order of each group's first row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalize(text: str) -> str:
    """Case-folded, punctuation dropped, whitespace collapsed."""
    raise NotImplementedError


def exact_groups(texts: Sequence[str]) -> np.ndarray:
    """Rows whose normalized texts are equal share a group."""
    raise NotImplementedError


def minhash(texts: Sequence[str], *, permutations: int = 128, shingle: int = 5) -> np.ndarray:
    """``(n, permutations)`` uint32 MinHash signatures of each text's character
    ``shingle``-grams (of its normalized form). A text's signature does not depend on the
    others (chunks can be hashed apart)."""
    raise NotImplementedError


def lsh_pairs(
    signatures: np.ndarray, *, threshold: float = 0.8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs from LSH banding (bands chosen for ``threshold``), kept where the
    signatures' estimated Jaccard similarity is at least ``threshold``: ``(i, j, similarity)``."""
    raise NotImplementedError


def groups_from_pairs(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the pairs, as group ids (-1: in no pair)."""
    raise NotImplementedError
